-- Tickets whose labels are settled (solved or closed): the team's own labelled examples for the
-- triage model. Text is subject + body, already PII-redacted at ingestion.
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
        category,
        priority,
        queue,
        sentiment,
        concat_ws(E'\n', subject, body) as text  -- noqa: RF04
    from tickets
    where status in ('solved', 'closed')
)

select * from settled
