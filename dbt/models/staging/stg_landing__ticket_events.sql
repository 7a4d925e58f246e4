-- Events of tickets that are loaded and not deleted (an events export may run ahead of the
-- tickets it belongs to; those wait in landing until their ticket arrives).
with live_tickets as (
    select tickets.ticket_id
    from {{ source('landing', 'tickets') }} as tickets
    where not coalesce(tickets.is_deleted, false)
),

source as (
    select events.*
    from {{ source('landing', 'ticket_events') }} as events
    semi join live_tickets on events.ticket_id = live_tickets.ticket_id
),

renamed as (
    select
        event_id,
        ticket_id,
        created_at,
        author_role,
        kind as event_kind,
        public as is_public,
        body,
        detail,
        batch_id
    from source
)

select * from renamed
