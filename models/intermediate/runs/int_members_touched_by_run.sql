-- The members whose profile, grade history or orders this run may have changed (docs block
-- incremental_runs): the members of every version, old or new, clean or quarantined, of
-- each member, grade-history row and order the run's batch of files brought. Empty when the
-- run rebuilds everything (a full refresh or a first build).
with

members as (
    select * from {{ ref('stg_shop__members') }}
),

quarantined_members as (
    select * from {{ ref('stg_shop__members_quarantine') }}
),

grade_history as (
    select * from {{ ref('stg_shop__member_grade_history') }}
),

quarantined_grade_history as (
    select * from {{ ref('stg_shop__member_grade_history_quarantine') }}
),

orders as (
    select * from {{ ref('stg_shop__orders') }}
),

quarantined_orders as (
    select * from {{ ref('stg_shop__orders_quarantine') }}
),

batch_files as (
    select * from {{ ref('stg_ops__batch_files') }}
),

batch_members as (
    select members.member_id
    from members
    inner join batch_files
        on members.source_file = batch_files.file_path
    union
    select quarantined_members.member_id
    from quarantined_members
    inner join batch_files
        on quarantined_members.source_file = batch_files.file_path
    union
    select grade_history.member_id
    from grade_history
    inner join batch_files
        on grade_history.source_file = batch_files.file_path
    union
    select quarantined_grade_history.member_id
    from quarantined_grade_history
    inner join batch_files
        on quarantined_grade_history.source_file = batch_files.file_path
),

batch_order_ids as (
    select orders.order_id
    from orders
    inner join batch_files
        on orders.source_file = batch_files.file_path
    union
    select quarantined_orders.order_id
    from quarantined_orders
    inner join batch_files
        on quarantined_orders.source_file = batch_files.file_path
),

order_members as (
    select orders.member_id
    from orders
    inner join batch_order_ids
        on orders.order_id = batch_order_ids.order_id
    union
    select quarantined_orders.member_id
    from quarantined_orders
    inner join batch_order_ids
        on quarantined_orders.order_id = batch_order_ids.order_id
),

touched as (
    select member_id from batch_members
    union
    select member_id from order_members
),

final as (
    select member_id
    from touched
    where
        member_id is not null
        {%- if run_is_rebuild() %}
        and false
        {%- endif %}
)

select * from final
