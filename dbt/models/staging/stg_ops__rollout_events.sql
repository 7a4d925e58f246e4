with source as (
    select * from {{ source('ops', 'rollout_events') }}
),

renamed as (
    select
        event_id,
        model_name,
        version as model_version,
        from_phase,
        to_phase,
        action as rollout_action,
        gates,
        passed,
        forced,
        reason,
        actor,
        previous_version,
        decided_at
    from source
)

select * from renamed
