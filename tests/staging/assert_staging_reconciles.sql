-- Nothing is lost in staging: for every raw table, raw rows = staged + quarantined
-- (re-delivered duplicates are quarantined with rule `duplicate`). One row per table
-- that does not reconcile.
{%- set tables = [
    ('events', 'stg_shop__events'),
    ('members', 'stg_shop__members'),
    ('member_grade_history', 'stg_shop__member_grade_history'),
    ('orders', 'stg_shop__orders'),
    ('order_items', 'stg_shop__order_items'),
    ('products', 'stg_shop__products'),
] %}

with

counts as (
    {%- for table, staged in tables %}
    select
        '{{ table }}' as raw_table,
        (select count(*) from {{ source('shop', table) }}) as raw_rows,
        (select count(*) from {{ ref(staged) }}) as staged_rows,
        (select count(*) from {{ ref(staged ~ '_quarantine') }}) as quarantined_rows
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

mismatches as (
    select
        *,
        raw_rows - staged_rows - quarantined_rows as unaccounted_rows
    from counts
    where raw_rows <> staged_rows + quarantined_rows
)

select * from mismatches
