"""The GA4 shape of a generated data set (``generate --shape ga4``).

The generator writes the shop's raw tables; this step rewrites the ``events`` table as a
Google Analytics 4 BigQuery export would hold the same hits, so the same planted truths can
be checked through the GA4 adapter (``event_source: ga4``). Every events file is replaced
by a Parquet file of the same name holding GA4's columns with GA4's nested types:
``event_params`` and ``user_properties`` as repeated key/value records (``string_value``,
``int_value``, ``float_value``, ``double_value``), ``items`` as repeated records,
``device``, ``geo``, ``traffic_source``, ``collected_traffic_source``, ``ecommerce`` as
records, ``event_timestamp`` in microseconds (UTC). The shop's other tables (members, grade
history, orders, order lines, products) stay as they are: a shop using GA4 keeps its order
system and member database.

How each hit is written (the adapter reads it back the same way):

* ``event_id`` -> event param ``event_id`` (string): GA4 exports have no event id; sites that
  deduplicate hits send one (GA4's own rows would be keyed by their content instead);
* ``event_at`` -> ``event_timestamp``; ``loaded_at`` -> ``event_server_timestamp_offset``
  (upload time minus event time, in microseconds: a late hit has a large offset, a hit from a
  device clock in the future a negative one);
* ``anonymous_id`` -> ``user_pseudo_id``; ``member_id`` -> ``user_id``;
* ``event_name``: ``product_view`` -> ``view_item`` (GA4's recommended name), the others
  as they are (page_view, add_to_cart, sign_up, login, purchase are GA4's names already);
* ``page_url`` / ``referrer_url`` -> event params ``page_location`` / ``page_referrer``;
* UTM columns -> ``collected_traffic_source.manual_source``, ``manual_medium``,
  ``manual_campaign_name``, ``manual_term`` (null where the shop's tracker left them empty);
* ``product_id`` -> ``items[1].item_id`` (with the catalogue's name, category and price); a
  purchase carries every line of its order as ``items`` (listed by product id: the
  generator's purchase hit names its order's smallest product id, which stays the first
  item) and the order as ``ecommerce`` (transaction id, revenue, quantities) plus params
  ``currency`` and ``coupon``;
* ``user_agent`` -> ``device`` (category, operating system, browser): GA4 exports no user
  agent string;
* hits of known bots (the generator's bot user agents) are not written: GA4 excludes known
  bot traffic before export. They are counted in ``manifest.json`` (``ga4``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import duckdb

from shopfunnel.generate.sqlkit import BOT_AGENTS, PARQUET, Progress, sql_list

# GA4's recommended event names where the shop's tracker names an event otherwise.
GA4_EVENT_NAMES = {"product_view": "view_item"}

# The GA4 export's record types (BigQuery schema of events_YYYYMMDD), as DuckDB types.
PARAM_VALUE = (
    "struct(string_value varchar, int_value bigint, float_value double, double_value double)"
)
EVENT_PARAMS = f"struct(key varchar, value {PARAM_VALUE})[]"
USER_PROPERTIES = (
    "struct(key varchar, value struct(string_value varchar, int_value bigint, "
    "float_value double, double_value double, set_timestamp_micros bigint))[]"
)
ITEM = (
    "struct(item_id varchar, item_name varchar, item_brand varchar, item_variant varchar, "
    "item_category varchar, item_category2 varchar, item_category3 varchar, "
    "item_category4 varchar, item_category5 varchar, price_in_usd double, price double, "
    "quantity bigint, item_revenue_in_usd double, item_revenue double, "
    "item_refund_in_usd double, item_refund double, coupon varchar, affiliation varchar, "
    "location_id varchar, item_list_id varchar, item_list_name varchar, "
    f"item_list_index varchar, promotion_id varchar, promotion_name varchar, "
    f"creative_name varchar, creative_slot varchar, item_params {EVENT_PARAMS})"
)
DEVICE = (
    "struct(category varchar, mobile_brand_name varchar, mobile_model_name varchar, "
    "mobile_marketing_name varchar, mobile_os_hardware_model varchar, "
    "operating_system varchar, operating_system_version varchar, vendor_id varchar, "
    "advertising_id varchar, language varchar, is_limited_ad_tracking varchar, "
    "time_zone_offset_seconds bigint, browser varchar, browser_version varchar, "
    "web_info struct(browser varchar, browser_version varchar, hostname varchar))"
)
GEO = (
    "struct(city varchar, country varchar, continent varchar, region varchar, "
    "sub_continent varchar, metro varchar)"
)
APP_INFO = (
    "struct(id varchar, version varchar, install_store varchar, firebase_app_id varchar, "
    "install_source varchar)"
)
ECOMMERCE = (
    "struct(total_item_quantity bigint, purchase_revenue_in_usd double, "
    "purchase_revenue double, refund_value_in_usd double, refund_value double, "
    "shipping_value_in_usd double, shipping_value double, tax_value_in_usd double, "
    "tax_value double, unique_items bigint, transaction_id varchar)"
)
COLLECTED_TRAFFIC_SOURCE = (
    "struct(manual_campaign_id varchar, manual_campaign_name varchar, manual_source varchar, "
    "manual_medium varchar, manual_term varchar, manual_content varchar, "
    "manual_source_platform varchar, manual_creative_format varchar, "
    "manual_marketing_tactic varchar, gclid varchar, dclid varchar, srsltid varchar)"
)
STREAM_ID = "1234567890"
OS_VERSION = "(iPhone OS [0-9_]+|Android [0-9.]+|Windows NT [0-9.]+|Mac OS X [0-9_]+)"
HOSTNAME = "www.shop.example"


def _param(key: str, text: str) -> str:
    """One event_params record with a string value (null when the value is null)."""
    return (
        f"case when {text} is not null then {{'key': '{key}', 'value': {{'string_value': "
        f"cast({text} as varchar), 'int_value': null::bigint, 'float_value': null::double, "
        f"'double_value': null::double}}}} end"
    )


def _number_param(key: str, number: str) -> str:
    """One event_params record with a double value (null when the value is null)."""
    return (
        f"case when {number} is not null then {{'key': '{key}', 'value': {{'string_value': "
        f"null::varchar, 'int_value': null::bigint, 'float_value': null::double, "
        f"'double_value': cast({number} as double)}}}} end"
    )


def _item(item_id: str, name: str, category: str, price: str, quantity: str) -> str:
    """One items record."""
    return (
        f"cast({{'item_id': {item_id}, 'item_name': {name}, 'item_brand': 'shop.example', "
        f"'item_variant': null, 'item_category': {category}, 'item_category2': null, "
        f"'item_category3': null, 'item_category4': null, 'item_category5': null, "
        f"'price_in_usd': null, 'price': cast({price} as double), "
        f"'quantity': cast({quantity} as bigint), 'item_revenue_in_usd': null, "
        f"'item_revenue': cast({price} as double) * {quantity}, 'item_refund_in_usd': null, "
        f"'item_refund': null, 'coupon': null, 'affiliation': null, 'location_id': null, "
        f"'item_list_id': null, 'item_list_name': null, 'item_list_index': null, "
        f"'promotion_id': null, 'promotion_name': null, 'creative_name': null, "
        f"'creative_slot': null, 'item_params': []}} as {ITEM})"
    )


def _tag(name: str) -> str:
    """A UTM tag of a hit: its column, else the parameter of its URL."""
    return (
        f"coalesce(utm_{name}, "
        f"nullif(regexp_extract(page_url, '[?&]utm_{name}=([^&#]*)', 1), ''))"
    )


def _lookups(con: duckdb.DuckDBPyConnection, out: Path) -> None:
    """Small tables every file's conversion joins: the catalogue, each order as the shop
    last exported it with its lines, and each device's first hit."""
    con.execute(f"""
        create or replace table products as
        select product_id, arg_max(product_name, loaded_at) as product_name,
            arg_max(category, loaded_at) as category, arg_max(list_price, loaded_at) as list_price
        from read_parquet('{_quoted(out)}/products/**/*.parquet', union_by_name = true)
        group by product_id
    """)
    con.execute(f"""
        create or replace table orders as
        select order_id, arg_max(order_total, loaded_at) as order_total,
            arg_max(currency, loaded_at) as currency, arg_max(coupon_code, loaded_at) as coupon_code
        from read_parquet('{_quoted(out)}/orders/**/*.parquet', union_by_name = true)
        where order_id is not null
        group by order_id
    """)
    con.execute(f"""
        create or replace table order_lines as
        with lines as (
            select order_id, line_number, arg_max(product_id, loaded_at) as product_id,
                arg_max(quantity, loaded_at) as quantity,
                arg_max(unit_price, loaded_at) as unit_price
            from read_parquet('{_quoted(out)}/order_items/**/*.parquet', union_by_name = true)
            where order_id is not null and line_number is not null
            group by order_id, line_number
        )
        select
            lines.order_id,
            list({_item('lines.product_id', 'products.product_name', 'products.category',
                        'lines.unit_price', 'lines.quantity')}
                order by lines.product_id, lines.line_number) as items,
            sum(lines.quantity) as total_item_quantity,
            count(distinct lines.product_id) as unique_items
        from lines
        left join products on lines.product_id = products.product_id
        group by lines.order_id
    """)
    con.execute(f"""
        create or replace table first_touch as
        select
            anonymous_id,
            min(event_at) as first_event_at,
            arg_min({_tag("source")}, event_at) as source,
            arg_min({_tag("medium")}, event_at) as medium,
            arg_min({_tag("campaign")}, event_at) as campaign
        from read_parquet('{_quoted(out)}/events/**/*.parquet', union_by_name = true)
        where anonymous_id is not null
        group by anonymous_id
    """)


def _on_purchase(value: str) -> str:
    return f"case when events.event_name = 'purchase' then {value} end"


def ga4_events_sql(path: Path) -> str:
    """The GA4 rows of one events file of the shop's contract."""
    renamed = " ".join(
        f"when '{native}' then '{ga4}'" for native, ga4 in GA4_EVENT_NAMES.items()
    )
    params = ", ".join(
        [
            _param("event_id", "events.event_id"),
            _param("page_location", "events.page_url"),
            _param("page_referrer", "events.referrer_url"),
            _param("currency", _on_purchase("orders.currency")),
            _param("coupon", _on_purchase("orders.coupon_code")),
            _number_param("value", _on_purchase("orders.order_total")),
        ]
    )
    agent = "coalesce(events.user_agent, '')"
    single_item = _item(
        "events.product_id", "products.product_name", "products.category",
        "products.list_price", "1",
    )
    return f"""
        select
            strftime(timezone('UTC', events.event_at), '%Y%m%d') as event_date,
            epoch_us(events.event_at) as event_timestamp,
            case events.event_name {renamed} else events.event_name end as event_name,
            cast(list_filter([{params}], lambda param: param is not null) as {EVENT_PARAMS})
                as event_params,
            null::bigint as event_previous_timestamp,
            null::double as event_value_in_usd,
            null::bigint as event_bundle_sequence_id,
            epoch_us(events.loaded_at) - epoch_us(events.event_at)
                as event_server_timestamp_offset,
            events.member_id as user_id,
            events.anonymous_id as user_pseudo_id,
            {{'analytics_storage': 'Yes', 'ads_storage': 'Yes', 'uses_transient_token': 'No'}}
                as privacy_info,
            cast([] as {USER_PROPERTIES}) as user_properties,
            epoch_us(first_touch.first_event_at) as user_first_touch_timestamp,
            cast(null as struct(revenue double, currency varchar)) as user_ltv,
            cast({{
                'category': case when {agent} like '%Mobile%' then 'mobile'
                    when events.user_agent is null then null else 'desktop' end,
                'mobile_brand_name': case when {agent} like '%iPhone%' then 'Apple'
                    when {agent} like '%SM-%' then 'Samsung' end,
                'mobile_model_name': case when {agent} like '%iPhone%' then 'iPhone'
                    when {agent} like '%SM-%' then 'Galaxy S24' end,
                'mobile_marketing_name': null, 'mobile_os_hardware_model': null,
                'operating_system': case when {agent} like '%iPhone%' then 'iOS'
                    when {agent} like '%Android%' then 'Android'
                    when {agent} like '%Windows%' then 'Windows'
                    when {agent} like '%Macintosh%' then 'Macintosh' end,
                'operating_system_version': nullif(regexp_extract({agent}, '{OS_VERSION}', 1), ''),
                'vendor_id': null, 'advertising_id': null, 'language': 'ko-kr',
                'is_limited_ad_tracking': 'No', 'time_zone_offset_seconds': null,
                'browser': null, 'browser_version': null,
                'web_info': {{
                    'browser': case when {agent} like '%Chrome/%' then 'Chrome'
                        when {agent} like '%Safari/%' then 'Safari' end,
                    'browser_version': nullif(regexp_extract({agent},
                        '(?:Chrome|Version)/([0-9.]+)', 1), ''),
                    'hostname': '{HOSTNAME}'
                }}
            }} as {DEVICE}) as device,
            cast({{'city': 'Seoul', 'country': 'South Korea', 'continent': 'Asia',
                'region': 'Seoul', 'sub_continent': 'Eastern Asia', 'metro': '(not set)'}}
                as {GEO}) as geo,
            cast(null as {APP_INFO}) as app_info,
            {{'name': coalesce(first_touch.campaign, '(direct)'),
                'medium': coalesce(first_touch.medium, '(none)'),
                'source': coalesce(first_touch.source, '(direct)')}} as traffic_source,
            '{STREAM_ID}' as stream_id,
            'WEB' as platform,
            {{'hostname': '{HOSTNAME}'}} as event_dimensions,
            cast(case when events.event_name = 'purchase' and orders.order_id is not null then {{
                'total_item_quantity': order_lines.total_item_quantity,
                'purchase_revenue_in_usd': null, 'purchase_revenue': orders.order_total,
                'refund_value_in_usd': null, 'refund_value': null,
                'shipping_value_in_usd': null, 'shipping_value': null,
                'tax_value_in_usd': null, 'tax_value': null,
                'unique_items': order_lines.unique_items, 'transaction_id': orders.order_id
            }} end as {ECOMMERCE}) as ecommerce,
            cast(case
                when events.event_name = 'purchase' and order_lines.items is not null
                    then order_lines.items
                when events.product_id is not null then [{single_item}]
                else []
            end as {ITEM}[]) as items,
            cast({{
                'manual_campaign_id': null, 'manual_campaign_name': events.utm_campaign,
                'manual_source': events.utm_source, 'manual_medium': events.utm_medium,
                'manual_term': events.utm_term, 'manual_content': null,
                'manual_source_platform': null, 'manual_creative_format': null,
                'manual_marketing_tactic': null, 'gclid': null, 'dclid': null, 'srsltid': null
            }} as {COLLECTED_TRAFFIC_SOURCE}) as collected_traffic_source,
            true as is_active_user,
            null::bigint as batch_event_index,
            null::bigint as batch_page_id,
            null::bigint as batch_ordering_id
        from read_parquet('{_quoted(path)}') as events
        left join products on events.product_id = products.product_id
        -- a purchase hit's id is ev_<order_id>_2 (visits.purchase_visits_sql)
        left join orders
            on events.event_name = 'purchase' and events.event_id = 'ev_' || orders.order_id || '_2'
        left join order_lines on orders.order_id = order_lines.order_id
        left join first_touch on events.anonymous_id = first_touch.anonymous_id
        where events.user_agent is null or events.user_agent not in {_bot_list()}
        order by events.event_at, events.event_id
    """


def _bot_list() -> str:
    return "(" + sql_list(BOT_AGENTS)[1:-1] + ")"


def _quoted(path: Path) -> str:
    """A path as the text of a SQL string literal."""
    return str(path).replace("'", "''")


def write_ga4_shape(out: Path, progress: Progress | None = None) -> dict[str, int]:
    """Rewrite every events file under OUT/events/ in the GA4 export's shape (same file
    names, so flat and daily layouts keep their load partitions); record what was done in
    OUT/manifest.json (key ``ga4``) and return it."""
    say = progress or (lambda message: None)
    started = time.perf_counter()
    files = sorted((out / "events").rglob("*.parquet"))
    if not files:
        raise ValueError(f"--shape ga4: no events file under {out / 'events'} (Parquet only)")
    con = duckdb.connect()
    try:
        con.execute("set timezone = 'UTC'")
        _lookups(con, out)
        report = {"files": 0, "events_written": 0, "known_bot_events_excluded": 0}
        for number, path in enumerate(files, start=1):
            bots = con.execute(
                f"select count(*) from read_parquet('{_quoted(path)}') "
                f"where user_agent in {_bot_list()}"
            ).fetchall()[0][0]
            scratch = path.with_name(path.name + ".ga4")
            written = con.execute(
                f"copy ({ga4_events_sql(path)}) to '{_quoted(scratch)}' ({PARQUET})"
            ).fetchall()[0][0]
            scratch.replace(path)
            report["files"] += 1
            report["events_written"] += int(written)
            report["known_bot_events_excluded"] += int(bots)
            say(f"ga4: file {number}/{len(files)}, {report['events_written']:,} events")
    finally:
        con.close()
    manifest_path = out / "manifest.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        manifest["shape"] = "ga4"
        manifest["ga4"] = report
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    say(f"ga4: {report['events_written']:,} events in {time.perf_counter() - started:.1f} s")
    return report
