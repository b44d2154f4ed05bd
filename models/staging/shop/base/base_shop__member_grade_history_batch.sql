-- The raw `member_grade_history` rows of this run's batch of files (every file on a full
-- refresh, the new ones otherwise; docs block run_manifest), with exactly the columns of
-- the raw-data contract, the file each row came from and its load date. A view, rebuilt by
-- every run.
{{ config(materialized='view') }}

{{ raw_batch('member_grade_history') }}
