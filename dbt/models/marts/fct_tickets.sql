with tickets as (
    select * from {{ ref('stg_landing__tickets') }}
),

lifecycle as (
    select * from {{ ref('int_tickets_lifecycle') }}
),

business as (
    select * from {{ ref('int_tickets_business_minutes') }}
)

select
    tickets.ticket_id,
    tickets.created_at,
    tickets.created_at::date as created_date,
    tickets.channel,
    tickets.customer_tier,
    tickets.category,
    tickets.priority,
    tickets.queue,
    tickets.status,
    tickets.assignee_key,
    left(tickets.body, 60) as body_preview,  -- for listings (`supportflow status`)
    lifecycle.first_reply_at,
    date_diff('second', tickets.created_at, lifecycle.first_reply_at) / 60.0
        as first_reply_minutes,
    case
        when lifecycle.first_reply_at is not null
            then coalesce(business.first_reply_business_minutes, 0)
    end
        as first_reply_business_minutes,
    lifecycle.first_resolved_at,
    case when tickets.is_settled then lifecycle.last_resolved_at end
        as resolved_at,
    date_diff('second', tickets.created_at, lifecycle.first_resolved_at) / 3600.0
        as first_resolution_hours,
    case
        when tickets.is_settled
            then date_diff('second', tickets.created_at, lifecycle.last_resolved_at) / 3600.0
    end
        as full_resolution_hours,
    case
        when tickets.is_settled and lifecycle.last_resolved_at is not null
            then coalesce(business.resolution_business_minutes, 0) / 60.0
    end
        as full_resolution_business_hours,
    lifecycle.reopen_count,
    lifecycle.agent_public_replies,
    lifecycle.customer_followups,
    tickets.is_settled and lifecycle.agent_public_replies = 1
        as is_one_touch,
    tickets.is_settled and lifecycle.agent_public_replies > 0
    and lifecycle.customer_followups = 0 and lifecycle.reopen_count = 0
        as is_first_contact_resolution,
    lifecycle.escalated_at is not null as is_escalated,
    lifecycle.self_service_at is not null as self_service_attempted,
    lifecycle.self_service_claimed_resolved,
    lifecycle.self_service_claimed_resolved
    and lifecycle.agent_public_replies = 0
    and not lifecycle.returned_within_24h as self_service_resolved,
    tickets.csat_score,
    tickets.csat_raw,
    -- CSAT good/bad as normalised at ingest: Zendesk good/bad; numbers top-two-box on 1–5,
    -- top box on 1–3, >= 8 on 1–10; offered/unoffered/NULL are no rating
    tickets.is_csat_good
from tickets
inner join lifecycle on tickets.ticket_id = lifecycle.ticket_id
left join business on tickets.ticket_id = business.ticket_id
