with orders as (
    select * from {{ ref('stg_orders') }}
),

payments as (
    select order_id, sum(amount) as paid
    from {{ ref('stg_payments') }}
    group by order_id
)

select
    c.customer_id,
    c.name,
    n.country,
    count(o.order_id) as orders,
    coalesce(sum(o.amount), 0) as revenue,
    coalesce(sum(p.paid), 0) as paid
from {{ ref('stg_customers') }} as c
left join orders as o on o.customer_id = c.customer_id
left join payments as p on p.order_id = o.order_id
left join {{ ref('country_names') }} as n on n.code = c.country_code
group by c.customer_id, c.name, n.country
