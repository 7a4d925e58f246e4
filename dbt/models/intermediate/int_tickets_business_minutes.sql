-- Business minutes from ticket creation to first reply and to final resolution, on the
-- business_hours seed: opening hours per ISO weekday as LOCAL wall-clock times in the seed's
-- IANA time zone (so a team's hours follow daylight saving). Each local calendar day of the
-- span contributes its overlap with that day's opening hours, the local opening and closing
-- times converted to UTC instants for that very date.
-- Every conversion names its zone (DuckDB's built-in ICU `timezone(zone, ...)`), so the result
-- does not depend on the session time zone of the machine that runs dbt.
with lifecycle as (
    select * from {{ ref('int_tickets_lifecycle') }}
),

hours as (
    select * from {{ ref('business_hours') }}
),

zones as (
    select distinct timezone from hours
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

-- local days: timezone(zone, timestamptz) is the wall-clock timestamp in that zone
days as (
    select
        spans.ticket_id,
        spans.span,
        spans.start_at,
        spans.end_at,
        zones.timezone,
        unnest(generate_series(
            timezone(zones.timezone, spans.start_at)::date,
            timezone(zones.timezone, spans.end_at)::date,
            interval 1 day
        ))::date as local_day
    from spans
    cross join zones
),

-- timezone(zone, timestamp) reads a wall-clock timestamp in that zone: the UTC instant of
-- opening and closing on that local date, with that date's offset (DST included)
opening_hours as (
    select
        days.ticket_id,
        days.span,
        days.start_at,
        days.end_at,
        timezone(days.timezone, days.local_day + hours.opens_at) as opens_at_utc,
        timezone(days.timezone, days.local_day + hours.closes_at) as closes_at_utc
    from days
    inner join hours
        on
            isodow(days.local_day) = hours.iso_weekday
            and days.timezone = hours.timezone
),

day_overlaps as (
    select
        ticket_id,
        span,
        greatest(
            0,
            date_diff(
                'second',
                greatest(start_at, opens_at_utc),
                least(end_at, closes_at_utc)
            )
        ) as seconds
    from opening_hours
)

select
    ticket_id,
    sum(seconds) filter (where span = 'first_reply') / 60.0 as first_reply_business_minutes,
    sum(seconds) filter (where span = 'resolution') / 60.0 as resolution_business_minutes
from day_overlaps
group by ticket_id
