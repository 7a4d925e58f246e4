with source as (
    select * from {{ source('ml', 'routing_decisions') }}
),

renamed as (
    select
        ticket_id,
        model_name,
        model_version,
        phase,
        field as label_field,
        action as routing_action,
        label as routed_label,
        confidence,
        decided_by,
        decided_at,
        flow_run_id
    from source
)

select * from renamed
