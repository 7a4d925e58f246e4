with source as (
    select * from {{ source('landing', 'ingest_batches') }}
),

renamed as (
    select
        batch_id,
        source as source_system,
        format as file_format,
        file as file_path,
        file_sha256,
        records_in,
        records_loaded,
        records_updated,
        records_unchanged,
        records_quarantined,
        events_loaded,
        started_at,
        finished_at
    from source
)

select * from renamed
