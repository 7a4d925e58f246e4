-- Business minutes from ticket creation to first reply and to final resolution, on the
-- business_hours seed (UTC opening hours per ISO weekday): each calendar day of the span
-- contributes its overlap with that day's opening hours.
with lifecycle as (
    select * from {{ ref('int_tickets_lifecycle') }}
),

hours as (
    select * from {{ ref('business_hours') }}
),

spans as (
    select
        ticket_id,
        'first_reply' as span,
        created_at as start_at,
        first_reply_at as end_at
    from lifecycle
    where first_reply_at is not null
    union all
    select
        ticket_id,
        'resolution' as span,
        created_at as start_at,
        last_resolved_at as end_at
    from lifecycle
    where last_resolved_at is not null
),

days as (
    select
        ticket_id,
        span,
        start_at,
        end_at,
        unnest(generate_series(start_at::date, end_at::date, interval 1 day))::date as calendar_day
    from spans
),

day_overlaps as (
    select
        days.ticket_id,
        days.span,
        greatest(
            0,
            date_diff(
                'second',
                greatest(days.start_at, (days.calendar_day + hours.opens_at)::timestamptz),
                least(days.end_at, (days.calendar_day + hours.closes_at)::timestamptz)
            )
        ) as seconds
    from days
    inner join hours on isodow(days.calendar_day) = hours.iso_weekday
)

select
    ticket_id,
    sum(seconds) filter (where span = 'first_reply') / 60.0 as first_reply_business_minutes,
    sum(seconds) filter (where span = 'resolution') / 60.0 as resolution_business_minutes
from day_overlaps
group by ticket_id
