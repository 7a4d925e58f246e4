with tickets as (
    select * from {{ ref('fct_tickets') }}
    where assignee_key is not null
)

select
    assignee_key || '|' || date_trunc('week', created_date)::date as agent_week_key,
    assignee_key,
    date_trunc('week', created_date)::date as week_start,
    count(*) as tickets_assigned,
    count(*) filter (where resolved_at is not null) as tickets_resolved,
    sum(agent_public_replies) as public_replies,
    median(first_reply_business_minutes) as median_first_reply_business_minutes,
    median(full_resolution_hours) as median_resolution_hours,
    count(*) filter (where is_first_contact_resolution)
    / nullif(count(*) filter (where resolved_at is not null), 0) as fcr_rate,
    count(*) filter (where resolved_at is not null and reopen_count > 0)
    / nullif(count(*) filter (where resolved_at is not null), 0) as reopen_rate,
    count(*) filter (where is_csat_good) / nullif(count(is_csat_good), 0) as csat_good_rate
from tickets
group by assignee_key, date_trunc('week', created_date)
