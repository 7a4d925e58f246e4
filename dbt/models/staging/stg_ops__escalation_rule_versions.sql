with source as (
    select * from {{ source('ops', 'escalation_rule_versions') }}
),

renamed as (
    select
        rules_version,
        content_hash,
        json_extract_string(rules, '$.rules[*].id') as rule_ids,
        registered_at
    from source
)

select * from renamed
