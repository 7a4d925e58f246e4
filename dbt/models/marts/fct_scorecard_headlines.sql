-- One row per headline metric (dim_metric_targets): its latest weekly value (the newest week of
-- fct_support_weekly where the metric has a value), the target, whether the value meets it and
-- how to display it. The scorecard only renders these rows.
with weekly as (
    select * from {{ ref('fct_support_weekly') }}
),

targets as (
    select * from {{ ref('dim_metric_targets') }}
),

-- one row per week × metric with a value (UNPIVOT drops NULLs)
weekly_values as (
    unpivot (select * exclude (tickets) from weekly)
    on columns(* exclude (week_start))
    into name metric value metric_value
),

latest as (
    select
        metric,
        max(week_start) as latest_week_start,
        arg_max(metric_value, week_start) as latest_value
    from weekly_values
    group by metric
)

select
    targets.metric,
    targets.label,
    targets.direction,
    targets.target,
    latest.latest_week_start,
    latest.latest_value,
    coalesce(
        case
            when targets.direction = 'above' then latest.latest_value >= targets.target
            else latest.latest_value <= targets.target
        end,
        false
    ) as is_on_target,
    case
        when
            targets.metric like '%rate' or targets.metric like '%quality'
            or targets.metric in (
                'agreement', 'coverage', 'escalation_precision', 'escalation_recall'
            )
            then 'percent'
        when targets.metric like '%minutes' then 'minutes'
        when targets.metric like '%hours' then 'hours'
        else 'number'
    end as format  -- noqa: RF04
from targets
left join latest on targets.metric = latest.metric
