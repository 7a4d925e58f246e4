-- Per ticket, the moments that support metrics are built from (one pass over the event log).
with events as (
    select * from {{ ref('stg_landing__ticket_events') }}
),

tickets as (
    select
        ticket_id,
        created_at,
        -- an export without status events (no audits) still says a ticket is solved: its last
        -- update is then the best-known resolution time
        case when is_settled then updated_at end as solved_updated_at
    from {{ ref('stg_landing__tickets') }}
),

per_ticket as (
    select
        ticket_id,
        min(created_at) filter (
            where event_kind = 'comment' and author_role = 'agent' and is_public
        ) as first_reply_at,
        count(*) filter (
            where event_kind = 'comment' and author_role = 'agent' and is_public
        ) as agent_public_replies,
        min(created_at) filter (
            where event_kind = 'status' and {{ is_settled_status("detail ->> 'value'") }}
        ) as first_resolved_at,
        max(created_at) filter (
            where event_kind = 'status' and {{ is_settled_status("detail ->> 'value'") }}
        ) as last_resolved_at,
        count(*) filter (where event_kind = 'reopen') as reopen_count,
        min(created_at) filter (where event_kind = 'escalate') as escalated_at,
        min(created_at) filter (where event_kind = 'self_service') as self_service_at,
        bool_or(event_kind = 'self_service' and detail ->> 'outcome' = 'resolved')
            as self_service_claimed_resolved
    from events
    group by ticket_id
),

followups as (
    -- customer messages after the first public agent reply: the customer had to come back
    select
        per_ticket.ticket_id,
        count(*) as customer_followups
    from per_ticket
    inner join events on per_ticket.ticket_id = events.ticket_id
    where
        events.event_kind = 'comment' and events.author_role = 'customer'
        and events.created_at > per_ticket.first_reply_at
    group by per_ticket.ticket_id
),

returned as (
    -- a customer message or a reopen within 24 h after the self-service answer
    select per_ticket.ticket_id
    from per_ticket
    inner join events on per_ticket.ticket_id = events.ticket_id
    where
        per_ticket.self_service_at is not null
        and events.created_at > per_ticket.self_service_at
        and events.created_at <= per_ticket.self_service_at + interval 24 hour
        and (
            (events.event_kind = 'comment' and events.author_role = 'customer')
            or events.event_kind = 'reopen'
        )
    group by per_ticket.ticket_id
)

select
    tickets.ticket_id,
    tickets.created_at,
    per_ticket.first_reply_at,
    coalesce(per_ticket.agent_public_replies, 0) as agent_public_replies,
    coalesce(per_ticket.first_resolved_at, tickets.solved_updated_at) as first_resolved_at,
    coalesce(per_ticket.last_resolved_at, tickets.solved_updated_at) as last_resolved_at,
    coalesce(per_ticket.reopen_count, 0) as reopen_count,
    coalesce(followups.customer_followups, 0) as customer_followups,
    per_ticket.escalated_at,
    per_ticket.self_service_at,
    coalesce(per_ticket.self_service_claimed_resolved, false) as self_service_claimed_resolved,
    returned.ticket_id is not null as returned_within_24h
from tickets
left join per_ticket on tickets.ticket_id = per_ticket.ticket_id
left join followups on tickets.ticket_id = followups.ticket_id
left join returned on tickets.ticket_id = returned.ticket_id
