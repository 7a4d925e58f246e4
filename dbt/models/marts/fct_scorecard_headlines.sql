-- One row per headline metric (dim_metric_targets): its latest weekly value (the newest week of
-- fct_support_weekly where the metric has a value), the value of the calendar week before that
-- and the change, the target, whether the value meets it and whether the change is an
-- improvement (NULL when unchanged or nothing to compare), and how to display it. The
-- scorecard only renders these rows.
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
),

with_previous as (
    select
        latest.*,
        previous.week_start as previous_week_start,
        previous.metric_value as previous_value
    from latest
    left join weekly_values as previous
        on
            latest.metric = previous.metric
            and previous.week_start = latest.latest_week_start - interval 7 day
)

select
    targets.metric,
    targets.label,
    targets.direction,
    targets.target,
    with_previous.latest_week_start,
    with_previous.latest_value,
    with_previous.previous_week_start,
    with_previous.previous_value,
    with_previous.latest_value - with_previous.previous_value as change_vs_previous_week,
    case
        when with_previous.latest_value = with_previous.previous_value then null
        when targets.direction = 'above'
            then with_previous.latest_value > with_previous.previous_value
        else with_previous.latest_value < with_previous.previous_value
    end as is_improving,
    coalesce(
        case
            when targets.direction = 'above' then with_previous.latest_value >= targets.target
            else with_previous.latest_value <= targets.target
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
    end as format,  -- noqa: RF04
    'fct_support_weekly' as source_mart  -- where the weekly values come from
from targets
left join with_previous on targets.metric = with_previous.metric
