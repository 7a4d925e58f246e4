with source as (
    select * from {{ source('landing', 'ticket_events') }}
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
