-- What the AI changed, per week of ticket creation: tickets the help center resolved that did
-- not come back, tickets auto-routed and how often the routed label was the final one, reply
-- drafts an agent then sent with few edits, and the agent minutes those save under the
-- ai_impact_assumptions seed (assumptions a team sets, not measurements).
with tickets as (
    select * from {{ ref('fct_tickets') }}
),

decisions as (
    select * from {{ ref('stg_ml__routing_decisions') }}
    where routing_action = 'auto_apply'
),

labels as (
    select * from {{ ref('int_ticket_labels_unpivoted') }}
),

drafts as (
    select * from {{ ref('stg_ml__assist_outputs') }}
),

events as (
    select * from {{ ref('stg_landing__ticket_events') }}
),

assumptions as (
    select
        max(minutes) filter (where assumption = 'minutes_per_self_service_resolution')
            as per_self_service_resolution,
        max(minutes) filter (where assumption = 'minutes_per_auto_routed_ticket')
            as per_auto_routed_ticket,
        max(minutes) filter (where assumption = 'minutes_per_draft_sent_with_few_edits')
            as per_draft_sent_with_few_edits
    from {{ ref('ai_impact_assumptions') }}
),

-- one row per auto-applied field decision; correct is NULL until the ticket settles
auto_routed as (
    select
        decisions.ticket_id,
        labels.final_label is not null as is_settled,
        decisions.routed_label = labels.final_label as is_correct
    from decisions
    left join labels
        on
            decisions.ticket_id = labels.ticket_id
            and decisions.label_field = labels.label_field
),

auto_routed_tickets as (
    select
        ticket_id,
        count(*) filter (where is_settled) as settled_decisions,
        count(*) filter (where is_correct) as correct_decisions
    from auto_routed
    group by ticket_id
),

-- the first public agent reply after the draft: what the agent sent instead of (or from) it
first_reply_after_draft as (
    select
        drafts.ticket_id,
        drafts.draft,
        arg_min(events.body, events.created_at) as reply
    from drafts
    inner join events
        on
            drafts.ticket_id = events.ticket_id
            and drafts.drafted_at < events.created_at
            and events.author_role = 'agent'
            and events.is_public
            and events.event_kind = 'comment'
    group by drafts.ticket_id, drafts.draft
),

-- edit similarity = 1 - Levenshtein distance / longer length, over the first 2,000 characters
drafts_sent as (
    select
        ticket_id,
        1.0 - levenshtein(left(draft, 2000), left(reply, 2000))
        / greatest(length(left(draft, 2000)), length(left(reply, 2000)), 1)
            as edit_similarity
    from first_reply_after_draft
),

weekly as (
    select
        date_trunc('week', tickets.created_date)::date as week_start,
        count(*) as tickets,
        count(*) filter (where tickets.self_service_resolved) as self_service_resolutions,
        count(auto_routed_tickets.ticket_id) as auto_routed_tickets,
        sum(auto_routed_tickets.settled_decisions) as auto_routed_settled_decisions,
        sum(auto_routed_tickets.correct_decisions) as auto_routed_correct_decisions,
        count(drafts_sent.ticket_id) as drafts_followed_by_reply,
        count(*) filter (where drafts_sent.edit_similarity >= 0.8) as drafts_sent_with_few_edits
    from tickets
    left join auto_routed_tickets on tickets.ticket_id = auto_routed_tickets.ticket_id
    left join drafts_sent on tickets.ticket_id = drafts_sent.ticket_id
    group by date_trunc('week', tickets.created_date)
)

select
    weekly.week_start,
    weekly.tickets,
    weekly.self_service_resolutions,
    weekly.self_service_resolutions / weekly.tickets as self_service_resolution_rate,
    weekly.auto_routed_tickets,
    weekly.auto_routed_tickets / weekly.tickets as auto_routed_share,
    weekly.auto_routed_correct_decisions / nullif(weekly.auto_routed_settled_decisions, 0)
        as auto_route_accuracy,
    weekly.drafts_followed_by_reply,
    weekly.drafts_sent_with_few_edits,
    weekly.self_service_resolutions * assumptions.per_self_service_resolution
    + weekly.auto_routed_tickets * assumptions.per_auto_routed_ticket
    + weekly.drafts_sent_with_few_edits * assumptions.per_draft_sent_with_few_edits
        as agent_minutes_saved,
    -- the assumptions behind agent_minutes_saved, carried so a reader sees the method
    assumptions.per_self_service_resolution as minutes_per_self_service_resolution,
    assumptions.per_auto_routed_ticket as minutes_per_auto_routed_ticket,
    assumptions.per_draft_sent_with_few_edits as minutes_per_draft_sent_with_few_edits
from weekly
cross join assumptions
