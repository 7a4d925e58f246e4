-- Deleted tickets (Zendesk status "deleted") leave every model from here on.
with source as (
    select * from {{ source('landing', 'tickets') }}
    where not coalesce(is_deleted, false)
),

renamed as (
    select
        ticket_id,
        source as source_system,
        external_id,
        created_at,
        updated_at,
        channel,
        customer_key,
        customer_tier,
        language,
        subject,
        body,
        status,
        priority,
        category,
        queue,
        sentiment,
        tags,
        assignee_key,
        csat as csat_score,
        csat_raw,
        csat_good as is_csat_good,
        clock_skew as has_clock_skew,
        content_hash,
        batch_id
    from source
),

-- Facts derived from one ticket's own fields, defined here once for every model downstream
with_text as (
    select
        *,
        concat_ws(E'\n', subject, body) as ticket_text,
        {{ is_settled_status('status') }} as is_settled
    from renamed
)

select
    *,
    regexp_matches(ticket_text, '\S') as has_text
from with_text
