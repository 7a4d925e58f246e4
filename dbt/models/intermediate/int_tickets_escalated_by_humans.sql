-- When a person (agent or system workflow) first escalated each ticket, from the event log.
with events as (
    select * from {{ ref('stg_landing__ticket_events') }}
)

select
    ticket_id,
    min(created_at) as first_escalated_at
from events
where event_kind = 'escalate' and author_role in ('agent', 'system')
group by ticket_id
