with samples as (
    select * from {{ source('ops', 'qa_samples') }}
),

verdicts as (
    select * from {{ source('ops', 'qa_verdicts') }}
),

joined as (
    select
        samples.sample_id,
        samples.sample_day,
        samples.kind as output_kind,
        samples.stratum,
        samples.ticket_id,
        samples.ai_pass as is_ai_pass,
        verdicts.verdict,
        verdicts.reviewer,
        verdicts.audited_at,
        verdicts.verdict is not null as is_audited
    from samples
    left join verdicts on samples.sample_id = verdicts.sample_id
)

select * from joined
