with source as (
    select * from {{ source('landing', 'kb_articles') }}
),

renamed as (
    select
        article_id,
        title,
        audience,
        status as article_status,
        owner,
        product_area,
        locale,
        url,
        updated_at,
        review_by,
        index_version
    from source
)

select * from renamed
