-- Does a higher grade buy pricier products? Paid order lines up to the as-of date, of known
-- products, by segment (fct_order_item_segments: membership grade at the time of the order,
-- and the customer's spend tier = dim_customers.monetary_score). Per segment: units, average
-- and median unit price, the share of units in the premium and entry price tiers with their
-- affinity index (segment share / overall share), the VIP-exclusive share, and whether the
-- segment pays more on average than the segment ranked just below it. The full mix across
-- every price tier is rpt_vip_price_tier_mix.
with

segment_lines as (
    select * from {{ ref('fct_order_item_segments') }}
),

overall as (
    -- every line once: the membership_grade rows (UNKNOWN included)
    select
        cast(
            sum(quantity) filter (where price_tier = {{ var_integer('price_tier_count') }})
            as double
        )
        / sum(quantity) as premium_share,
        cast(sum(quantity) filter (where price_tier = 1) as double) / sum(quantity) as entry_share
    from segment_lines
    where segment_type = 'membership_grade'
),

segments as (
    select
        segment_type,
        segment,
        segment_rank,
        sum(quantity) as units,
        sum(unit_price * quantity) / sum(quantity) as avg_unit_price,
        median(unit_price) as median_unit_price,
        cast(
            sum(quantity) filter (where price_tier = {{ var_integer('price_tier_count') }})
            as double
        )
        / sum(quantity) as premium_tier_share,
        cast(sum(quantity) filter (where price_tier = 1) as double) / sum(quantity)
            as entry_tier_share,
        cast(sum(quantity) filter (where is_vip_exclusive) as double) / sum(quantity)
            as vip_exclusive_share
    from segment_lines
    group by segment_type, segment, segment_rank
),

compared as (
    select
        *,
        -- orders without a grade (guests, unknown members: rank 0) are no step of the ladder
        case
            when segment_rank > 0
                then avg_unit_price > lag(avg_unit_price) over (
                    partition by segment_type, segment_rank > 0 order by segment_rank
                )
        end as pays_more_than_lower_segment
    from segments
),

final as (
    select
        cast({{ composite_key(['compared.segment_type', 'compared.segment']) }} as string)
            as segment_id,
        cast(compared.segment_type as string) as segment_type,
        cast(compared.segment as string) as segment,
        cast(compared.segment_rank as integer) as segment_rank,
        cast(compared.units as bigint) as units,
        cast(compared.avg_unit_price as double) as avg_unit_price,
        cast(compared.median_unit_price as double) as median_unit_price,
        cast(coalesce(compared.premium_tier_share, 0) as double) as premium_tier_share,
        cast(coalesce(compared.entry_tier_share, 0) as double) as entry_tier_share,
        cast(
            {{ safe_ratio('coalesce(compared.premium_tier_share, 0)', 'overall.premium_share') }}
            as double
        ) as premium_tier_affinity,
        cast(
            {{ safe_ratio('coalesce(compared.entry_tier_share, 0)', 'overall.entry_share') }}
            as double
        ) as entry_tier_affinity,
        cast(coalesce(compared.vip_exclusive_share, 0) as double) as vip_exclusive_share,
        cast(compared.pays_more_than_lower_segment as boolean) as pays_more_than_lower_segment
    from compared
    cross join overall
)

select * from final
