with source as (
    select * from {{ source('landing', 'tickets') }}
),

renamed as (
    select
        ticket_id,
        source as source_system,
        external_id,
        created_at,
        updated_at,
        channel,
        customer_key,
        customer_tier,
        language,
        subject,
        body,
        status,
        priority,
        category,
        queue,
        sentiment,
        tags,
        assignee_key,
        csat as csat_score,
        content_hash,
        batch_id
    from source
)

select * from renamed
