-- The knowledge base in one row (the scorecard's KB health table): articles, and how many are
-- stale, ownerless, in conflict or drafts, with fct_kb_health's definitions.
with articles as (
    select * from {{ ref('fct_kb_health') }}
)

select
    count(*) as articles,
    count(*) filter (where is_stale) as stale,
    count(*) filter (where is_missing_owner) as ownerless,
    count(*) filter (where conflicts > 0) as in_conflict,
    count(*) filter (where is_draft) as drafts
from articles
