-- The final human value of each label field (var label_fields) on settled tickets (solved or
-- closed): the "final value at close" that model predictions are compared with. One row per
-- ticket × field.
with tickets as (
    select * from {{ ref('stg_landing__tickets') }}
),

settled as (
    select
        ticket_id,
        {{ var('label_fields') | join(',\n        ') }}
    from tickets
    where is_settled
),

unpivoted as (
    unpivot settled
    on {{ var('label_fields') | join(', ') }}
    into name label_field value final_label
)

select
    ticket_id || ':' || label_field as ticket_field_key,
    ticket_id,
    label_field,
    final_label
from unpivoted
