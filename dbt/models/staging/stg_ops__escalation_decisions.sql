with source as (
    select * from {{ source('ops', 'escalation_decisions') }}
),

renamed as (
    select
        ticket_id || '|' || rules_version as decision_key,
        ticket_id,
        rules_version,
        escalate as is_escalated,
        triggers as fired_rules,
        queue as escalation_queue,
        priority as raised_priority,
        ticket_created_at,
        evaluated_at
    from source
)

select * from renamed
