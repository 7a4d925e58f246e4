-- Every batch accounts for every record it read.
select
    batch_id,
    records_in,
    records_loaded,
    records_updated,
    records_unchanged,
    records_quarantined
from {{ ref('stg_landing__ingest_batches') }}
where records_in != records_loaded + records_updated + records_unchanged + records_quarantined
