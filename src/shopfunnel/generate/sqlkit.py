"""The shop's constants and the SQL building blocks every step uses.

Randomness is a hash of (seed, row key, purpose) mapped to [0, 1): macro ``u(key, purpose)``
and its two-key form ``u2``. The same seed gives the same tables whatever the thread count,
and no row is produced by a Python loop.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import duckdb

from shopfunnel.sqltext import sql_string

Progress = Callable[[str], None]

TABLES = ("events", "members", "member_grade_history", "orders", "order_items", "products")
SITE = "https://www.shop.example"
CHANNELS = (
    "keyword_search_ad",
    "organic_search",
    "direct",
    "referral",
    "organic_social",
    "paid_social",
    "email",
    "sms",
)
MEMBER_TYPES = ("never", "once", "repeat", "loyal")
EVENT_COLUMNS = (
    "event_id",
    "event_at",
    "anonymous_id",
    "member_id",
    "event_name",
    "page_url",
    "referrer_url",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "product_id",
    "user_agent",
    "loaded_at",
)
# a visitor's member id (members who signed up off-line continue the numbering)
MEMBER_ID_SQL = "'M' || lpad((person_idx + 1)::varchar, 8, '0')"
CATEGORIES = ("outer", "tops", "bottoms", "shoes", "bags", "accessories", "beauty", "home")

IPHONE_AGENT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "Mobile/15E148 Safari/604.1"
)
USER_AGENTS = (
    IPHONE_AGENT,
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; SM-S921N) AppleWebKit/537.36 Chrome/124.0 "
    "Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 "
    "Safari/605.1.15",
)
BOT_AGENTS = (
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "python-requests/2.31.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/124.0 Safari/537.36",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
)


# zstd at level 1: about 20% less CPU than the default level 3 for about 15% larger files
PARQUET = "format parquet, compression zstd, compression_level 1"


def sql_list(values: tuple[str, ...] | list[str]) -> str:
    """A constant SQL list of text values (indexing it is cheaper than building text)."""
    return "[" + ", ".join(sql_string(value) for value in values) + "]"


USER_AGENTS_SQL = sql_list(USER_AGENTS)


def categorical(u_expr: str, mix: dict[str, float], order: tuple[str, ...]) -> str:
    """SQL CASE picking a key of `mix` by the uniform `u_expr` (inverse CDF)."""
    cases, cumulative = [], 0.0
    for key in order[:-1]:
        cumulative += mix[key]
        cases.append(f"when {u_expr} < {cumulative!r} then '{key}'")
    return f"(case {' '.join(cases)} else '{order[-1]}' end)"


def install_macros(con: duckdb.DuckDBPyConnection, seed: int, origin: datetime) -> None:
    """The random draws, the exponential draw, times and anonymous ids as SQL macros.

    `origin` is the start of the history: ``ts(seconds)`` counts from it.
    """
    # hash(a, b, c) combines its arguments' hashes too weakly (values for two purposes of
    # one key come out correlated), so each part is hashed alone and the parts are mixed
    # by hashing their xor again.
    con.execute(
        f"create macro u(k, purpose) as "
        f"(hash(xor(hash(k), hash({seed}, purpose))) >> 11)::double / 9007199254740992.0"
    )
    con.execute(
        f"create macro u2(k1, k2, purpose) as "
        f"(hash(xor(hash(xor(hash(k1), hash(k2, 7919))), hash({seed}, purpose))) >> 11)::double"
        f" / 9007199254740992.0"
    )
    # exponential draw with mean m
    con.execute("create macro expo(uu, m) as -ln(1 - uu) * m")
    con.execute(
        # to_timestamp(epoch seconds) is ~4x cheaper than timestamptz + interval
        f"create macro ts(seconds) as to_timestamp({origin.timestamp()!r} + seconds)"
    )
    con.execute(
        f"create macro anon(k1, k2) as 'a_' || substr(md5('{seed}-' || k1 || '-' || k2), 1, 16)"
    )
