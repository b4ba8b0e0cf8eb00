-- Singular test straight on the source: no order costs less than nothing.
select id, amount_cents
from {{ source('shop', 'orders') }}
where amount_cents < 0
