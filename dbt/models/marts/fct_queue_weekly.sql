-- The headline metrics per queue and week of ticket creation (tickets without a queue are
-- '(no queue)'), for the scorecard's per-queue breakdown.
with tickets as (
    select * from {{ ref('fct_tickets') }}
)

select
    coalesce(queue, '(no queue)') || '|' || date_trunc('week', created_date)::date
        as queue_week_key,
    coalesce(queue, '(no queue)') as queue,
    date_trunc('week', created_date)::date as week_start,
    count(*) as tickets,
    median(first_reply_business_minutes) as median_first_reply_business_minutes,
    count(*) filter (where is_first_contact_resolution)
    / nullif(count(*) filter (where resolved_at is not null), 0) as fcr_rate,
    count(*) filter (where resolved_at is not null and reopen_count > 0)
    / nullif(count(*) filter (where resolved_at is not null), 0) as reopen_rate,
    count(*) filter (where is_csat_good) / nullif(count(is_csat_good), 0) as csat_good_rate,
    count(*) filter (where is_escalated) / count(*) as escalation_rate,
    count(*) filter (where self_service_resolved) / count(*) as self_service_resolution_rate
from tickets
group by coalesce(queue, '(no queue)'), date_trunc('week', created_date)
