{#- The one definition of "settled": a ticket status (or a status event's new value) of solved or
    closed. Tickets carry it as stg_landing__tickets.is_settled; only status events, which have no
    such column, call this macro directly. -#}
{% macro is_settled_status(status_expression) -%}
    {{ status_expression }} in ('solved', 'closed')
{%- endmacro %}
