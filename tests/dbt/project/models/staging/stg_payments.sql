select
    p.id as payment_id,
    p.order_id,
    p.method,
    p.amount_cents / 100.0 as amount
from {{ source('shop', 'payments') }} as p
