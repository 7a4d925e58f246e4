-- Tickets whose labels are settled (solved or closed): the team's own labelled examples for the
-- triage model, with the label fields of var label_fields. Text is stg_landing__tickets'
-- ticket_text (subject + body), already PII-redacted at ingestion.
with tickets as (
    select * from {{ ref('stg_landing__tickets') }}
),

settled as (
    select
        ticket_id,
        created_at,
        language,
        channel,
        customer_tier,
        {{ var('label_fields') | join(',\n        ') }},
        ticket_text as text  -- noqa: RF04
    from tickets
    where is_settled
)

select * from settled
