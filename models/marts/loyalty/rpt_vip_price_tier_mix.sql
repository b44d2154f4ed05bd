-- The mix of paid units across every price tier, by segment (fct_order_item_segments, the
-- segments of rpt_vip_price_affinity: membership grade at the time of the order, and spend
-- tier = dim_customers.monetary_score), paid lines of known products up to the as-of date.
-- One row per segment and price tier, tiers a segment never bought included (0 units): the
-- tier's share of the segment's units, its share overall, and the affinity index (segment
-- share / overall share; above 1 = the segment over-buys that tier).
with

segment_lines as (
    select * from {{ ref('fct_order_item_segments') }}
),

tiers as (
    {{ integer_series(1, var_integer('price_tier_count'), 'price_tier') }}
),

segments as (
    select distinct
        segment_type,
        segment,
        segment_rank
    from segment_lines
),

segment_tiers as (
    select
        segments.segment_type,
        segments.segment,
        segments.segment_rank,
        tiers.price_tier
    from segments
    cross join tiers
),

tier_units as (
    select
        segment_type,
        segment,
        price_tier,
        sum(quantity) as units
    from segment_lines
    group by segment_type, segment, price_tier
),

overall_units as (
    select
        price_tier,
        sum(quantity) as units
    -- every line once: the membership_grade rows (UNKNOWN included)
    from segment_lines
    where segment_type = 'membership_grade'
    group by price_tier
),

filled as (
    select
        segment_tiers.*,
        coalesce(tier_units.units, 0) as units,
        coalesce(overall_units.units, 0) as overall_units
    from segment_tiers
    left join tier_units
        on
            segment_tiers.segment_type = tier_units.segment_type
            and segment_tiers.segment = tier_units.segment
            and segment_tiers.price_tier = tier_units.price_tier
    left join overall_units
        on segment_tiers.price_tier = overall_units.price_tier
),

shares as (
    select
        *,
        {{ safe_ratio('units', 'sum(units) over (partition by segment_type, segment)') }}
            as tier_share,
        {{ safe_ratio(
            'overall_units', 'sum(overall_units) over (partition by segment_type, segment)'
        ) }}
            as overall_tier_share
    from filled
),

final as (
    select
        cast({{ composite_key(['segment_type', 'segment', 'price_tier']) }} as string)
            as segment_tier_id,
        cast(segment_type as string) as segment_type,
        cast(segment as string) as segment,
        cast(segment_rank as integer) as segment_rank,
        cast(price_tier as integer) as price_tier,
        cast(units as bigint) as units,
        cast(overall_units as bigint) as overall_units,
        cast(coalesce(tier_share, 0) as double) as tier_share,
        cast(coalesce(overall_tier_share, 0) as double) as overall_tier_share,
        cast({{ safe_ratio('tier_share', 'overall_tier_share') }} as double) as affinity_index
    from shares
)

select * from final
