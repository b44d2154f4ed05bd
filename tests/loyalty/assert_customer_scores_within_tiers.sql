-- Every RFM score of dim_customers lies in 1 .. var customer_score_tiers, and with at least
-- as many customers as tiers every tier is used (equal-count bands). Any row returned is a
-- failure, naming the score.
{%- set tiers = var('customer_score_tiers') | int %}

with

customers as (
    select * from {{ ref('dim_customers') }}
),

scores as (
    select
        'recency_score' as score_name,
        recency_score as score
    from customers
    union all
    select
        'frequency_score' as score_name,
        frequency_score as score
    from customers
    union all
    select
        'monetary_score' as score_name,
        monetary_score as score
    from customers
),

summary as (
    select
        score_name,
        min(score) as lowest,
        max(score) as highest,
        count(distinct score) as tiers_used,
        count(*) as customers
    from scores
    group by score_name
)

select *
from summary
where
    lowest < 1
    or highest > {{ tiers }}
    or (customers >= {{ tiers }} and tiers_used <> {{ tiers }})
