with tickets as (
    select * from {{ ref('fct_tickets') }}
),

decisions as (
    select * from {{ ref('stg_ml__routing_decisions') }}
),

labels as (
    select * from {{ ref('int_ticket_labels_unpivoted') }}
),

per_day as (
    select
        created_date as activity_date,
        count(*) as tickets_created,
        median(first_reply_minutes) as median_first_reply_minutes,
        quantile_cont(first_reply_minutes, 0.9) as p90_first_reply_minutes,
        median(first_reply_business_minutes) as median_first_reply_business_minutes,
        quantile_cont(first_reply_business_minutes, 0.9) as p90_first_reply_business_minutes,
        median(full_resolution_hours) as median_resolution_hours,
        quantile_cont(full_resolution_hours, 0.9) as p90_resolution_hours,
        count(*) filter (where resolved_at is not null) as tickets_resolved,
        count(*) filter (where is_first_contact_resolution) as first_contact_resolutions,
        count(*) filter (where resolved_at is not null and reopen_count > 0) as reopened,
        count(is_csat_good) as csat_rated,
        count(*) filter (where is_csat_good) as csat_good,
        count(*) filter (where self_service_attempted) as self_service_attempts,
        count(*) filter (where self_service_claimed_resolved) as deflections_claimed,
        count(*) filter (where self_service_resolved) as deflections_resolved,
        count(*) filter (where is_escalated) as escalated,
        count(*) filter (
            where self_service_claimed_resolved
            and (not self_service_resolved or reopen_count > 0 or not is_csat_good)
        ) as ai_incidents
    from tickets
    group by created_date
),

resolved_per_day as (
    select
        resolved_at::date as activity_date,
        count(*) as resolved
    from tickets
    where resolved_at is not null
    group by resolved_at::date
),

backlog as (
    select
        per_day.activity_date,
        sum(per_day.tickets_created) over (order by per_day.activity_date)
        - coalesce(sum(resolved_per_day.resolved) over (order by per_day.activity_date), 0)
            as backlog_end_of_day
    from per_day
    left join resolved_per_day on per_day.activity_date = resolved_per_day.activity_date
),

review as (
    select
        tickets.created_date as activity_date,
        count(*) as ai_outputs_acted,
        count(*) filter (
            where decisions.routing_action = 'needs_human'
            or (labels.final_label is not null and decisions.routed_label <> labels.final_label)
        ) as ai_outputs_handled_by_humans
    from decisions
    inner join tickets on decisions.ticket_id = tickets.ticket_id
    left join labels
        on
            decisions.ticket_id = labels.ticket_id
            and decisions.label_field = labels.label_field
    where decisions.routing_action <> 'logged'
    group by tickets.created_date
)

select
    per_day.activity_date,
    per_day.tickets_created,
    backlog.backlog_end_of_day,
    per_day.median_first_reply_minutes,
    per_day.p90_first_reply_minutes,
    per_day.median_first_reply_business_minutes,
    per_day.p90_first_reply_business_minutes,
    per_day.median_resolution_hours,
    per_day.p90_resolution_hours,
    per_day.tickets_resolved,
    per_day.first_contact_resolutions / nullif(per_day.tickets_resolved, 0) as fcr_rate,
    per_day.reopened / nullif(per_day.tickets_resolved, 0) as reopen_rate,
    per_day.csat_rated,
    per_day.csat_good / nullif(per_day.csat_rated, 0) as csat_good_rate,
    per_day.deflections_resolved / nullif(per_day.tickets_created, 0) as deflection_rate,
    per_day.deflections_resolved / nullif(per_day.deflections_claimed, 0) as deflection_quality,
    per_day.escalated / nullif(per_day.tickets_created, 0) as escalation_rate,
    per_day.ai_incidents,
    review.ai_outputs_acted,
    review.ai_outputs_handled_by_humans / nullif(review.ai_outputs_acted, 0)
        as human_review_burden
from per_day
inner join backlog on per_day.activity_date = backlog.activity_date
left join review on per_day.activity_date = review.activity_date
