{{ config(materialized='view') }}

select
    id as order_id,
    customer_id,
    ordered_at,
    {{ cents_to_dollars('amount_cents') }} as amount,
    status
from {{ source('shop', 'orders') }}
where status != 'test'
