-- The leadership targets (seed metric_targets), for the scorecard and anyone comparing.
select
    metric,
    target,
    direction,
    label
from {{ ref('metric_targets') }}
