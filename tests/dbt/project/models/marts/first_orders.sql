-- Each customer's first order day, read straight from the source.
select
    customer_id,
    min({{ dbt.date_trunc('day', 'ordered_at') }}) as first_order_day,
    count(*) as orders,
    sum(amount_cents) as spent_cents
from {{ source('shop', 'orders') }}
where status <> 'test'
group by customer_id
