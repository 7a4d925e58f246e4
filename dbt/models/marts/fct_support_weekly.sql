-- The headline metrics per week of ticket creation, weighted by the days' denominators (the
-- scorecard reads this; medians of days are averaged, as weekly medians would need the tickets).
with daily as (
    select * from {{ ref('fct_support_daily') }}
)

select
    date_trunc('week', activity_date)::date as week_start,
    sum(tickets_created) as tickets,
    avg(median_first_reply_business_minutes) as median_first_reply_business_minutes,
    sum(fcr_rate * tickets_resolved) / nullif(sum(tickets_resolved), 0) as fcr_rate,
    sum(csat_good_rate * csat_rated) / nullif(sum(csat_rated), 0) as csat_good_rate,
    sum(reopen_rate * tickets_resolved) / nullif(sum(tickets_resolved), 0) as reopen_rate,
    avg(deflection_quality) as deflection_quality,
    sum(escalation_rate * tickets_created) / sum(tickets_created) as escalation_rate
from daily
group by date_trunc('week', activity_date)
