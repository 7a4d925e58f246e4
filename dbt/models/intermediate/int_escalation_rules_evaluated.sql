-- One row per ticket × rules version × rule of that version (every rule, fired or not), plus
-- an 'any_rule' row for the rule set as a whole.
with decisions as (
    select * from {{ ref('stg_ops__escalation_decisions') }}
),

versions as (
    select * from {{ ref('stg_ops__escalation_rule_versions') }}
),

per_rule as (
    select
        decisions.ticket_id,
        decisions.rules_version,
        decisions.ticket_created_at,
        unnest(versions.rule_ids) as rule_id,
        decisions.fired_rules
    from decisions
    inner join versions on decisions.rules_version = versions.rules_version
),

whole_set as (
    select
        ticket_id,
        rules_version,
        ticket_created_at,
        'any_rule' as rule_id,
        is_escalated as fired
    from decisions
)

select
    ticket_id,
    rules_version,
    ticket_created_at,
    rule_id,
    list_contains(fired_rules, rule_id) as fired
from per_rule
union all
select * from whole_set
