-- Voice of the customer: ticket themes (the agents' final category) week over week, and days
-- when a theme spiked far above its usual daily volume (incidents).
with tickets as (
    select * from {{ ref('fct_tickets') }}
    where category is not null
),

daily as (
    select
        category as theme,
        created_date,
        count(*) as tickets
    from tickets
    group by category, created_date
),

spikes as (
    select
        theme,
        created_date,
        tickets,
        median(tickets) over (
            partition by theme order by created_date
            rows between 28 preceding and 1 preceding
        ) as usual_daily
    from daily
),

weekly as (
    select
        theme,
        date_trunc('week', created_date)::date as week_start,
        sum(tickets) as tickets,
        count(*) filter (where tickets >= 10 and tickets >= 3 * usual_daily) as spike_days
    from spikes
    group by theme, date_trunc('week', created_date)
),

compared as (
    select
        theme,
        week_start,
        tickets,
        spike_days,
        lag(tickets) over (partition by theme order by week_start) as previous_week_tickets
    from weekly
)

select
    theme || '|' || week_start as theme_week_key,
    theme,
    week_start,
    tickets,
    previous_week_tickets,
    (tickets - previous_week_tickets) / nullif(previous_week_tickets, 0) as week_over_week_change,
    tickets >= 20 and tickets >= 1.5 * previous_week_tickets as is_rising,
    spike_days,
    rank() over (partition by week_start order by tickets desc) as rank_in_week
from compared
