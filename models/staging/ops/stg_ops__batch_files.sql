-- This run's batch of raw files, one row per file (docs block run_manifest). Incremental
-- models find the keys a run touches from the rows these files brought.
with

pending_files as (
    select * from {{ source('ops', 'run_pending_files') }}
),

final as (
    select
        {{ composite_key(['table_name', 'file_path']) }} as batch_file_id,
        table_name,
        file_path,
        is_rebuild,
        load_date
    from pending_files
)

select * from final
