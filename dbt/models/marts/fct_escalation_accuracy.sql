with evaluated as (
    select * from {{ ref('int_escalation_rules_evaluated') }}
),

human as (
    select * from {{ ref('int_tickets_escalated_by_humans') }}
),

joined as (
    select
        evaluated.rules_version,
        evaluated.rule_id,
        evaluated.fired,
        human.ticket_id is not null as human_escalated,
        date_diff('second', evaluated.ticket_created_at, human.first_escalated_at)
        / 3600.0 as lead_hours
    from evaluated
    left join human on evaluated.ticket_id = human.ticket_id
),

aggregated as (
    select
        rules_version,
        rule_id,
        count(*) as tickets_evaluated,
        count(*) filter (where fired) as tickets_fired,
        count(*) filter (where human_escalated) as tickets_human_escalated,
        count(*) filter (where fired and human_escalated) as true_positives,
        median(lead_hours) filter (where fired and human_escalated) as median_lead_hours
    from joined
    group by rules_version, rule_id
)

select
    rules_version || '|' || rule_id as accuracy_key,
    rules_version,
    rule_id,
    tickets_evaluated,
    tickets_fired,
    tickets_human_escalated,
    true_positives,
    true_positives / nullif(tickets_fired, 0) as escalation_precision,
    true_positives / nullif(tickets_human_escalated, 0) as escalation_recall,
    median_lead_hours
from aggregated
