-- Does a higher grade buy pricier products? Paid order lines by segment: membership grade
-- at the time of the order, and lifetime spend tier of the customer (quintiles of
-- dim_customers' spend). Per segment: units, average and median unit price, the mix of
-- units across price tiers, the affinity index of the premium and entry tiers (segment
-- share / overall share), the VIP-exclusive share, and whether the segment pays more on
-- average than the segment ranked just below it.
with

order_items as (
    select * from {{ ref('fct_order_items') }}
    where is_paid
),

customers as (
    select * from {{ ref('dim_customers') }}
),

spend_tiers as (
    select
        person_id,
        ntile(5) over (order by spend, person_id) as spend_tier
    from customers
),

segmented as (
    select
        'membership_grade' as segment_type,
        coalesce(order_items.membership_grade_at_order, 'UNKNOWN') as segment,
        coalesce(order_items.grade_rank_at_order, 0) as segment_rank,
        order_items.quantity,
        order_items.unit_price,
        order_items.price_tier,
        order_items.is_vip_exclusive
    from order_items
    union all
    select
        'spend_tier' as segment_type,
        'spend_q' || spend_tiers.spend_tier as segment,
        spend_tiers.spend_tier as segment_rank,
        order_items.quantity,
        order_items.unit_price,
        order_items.price_tier,
        order_items.is_vip_exclusive
    from order_items
    inner join spend_tiers
        on order_items.person_id = spend_tiers.person_id
),

overall as (
    select
        sum(quantity) filter (where price_tier = {{ var('price_tier_count') }})::double
        / sum(quantity) as premium_share,
        sum(quantity) filter (where price_tier = 1)::double / sum(quantity) as entry_share
    from order_items
),

segments as (
    select
        segment_type,
        segment,
        segment_rank,
        sum(quantity) as units,
        sum(unit_price * quantity) / sum(quantity) as avg_unit_price,
        median(unit_price) as median_unit_price,
        sum(quantity) filter (where price_tier = {{ var('price_tier_count') }})::double
        / sum(quantity) as premium_tier_share,
        sum(quantity) filter (where price_tier = 1)::double / sum(quantity) as entry_tier_share,
        sum(quantity) filter (where is_vip_exclusive)::double / sum(quantity) as vip_exclusive_share
    from segmented
    group by segment_type, segment, segment_rank
),

final as (
    select
        cast(segments.segment_type || ':' || segments.segment as varchar) as segment_id,
        cast(segments.segment_type as varchar) as segment_type,
        cast(segments.segment as varchar) as segment,
        cast(segments.segment_rank as integer) as segment_rank,
        cast(segments.units as bigint) as units,
        cast(segments.avg_unit_price as double) as avg_unit_price,
        cast(segments.median_unit_price as double) as median_unit_price,
        cast(coalesce(segments.premium_tier_share, 0) as double) as premium_tier_share,
        cast(coalesce(segments.entry_tier_share, 0) as double) as entry_tier_share,
        cast(
            {{ safe_ratio('coalesce(segments.premium_tier_share, 0)', 'overall.premium_share') }}
            as double
        ) as premium_tier_affinity,
        cast(
            {{ safe_ratio('coalesce(segments.entry_tier_share, 0)', 'overall.entry_share') }}
            as double
        ) as entry_tier_affinity,
        cast(coalesce(segments.vip_exclusive_share, 0) as double) as vip_exclusive_share,
        cast(
            segments.avg_unit_price > lag(segments.avg_unit_price) over (
                partition by segments.segment_type order by segments.segment_rank
            ) as boolean
        ) as pays_more_than_lower_segment
    from segments
    cross join overall
)

select * from final
