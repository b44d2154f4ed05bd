"""Engine-specific SQL: the one list of DuckDB-only constructs, and a finder.

The project runs on DuckDB and is moving to Apache Spark as well (issue 10): every
engine-specific expression belongs in an ``adapter.dispatch`` macro. ``DUCKDB_ONLY_SQL`` is
the list of what a model (or a macro other than a ``duckdb__`` implementation) must not
contain; structure rules ``duckdb_only_sql`` and ``duckdb_only_sql_in_macros``
(``shopfunnel.structure``) report every hit with its file, line and construct.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The list was read against DuckDB's docs and the running duckdb, and Spark SQL's docs and
# issue tracker, for Spark 3.5 (the oldest line dbt-spark users still run) and 4.x
# (dbt-spark 1.11 allows pyspark >=3.0,<5). A construct is here when Spark
# rejects it, or accepts it with another meaning (marked "differs"). Checked and *not* here,
# because both engines run them alike: an aggregate's `filter (where ...)` (Spark 3.0+, but
# not on a window aggregate: below), `median` (Spark 3.4+), `min_by`/`max_by`,
# `percentile_cont(p) within group (order by x)` (Spark 3.4+), `bool_or`/`bool_and`,
# `count_if`, `try_cast`, `greatest`/`least`, `date_trunc`, `concat_ws`, `md5`, `||`,
# `cast(x as string)`, and interval literals with a number or a quoted amount and unit
# (`interval 1 day`, `interval '30 minutes'`). Adding a date and an interval gives a
# timestamp in DuckDB but a date in Spark: cast the result, or use dbt.dateadd.


@dataclass(frozen=True)
class SqlConstruct:
    """An engine-specific construct: its label, how to find it, and what to write instead.

    The pattern runs on the SQL with Jinja and comments blanked out and, unless
    ``in_strings``, the contents of string literals blanked too. ``window_only``: the match
    counts only when its parenthesis is followed by ``over`` (a window aggregate)."""

    name: str
    pattern: re.Pattern[str]
    instead: str
    in_strings: bool = False
    window_only: bool = False


def _construct(name: str, regex: str, instead: str, **flags: bool) -> SqlConstruct:
    return SqlConstruct(name, re.compile(regex, re.IGNORECASE), instead, **flags)


DUCKDB_ONLY_SQL: tuple[SqlConstruct, ...] = (
    _construct(
        "arg_min/arg_max",
        r"\b(?:arg_?min|arg_?max)(?:_null)?\s*\(",
        "min_by(x, key) / max_by(x, key): same arguments, DuckDB and Spark 3.0+",
    ),
    _construct(
        ":: cast",
        r"::",
        "cast(x as type) (Spark parses :: only from 4.0)",
    ),
    _construct(
        "type name Spark lacks",
        r"\b(?:as|::)\s*(?:varchar|text|bpchar|hugeint|uhugeint|ubigint|uinteger|usmallint"
        r"|utinyint|timestamptz|uuid|blob|bytea|interval)\b(?!\s*\()"
        r"|\btimestamp\s+with\s+time\s+zone\b",
        "{{ dbt.type_string() }} or string (Spark needs a length on varchar, has no text, "
        "unsigned, uuid or blob types)",
    ),
    _construct(
        "range()/generate_series() table",
        r"\b(?:range|generate_series)\s*\(",
        "a spine model or {{ dbt.date_spine(...) }} (differs: Spark's range() names its "
        "column id, and takes no dates)",
    ),
    _construct(
        "quantile()",
        r"\bquantile(?:_cont|_disc)?\s*\(",
        "percentile_cont(p) within group (order by x) (DuckDB and Spark 3.4+)",
    ),
    _construct(
        "DuckDB regexp function",
        r"\bregexp_(?:matches|full_match|extract|extract_all|replace|split_to_array"
        r"|split_to_table)\s*\(",
        "a dispatched macro (Spark: rlike / regexp_like; differs: regexp_extract's default "
        "group is 0 in DuckDB and 1 in Spark, regexp_replace replaces the first match in "
        "DuckDB and all in Spark, RE2 vs Java syntax)",
    ),
    _construct(
        "~ regex operator",
        r"~",
        "a dispatched regex macro (differs: ~ is bitwise not in Spark)",
    ),
    _construct(
        "list literal or [] index",
        r"\[",
        "array(...) through a macro (differs: DuckDB lists are 1-based, Spark arrays 0-based)",
    ),
    _construct(
        "list function",
        r"\blist(?:_\w+)?\s*\(|\barray_length\s*\(",
        "a dispatched macro (Spark: collect_list, size, array functions)",
    ),
    _construct("unnest()", r"\bunnest\s*\(", "a dispatched macro (Spark: explode)"),
    _construct(
        "string_agg()",
        r"\bstring_agg\s*\(",
        "{{ dbt.listagg(...) }} (Spark has string_agg only from 4.0)",
    ),
    _construct(
        "struct literal or struct_pack()",
        r"\bstruct_pack\s*\(|\{",
        "named_struct through a dispatched macro",
    ),
    _construct(
        "to_<unit>() interval",
        r"\bto_(?:years|months|weeks|days|hours|minutes|seconds|milliseconds|microseconds)"
        r"\s*\(",
        "{{ dbt.dateadd(...) }} or an interval literal with a number",
    ),
    _construct(
        "interval of an expression",
        r"\binterval\s*\(",
        "{{ dbt.dateadd(...) }} (Spark's interval literal takes numbers only)",
    ),
    _construct(
        "date_diff()/date_add()/date_sub()",
        r"\b(?:date_diff|datediff|date_sub|date_add)\s*\(",
        "{{ dbt.datediff(...) }} / {{ dbt.dateadd(...) }} (differs: Spark's take other arguments)",
    ),
    _construct(
        "any_value()",
        r"\bany_value\s*\(",
        "max(x) when x is the same on every row of the group, or a macro (differs: DuckDB's "
        "any_value skips NULLs, Spark's may return one)",
    ),
    _construct(
        "epoch",
        r"\bepoch(?:_ms|_us|_ns)?\s*\(|\bextract\s*\(\s*epoch\b|\bdate_part\s*\(\s*'epoch'",
        "{{ dbt.datediff(...) }} in seconds, or a dispatched macro (Spark: unix_seconds)",
        in_strings=True,
    ),
    _construct(
        "strftime()/strptime()",
        r"\bstr[fp]time\s*\(",
        "a dispatched macro (Spark: date_format / to_timestamp, Java patterns)",
    ),
    _construct(
        "* exclude/replace, columns()",
        r"\*\s*(?:exclude|replace)\s*\(|\bcolumns\s*\(",
        "name the columns",
    ),
    _construct(
        "qualify",
        r"\bqualify\b",
        "filter on the window column in the next CTE (no QUALIFY in released Spark)",
    ),
    _construct(
        "ignore nulls inside the parentheses",
        r"\b(?:ignore|respect)\s+nulls\s*\)",
        "a dispatched macro (DuckDB takes it only inside, Spark only after the parenthesis)",
    ),
    _construct(
        "filter (where ...) on a window aggregate",
        r"\bfilter\s*\(\s*where\b",
        "a case expression inside the aggregate (Spark rejects FILTER on a window aggregate)",
        window_only=True,
    ),
    _construct(
        "hash()/sha256()",
        r"\b(?:hash|sha256)\s*\(",
        "a dispatched hash macro (differs: DuckDB's hash is not Spark's murmur3 hash; Spark "
        "spells sha256(x) as sha2(x, 256))",
    ),
    _construct(
        "time zone conversion",
        r"\bat\s+time\s+zone\b|\btimezone\s*\(",
        "a dispatched macro (Spark: from_utc_timestamp / to_utc_timestamp)",
    ),
    _construct(
        "DuckDB operator ^ ** //",
        r"\^|\*\*|//",
        "power(x, y), floor(x / y) (differs: ^ is bitwise xor in Spark)",
    ),
    _construct(
        "DuckDB file reader",
        r"\b(?:read_parquet|read_csv|read_csv_auto|read_json|read_json_auto|parquet_scan"
        r"|glob)\s*\(",
        "a source (its external_location)",
    ),
    _construct(
        "asof/positional join, union by name",
        r"\b(?:asof|positional)\s+join\b|\bunion\s+(?:all\s+)?by\s+name\b",
        "a standard join or union",
    ),
    _construct(
        "concat()",
        r"\bconcat\s*\(",
        "concat_ws or || (differs: DuckDB's concat skips NULLs, Spark's returns NULL)",
    ),
    _construct("today()", r"\btoday\s*\(", "current_date"),
)

_JINJA_TAG = re.compile(r"\{[{%#]|[}%#]\}")
_NOT_NEWLINE = re.compile(r"[^\n]")


def _spaces(text: str) -> str:
    return _NOT_NEWLINE.sub(" ", text)


def _blank_jinja(raw: str) -> str:
    """``raw`` with every Jinja tag, expression and comment blanked, nested ones included
    (a config whose pre_hook string holds ``{{ ... }}`` is blanked whole, so its quotes
    cannot open a string that hides the rest of the file)."""
    parts: list[str] = []
    depth, start, last = 0, 0, 0
    for match in _JINJA_TAG.finditer(raw):
        if match.group().startswith("{"):
            if depth == 0:
                parts.append(raw[last : match.start()])
                start = match.start()
            depth += 1
        elif depth > 0:
            depth -= 1
            if depth == 0:
                parts.append(_spaces(raw[start : match.end()]))
                last = match.end()
    parts.append(_spaces(raw[start:]) if depth > 0 else raw[last:])
    return "".join(parts)


def sql_views(raw: str) -> tuple[str, str]:
    """The SQL of a file as the construct patterns see it: ``(code, code_with_strings)``.

    Both have Jinja tags and SQL comments blanked out; ``code`` also blanks the contents of
    string literals and quoted identifiers (the quotes stay). Both keep the length and line
    breaks of ``raw``, so an offset gives the line."""
    text = _blank_jinja(raw)
    code: list[str] = []
    with_strings: list[str] = []
    index, size = 0, len(text)
    while index < size:
        char = text[index]
        if text.startswith("--", index) or text.startswith("/*", index):
            if char == "-":
                end = text.find("\n", index)
                end = size if end < 0 else end
            else:
                end = text.find("*/", index + 2)
                end = size if end < 0 else end + 2
            blank = _spaces(text[index:end])
            code.append(blank)
            with_strings.append(blank)
            index = end
        elif char in "'\"":
            end = index + 1
            while end < size:
                if text[end] == char:
                    if text.startswith(char * 2, end):
                        end += 2
                        continue
                    break
                end += 1
            literal = text[index : end + 1]
            inner = literal[1:-1] if literal.endswith(char) and len(literal) > 1 else literal[1:]
            code.append(char + _spaces(inner) + literal[len(inner) + 1 :])
            with_strings.append(literal if char == "'" else code[-1])
            index = end + 1
        else:
            code.append(char)
            with_strings.append(char)
            index += 1
    return "".join(code), "".join(with_strings)


def _closing_paren(text: str, opening: int) -> int:
    depth = 0
    for index in range(opening, len(text)):
        if text[index] == "(":
            depth += 1
        elif text[index] == ")":
            depth -= 1
            if depth == 0:
                return index
    return len(text)


_OVER = re.compile(r"\s*over\b", re.IGNORECASE)


def find_duckdb_only_sql(raw: str) -> list[tuple[int, SqlConstruct, str]]:
    """Every DuckDB-only construct in one file's text: (line, construct, matched text), one
    per construct and line, in line order."""
    code, with_strings = sql_views(raw)
    hits: dict[tuple[int, str], tuple[int, SqlConstruct, str]] = {}
    for construct in DUCKDB_ONLY_SQL:
        text = with_strings if construct.in_strings else code
        for match in construct.pattern.finditer(text):
            if construct.window_only:
                closing = _closing_paren(text, text.index("(", match.start()))
                if not _OVER.match(text, closing + 1):
                    continue
            line = text.count("\n", 0, match.start()) + 1
            hits.setdefault(
                (line, construct.name), (line, construct, " ".join(match.group().split()))
            )
    return [hits[key] for key in sorted(hits)]
