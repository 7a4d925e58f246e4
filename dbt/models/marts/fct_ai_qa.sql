with samples as (
    select * from {{ ref('stg_ops__qa_samples') }}
),

weekly as (
    select
        date_trunc('week', sample_day) as week_start,
        output_kind,
        stratum,
        count(*) as samples,
        count(*) filter (where is_audited) as audited,
        avg(case when is_ai_pass then 1.0 else 0.0 end) as ai_pass_rate,
        avg(case when verdict = 'pass' then 1.0 else 0.0 end)
        filter (where is_audited) as human_pass_rate,
        avg(case when is_ai_pass = (verdict = 'pass') then 1.0 else 0.0 end)
        filter (where is_audited) as agreement_rate
    from samples
    group by all
)

select * from weekly
