-- Agent-assist outputs (one per ticket): the reply draft and when it was made; the rest of the
-- row (summary, citations, guardrail findings) stays in ml.assist_outputs.
with source as (
    select * from {{ source('ml', 'assist_outputs') }}
),

renamed as (
    select
        ticket_id,
        draft,
        needs_rewrite,
        generator,
        created_at as drafted_at
    from source
)

select * from renamed
