with source as (
    select * from {{ source('ml', 'predictions') }}
),

renamed as (
    select
        ticket_id,
        model_name,
        model_version,
        phase,
        field as label_field,
        label as predicted_label,
        confidence,
        top3,
        abstained,
        scored_at,
        flow_run_id
    from source
)

select * from renamed
