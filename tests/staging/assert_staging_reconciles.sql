-- Nothing is lost or invented in staging: for every raw table, the raw rows of every file,
-- read and typed as the base models read them, equal the rows of the base table, by count
-- and by content (a sum of row hashes: a row moved, changed or counted twice changes it);
-- and every base row is in exactly one of the staged and quarantine views. One row per
-- table that does not reconcile.
with

counts as (
    {%- for table in raw_tables() %}
    select
        '{{ table }}' as raw_table,
        raw_rows.row_count as raw_rows,
        raw_rows.fingerprint as raw_fingerprint,
        base_rows.row_count as base_rows,
        base_rows.fingerprint as base_fingerprint,
        (select count(*) from {{ ref('stg_shop__' ~ table) }}) as staged_rows,
        (select count(*) from {{ ref('stg_shop__' ~ table ~ '_quarantine') }}) as quarantined_rows
    from (
        select
            count(*) as row_count,
            coalesce(sum({{ contract_row_hash(table) }}), 0) as fingerprint
        from (
            select {{ contract_typed_columns(table) }}
            from ({{ raw_batch(table, all_files=true) }}) as raw_batch
        ) as typed
    ) as raw_rows
    cross join (
        select
            count(*) as row_count,
            coalesce(sum({{ contract_row_hash(table) }}), 0) as fingerprint
        from {{ ref('base_shop__' ~ table) }}
    ) as base_rows
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

mismatches as (
    select *
    from counts
    where
        raw_rows <> base_rows
        or raw_fingerprint <> base_fingerprint
        or base_rows <> staged_rows + quarantined_rows
)

select * from mismatches
