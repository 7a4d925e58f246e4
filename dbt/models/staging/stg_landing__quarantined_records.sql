with source as (
    select * from {{ source('landing', 'quarantine') }}
),

renamed as (
    select
        batch_id,
        file as file_path,
        record_no,
        record as record_text,
        reason
    from source
)

select * from renamed
