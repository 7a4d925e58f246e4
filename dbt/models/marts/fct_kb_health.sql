-- Per article: stale, missing owner and draft from the article's own fields (as of today, UTC);
-- near-duplicates and conflicts from the latest KB audit (they need the passage vectors).
-- Archived articles are never flagged.
with articles as (
    select * from {{ ref('stg_landing__kb_articles') }}
),

findings as (
    select * from {{ ref('stg_ops__kb_findings') }}
),

flagged as (
    select
        *,
        article_status != 'archived' and (
            article_status = 'outdated'  -- a translation behind its source article
            or review_by < current_date
            or (
                review_by is null
                and updated_at::date < current_date - {{ var('stale_after_days') }}
            )
        ) as is_stale,
        article_status != 'archived' and coalesce(owner, '') = '' as is_missing_owner,
        article_status = 'draft' as is_draft
    from articles
),

-- a pair finding concerns both of its articles
per_article as (
    select
        article_id,
        finding_kind,
        detail
    from findings
    union all
    select
        other_article_id,
        finding_kind,
        detail
    from findings
    where other_article_id is not null
),

pairs as (
    select
        article_id,
        count(*) filter (where finding_kind = 'near_duplicate') as near_duplicates,
        count(*) filter (where finding_kind = 'conflict') as conflicts,
        string_agg(detail, '; ') filter (where finding_kind = 'conflict') as conflict_details
    from per_article
    group by article_id
)

select
    flagged.article_id,
    flagged.title,
    flagged.audience,
    flagged.article_status,
    flagged.owner,
    flagged.locale,
    flagged.url,
    flagged.updated_at,
    flagged.review_by,
    coalesce(flagged.is_stale, false) as is_stale,
    coalesce(flagged.is_missing_owner, false) as is_missing_owner,
    coalesce(flagged.is_draft, false) as is_draft,
    coalesce(pairs.near_duplicates, 0) as near_duplicates,
    coalesce(pairs.conflicts, 0) as conflicts,
    pairs.conflict_details,
    coalesce(flagged.is_stale or flagged.is_missing_owner or pairs.conflicts > 0, false)
        as needs_attention
from flagged
left join pairs on flagged.article_id = pairs.article_id
