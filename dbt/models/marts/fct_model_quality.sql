-- Model quality by version × rollout phase × label field, measured against the agents' final
-- values at close. Agreement = share of scored settled tickets whose predicted label equals the
-- final label (all predictions, abstained or not: the model's own accuracy in production);
-- override rate = share of the predictions that acted (suggested or auto-applied) on settled
-- tickets where the agent's final value differs (the Einstein/Zendesk "overridden" notion).
with predictions as (
    select * from {{ ref('stg_ml__predictions') }}
),

decisions as (
    select * from {{ ref('stg_ml__routing_decisions') }}
),

final_labels as (
    select * from {{ ref('int_ticket_labels_unpivoted') }}
),

runs as (
    select * from {{ ref('stg_ops__scoring_runs') }}
),

scored as (
    select
        predictions.model_name,
        predictions.model_version,
        predictions.phase,
        predictions.label_field,
        predictions.ticket_id,
        predictions.predicted_label,
        predictions.abstained,
        predictions.scored_at,
        decisions.routing_action,
        final_labels.final_label,
        final_labels.final_label is not null as is_settled,
        predictions.predicted_label = final_labels.final_label as agrees,
        decisions.routing_action in ('suggest', 'auto_apply') as acted
    from predictions
    left join decisions
        on
            predictions.ticket_id = decisions.ticket_id
            and predictions.model_name = decisions.model_name
            and predictions.model_version = decisions.model_version
            and predictions.label_field = decisions.label_field
    left join final_labels
        on
            predictions.ticket_id = final_labels.ticket_id
            and predictions.label_field = final_labels.label_field
),

quality as (
    select
        model_name,
        model_version,
        phase,
        label_field,
        count(*) as scored_tickets,
        count(*) filter (where is_settled) as closed_tickets,
        avg(agrees::int) filter (where is_settled) as agreement,
        avg((not abstained)::int) as coverage,
        avg(abstained::int) as abstain_rate,
        count(*) filter (where acted and is_settled) as acted_closed_tickets,
        avg((not agrees)::int) filter (where acted and is_settled) as override_rate,
        count(*) filter (where routing_action = 'auto_apply') as auto_applied_tickets,
        min(scored_at) as first_scored_at,
        max(scored_at) as last_scored_at
    from scored
    group by all
),

drift as (
    select
        model_name,
        model_version,
        phase,
        label_field,
        max(psi_label) as max_psi_label,
        max(psi_confidence) as max_psi_confidence,
        bool_or(drifted) as drifted
    from runs
    group by all
)

select
    quality.model_name || '/' || quality.model_version || '/' || quality.phase || '/'
    || quality.label_field as quality_key,
    quality.*,
    drift.max_psi_label,
    drift.max_psi_confidence,
    coalesce(drift.drifted, false) as drifted
from quality
left join drift
    on
        quality.model_name = drift.model_name
        and quality.model_version = drift.model_version
        and quality.phase = drift.phase
        and quality.label_field = drift.label_field
