with source as (
    select * from {{ source('ops', 'scoring_runs') }}
),

renamed as (
    select
        flow_run_id,
        model_name,
        model_version,
        phase,
        field as label_field,
        tickets as tickets_scored,
        mean_confidence,
        psi_label,
        psi_confidence,
        drifted,
        started_at,
        finished_at
    from source
)

select * from renamed
