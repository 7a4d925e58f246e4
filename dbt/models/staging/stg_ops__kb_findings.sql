with source as (
    select * from {{ source('ops', 'kb_findings') }}
),

renamed as (
    select
        audit_id,
        kind as finding_kind,
        article_id,
        other_article_id,
        similarity,
        detail,
        found_at
    from source
)

select * from renamed
