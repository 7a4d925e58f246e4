-- Events of tickets that are loaded and not deleted (an events export may run ahead of the
-- tickets it belongs to; those wait in landing until their ticket arrives).
with source as (
    select * from {{ source('landing', 'ticket_events') }}
    where ticket_id in (
        select ticket_id from {{ source('landing', 'tickets') }}
        where not coalesce(is_deleted, false)
    )
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
