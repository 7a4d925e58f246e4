-- The final human value of each label field on settled tickets (solved or closed): the
-- "final value at close" that model predictions are compared with. One row per ticket × field.
with tickets as (
    select * from {{ ref('stg_landing__tickets') }}
),

settled as (
    select
        ticket_id,
        category,
        priority,
        queue,
        sentiment
    from tickets
    where status in ('solved', 'closed')
),

unpivoted as (
    unpivot settled
    on category, priority, queue, sentiment
    into name label_field value final_label
)

select
    ticket_id || ':' || label_field as ticket_field_key,
    ticket_id,
    label_field,
    final_label
from unpivoted
