with articles as (
    select * from {{ ref('stg_landing__kb_articles') }}
),

findings as (
    select * from {{ ref('stg_ops__kb_findings') }}
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

flags as (
    select
        article_id,
        bool_or(finding_kind = 'stale') as is_stale,
        bool_or(finding_kind = 'missing_owner') as is_missing_owner,
        bool_or(finding_kind = 'draft') as is_draft,
        count(*) filter (where finding_kind = 'near_duplicate') as near_duplicates,
        count(*) filter (where finding_kind = 'conflict') as conflicts,
        string_agg(detail, '; ') filter (where finding_kind = 'conflict') as conflict_details
    from per_article
    group by article_id
)

select
    articles.article_id,
    articles.title,
    articles.audience,
    articles.article_status,
    articles.owner,
    articles.locale,
    articles.url,
    articles.updated_at,
    articles.review_by,
    coalesce(flags.is_stale, false) as is_stale,
    coalesce(flags.is_missing_owner, false) as is_missing_owner,
    coalesce(flags.is_draft, false) as is_draft,
    coalesce(flags.near_duplicates, 0) as near_duplicates,
    coalesce(flags.conflicts, 0) as conflicts,
    flags.conflict_details,
    coalesce(flags.is_stale or flags.is_missing_owner or flags.conflicts > 0, false)
        as needs_attention
from articles
left join flags on articles.article_id = flags.article_id
