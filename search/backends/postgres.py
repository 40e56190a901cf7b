"""The PostgreSQL backend (the default): a narrow ``search_searchdocument`` row per product.

* One filter column: ``terms int[]`` under one GIN index holds a code for each
  of the product's words and ``#``-marked codes (ids in the tenant's
  ``search_searchlexeme`` dictionary) and of its choice values
  (``search_searchvalue``, negated); each code also tells whether the product
  is in stock (:func:`~search.models.term_code`). The text, the choice filters
  and the stock filter are then scan keys of a single GIN index scan,
  intersected inside the index: only rows that pass all of them are read.
* Text: the application's tokens (CJK bigrams, words, codes; see
  :mod:`search.text`). A query word matches every lexeme it begins (a range
  scan of the dictionary's ``C``-collated unique index, as a sub-select); a
  CJK bigram matches exactly; a query that could be a code also matches code
  prefixes. No user input is ever parsed as query syntax.
* Ranking reads no token list: the share of the query's tokens found in the
  normalised name (1 each, 0.1 for one found elsewhere), then the product id.
* Numbers sit in ``numbers float8[]`` at their attribute's slot
  (``search_searchattribute``), choices' value ids in ``choices int[]``: range
  filters, histograms and value counts read no ``jsonb``. A product with
  several values of an attribute (its SKUs differ) keeps them in ``multi``
  (value ids) and ``nums`` (``{key: [numbers]}``).
* Two round trips per search: one looks up the slots and term value ids the
  query names (:meth:`PostgresBackend._lookup`), then one statement answers the
  page, the total and every facet: the matched set is a materialised CTE,
  grouped once with ``GROUPING SETS``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from core.sql import int_array

from .. import text
from ..models import term_code
from ..query import (
    AttributeKind,
    AttributeSpec,
    Hit,
    Range,
    SearchQuery,
    SearchResult,
    SortOrder,
    choice_facet,
    facet_keys,
    numeric_facet,
    value_facets,
)
from .base import SearchBackend

TABLE = "search_searchdocument"
LEXEMES = "search_searchlexeme"
VALUES = "search_searchvalue"
SLOTS = "search_searchattribute"
STAGE = "search_incoming"  # a temporary table: COPY target of index()
COLUMNS = (
    "product_id",
    "name",
    "name_sort",
    "category_id",
    "category_path",
    "brand_id",
    "terms",
    "choices",
    "multi",
    "numbers",
    "nums",
    "prices",
    "in_stock",
    "available",
    "created_at",
    "indexed_at",
)
CHOICE, NUMBER = AttributeKind.CHOICE.value, AttributeKind.NUMBER.value
# Choice values longer than this are indexed (and matched, and counted) by their first
# characters: the dictionary's unique index cannot hold an entry of more than ~2,700 bytes.
MAX_VALUE_LENGTH = 500
NAME_WEIGHT, OTHER_WEIGHT = 1.0, 0.1


def document_lexemes(doc: Mapping[str, Any]) -> list[str]:
    """The dictionary words of a document: its words (whole, queried as prefixes)
    and each SKU code or barcode as one ``#code`` lexeme (queried as a prefix too)."""
    codes = [text.CODE_MARK + code for code in doc["codes"] if code]
    return list(dict.fromkeys([*doc["words"], *codes]))


def _capped(attrs: Mapping[str, list[str]]) -> dict[str, list[str]]:
    return {k: list(dict.fromkeys(v[:MAX_VALUE_LENGTH] for v in vs)) for k, vs in attrs.items()}


def _like_prefix(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# --- the tenant's dictionaries -----------------------------------------------------------------
def lexeme_ids(cursor, words: Iterable[str]) -> dict[str, int]:
    """Ids of ``words`` in the tenant's lexicon, adding the new ones (one statement;
    only the words not found are inserted: a conflict costs more than a lookup).

    Sorted inserts: concurrent indexers adding overlapping words wait on each
    other instead of deadlocking. A word another transaction added meanwhile
    is not in this statement's snapshot: it is read again once that one commits.
    """
    wanted = sorted(set(words))
    if not wanted:
        return {}
    cursor.execute(
        f"""WITH w AS (SELECT unnest(%s::text[]) COLLATE "C" AS word),
        known AS (SELECT l.id, l.word FROM {LEXEMES} l JOIN w USING (word)),
        ins AS (INSERT INTO {LEXEMES} (word)
                SELECT word FROM w WHERE word NOT IN (SELECT word FROM known) ORDER BY word
                ON CONFLICT (word) DO NOTHING RETURNING id, word)
        SELECT id, word FROM known UNION ALL SELECT id, word FROM ins""",
        [wanted],
    )
    found = {word: i for i, word in cursor.fetchall()}
    if len(found) < len(wanted):
        cursor.execute(
            f"SELECT id, word FROM {LEXEMES} WHERE word = ANY(%s::text[])",
            [[w for w in wanted if w not in found]],
        )
        found.update((word, i) for i, word in cursor.fetchall())
    return found


def value_ids(cursor, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Ids of ``(attribute, value)`` choice values, adding the new ones (one statement)."""
    wanted = sorted(set(pairs))
    if not wanted:
        return {}
    keys, values = [p[0] for p in wanted], [p[1] for p in wanted]
    cursor.execute(
        f"""WITH v AS (SELECT * FROM unnest(%s::text[], %s::text[]) AS v(attribute, value)),
        ins AS (INSERT INTO {VALUES} (attribute, value) SELECT attribute, value FROM v ORDER BY 1, 2
                ON CONFLICT (attribute, value) DO NOTHING RETURNING id, attribute, value)
        SELECT id, attribute, value FROM ins
        UNION ALL SELECT t.id, t.attribute, t.value FROM {VALUES} t JOIN v USING (attribute, value)""",
        [keys, values],
    )
    found = {(a, v): i for i, a, v in cursor.fetchall()}
    missing = [p for p in wanted if p not in found]
    if missing:
        cursor.execute(
            f"SELECT id, attribute, value FROM {VALUES} WHERE (attribute, value) IN"
            " (SELECT * FROM unnest(%s::text[], %s::text[]))",
            [[p[0] for p in missing], [p[1] for p in missing]],
        )
        found.update(((a, v), i) for i, a, v in cursor.fetchall())
    return found


def slots(cursor, keys: Iterable[tuple[str, str]], *, add: bool) -> dict[tuple[str, str], int]:
    """The array slot (from 1) of each ``(key, kind)`` attribute; ``add``: give new ones the next free slot.

    New attributes are rare (a tenant's schema grows): they are added under a
    table lock, so two indexers never hand out the same slot.
    """
    wanted = sorted(set(keys))
    if not wanted:
        return {}

    def read() -> dict[tuple[str, str], int]:
        cursor.execute(
            f"SELECT key, kind, slot FROM {SLOTS} WHERE key = ANY(%s::text[])",
            [[k for k, _ in wanted]],
        )
        return {(k, kind): slot for k, kind, slot in cursor.fetchall()}

    found = read()
    missing = [k for k in wanted if k not in found]
    if missing and add:
        cursor.execute(f"LOCK TABLE {SLOTS} IN SHARE ROW EXCLUSIVE MODE")
        found = read()
        for key, kind in wanted:
            if (key, kind) in found:
                continue
            cursor.execute(
                f"INSERT INTO {SLOTS} (key, kind, slot) SELECT %s, %s, COALESCE(max(slot), 0) + 1"
                f" FROM {SLOTS} WHERE kind = %s RETURNING slot",
                [key, kind, kind],
            )
            found[(key, kind)] = cursor.fetchone()[0]
    return {k: v for k, v in found.items() if k in set(wanted)}


def _positional(values: Mapping[int, Any]) -> list[Any]:
    if not values:
        return []
    out: list[Any] = [None] * max(values)
    for slot, value in values.items():
        out[slot - 1] = value
    return out


def _array(items: Iterable[Any]) -> str:
    """An array of numbers (``None``: NULL) as COPY text: a fraction of the cost of
    adapting each list element by element."""
    return "{" + ",".join(["NULL" if i is None else repr(i) for i in items]) + "}"


class PostgresBackend(SearchBackend):
    name = "postgres"

    # --- writing -----------------------------------------------------------------
    def _rows(self, cursor, documents: list[dict[str, Any]], now) -> list[tuple]:
        """The documents as table rows: words, values and attribute slots coded as ints
        (three statements for the whole batch, whatever its size)."""
        words = [document_lexemes(d) for d in documents]
        attrs = [_capped(d["attrs"]) for d in documents]
        lexemes = lexeme_ids(cursor, (w for ws in words for w in ws))
        values = value_ids(cursor, ((k, v) for a in attrs for k, vs in a.items() for v in vs))
        slot_of = slots(
            cursor,
            [(k, CHOICE) for a in attrs for k in a]
            + [(k, NUMBER) for d in documents for k in d["nums"]],
            add=True,
        )
        rows = []
        for d, ws, attr in zip(documents, words, attrs, strict=True):
            choices: dict[int, int] = {}
            multi: list[int] = []
            for key, vals in attr.items():
                if len(vals) == 1:
                    choices[slot_of[(key, CHOICE)]] = values[(key, vals[0])]
                else:
                    multi.extend(values[(key, v)] for v in vals)
            numbers: dict[int, float] = {}
            several: dict[str, list[float]] = {}
            for key, number in d["nums"].items():
                if isinstance(number, list):
                    several[key] = number
                else:
                    numbers[slot_of[(key, NUMBER)]] = number
            # term_code, inlined: a million documents hold some 35 codes each.
            off = 0 if d["in_stock"] else 1
            terms = sorted({2 * lexemes[w] + off for w in ws})
            terms += sorted({-2 * values[(k, v)] - off for k, vs in attr.items() for v in vs})
            rows.append(
                (
                    d["product_id"],
                    d["name"],
                    d["name_sort"],
                    d["category_id"],
                    int_array(d["category_path"]),
                    d["brand_id"],
                    int_array(terms),
                    _array(_positional(choices)),
                    _array(sorted(multi)) if multi else None,
                    _array(_positional(numbers)),
                    json.dumps(several),
                    json.dumps(d["prices"]),
                    d["in_stock"],
                    d["available"],
                    d["created_at"],
                    now,
                )
            )
        return rows

    def index(self, documents: list[dict[str, Any]]) -> None:
        """Upsert documents: COPY into a temporary table, then one ``INSERT … ON CONFLICT``."""
        if not documents:
            return
        columns = ", ".join(COLUMNS)
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS[1:])
        documents = sorted(documents, key=lambda d: d["product_id"])
        with transaction.atomic(), connection.cursor() as cursor:
            rows = self._rows(cursor, documents, timezone.now())
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} (LIKE {TABLE}) ON COMMIT DELETE ROWS"
            )
            with cursor.cursor.copy(f"COPY {STAGE} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(
                f"INSERT INTO {TABLE} ({columns}) SELECT {columns} FROM {STAGE} "
                f"ORDER BY product_id ON CONFLICT (product_id) DO UPDATE SET {updates}"
            )
            # Emptied now, not at commit: an enclosing transaction may index again.
            cursor.execute(f"DELETE FROM {STAGE}")

    def delete(self, product_ids: Iterable[int]) -> None:
        ids = [int(i) for i in product_ids]
        if ids:
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {TABLE} WHERE product_id = ANY(%s)", [ids])

    def rebuild(self, batches: Iterable[list[dict[str, Any]]]) -> int:
        """Upsert every batch, then delete what was not rewritten.

        Searches keep seeing complete results throughout (old or new rows, never
        none); changes indexed while the rebuild runs are newer than its start
        and survive the final sweep.
        """
        started = timezone.now()
        total = 0
        for batch in batches:
            self.index(batch)
            total += len(batch)
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE} WHERE indexed_at < %s", [started])
        return total

    def count(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {TABLE}")
            return cursor.fetchone()[0]

    def drop(self) -> None:
        """Empty the index. The dictionaries stay: their ids never change meaning."""
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {TABLE}")  # no dead rows left behind, unlike DELETE

    # --- searching ---------------------------------------------------------------
    def _lookup(
        self, query: SearchQuery, facet_specs: list[AttributeSpec]
    ) -> tuple[dict[tuple[str, str], int], dict[str, list[int]]]:
        """The slots of the attributes the query filters or counts on, and the value ids
        of its term filters (one statement)."""
        keys = sorted({*(query.terms or ()), *(query.ranges or ()), *(s.key for s in facet_specs)})
        pairs = [(k, v[:MAX_VALUE_LENGTH]) for k, vs in query.terms.items() for v in vs]
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT 's', key, kind, slot FROM {SLOTS} WHERE key = ANY(%s::text[])"
                f" UNION ALL SELECT 'v', attribute, value, id FROM {VALUES}"
                " WHERE (attribute, value) IN (SELECT * FROM unnest(%s::text[], %s::text[]))",
                [keys, [p[0] for p in pairs], [p[1] for p in pairs]],
            )
            rows = cursor.fetchall()
        slot_of = {(a, b): n for kind, a, b, n in rows if kind == "s"}
        ids: dict[str, list[int]] = {}
        for kind, attribute, _value, n in rows:
            if kind == "v":
                ids.setdefault(attribute, []).append(n)
        return slot_of, {k: sorted(v) for k, v in ids.items()}

    def _text(self, q: SearchQuery, params: list[Any]) -> tuple[str | None, list[str]]:
        """The text condition (``None``: no text) and the query's tokens (for ranking)."""
        if not q.text:
            return None, []
        tokens = text.query_tokens(q.text)
        code = text.query_code(q.text)
        if not tokens and not code:
            return "FALSE", []  # only punctuation: nothing can match

        def lexemes(patterns: list[tuple[str, str]]) -> str:
            where = " OR ".join(f"word {op} %s" for op, _ in patterns)
            params.extend(p for _, p in patterns)
            codes = "2 * id" if q.in_stock_only else "unnest(ARRAY[2 * id, 2 * id + 1])"
            return f"d.terms && ARRAY(SELECT {codes} FROM {LEXEMES} WHERE {where})"

        def pattern(token: str) -> tuple[str, str]:
            if text.is_prefix_token(token):
                return "LIKE", _like_prefix(token)
            return "=", token

        code_pattern = ("LIKE", _like_prefix(text.CODE_MARK + code)) if code else None
        if len(tokens) == 1 and code_pattern:  # one word or a code: one scan key
            return lexemes([pattern(tokens[0]), code_pattern]), tokens
        words = " AND ".join(lexemes([pattern(t)]) for t in tokens)
        if code_pattern:
            return f"(({words}) OR {lexemes([code_pattern])})", tokens
        return words, tokens

    def _where(
        self,
        q: SearchQuery,
        params: list[Any],
        slot_of: Mapping[tuple[str, str], int],
        ids: Mapping[str, list[int]],
        skip_terms: Iterable[str] = (),
    ) -> tuple[str, list[str]]:
        """The matching conditions and the query's text tokens.

        The text, term and stock conditions are scan keys of the one GIN index on
        ``terms``. Term filters on ``skip_terms`` are left out: the caller
        evaluates them as flags (disjunctive facets).
        """
        conds = []
        text_cond, tokens = self._text(q, params)
        if text_cond:
            conds.append(text_cond)
        scope = q.scope
        if not scope.unrestricted:
            # Only the parts the dealer's catalogue has: each is an index scan (a BitmapOr).
            parts = []
            if scope.product_ids:
                parts.append("d.product_id = ANY(%s)")
                params.append(sorted(scope.product_ids))
            if scope.category_ids:
                parts.append("d.category_path && %s::bigint[]")
                params.append(sorted(scope.category_ids))
            if scope.brand_ids:
                parts.append("d.brand_id = ANY(%s)")
                params.append(sorted(scope.brand_ids))
            conds.append("(" + " OR ".join(parts or ["FALSE"]) + ")")
        if q.category_ids:
            conds.append("d.category_path && %s::bigint[]")
            params.append(list(q.category_ids))
        if q.brand_ids:
            conds.append("d.brand_id = ANY(%s)")
            params.append(list(q.brand_ids))
        skip = set(skip_terms)
        for key in q.terms:
            if key not in skip:
                conds.append(_term_condition(ids.get(key, []), q.in_stock_only, params))
        for key, rng in q.ranges.items():
            conds.append(_range_condition(key, slot_of.get((key, NUMBER)), rng, params))
        if q.in_stock_only:
            # The text and term conditions asked for in-stock codes already; this is
            # the whole condition when there are none (a cheap test of the row).
            conds.append("d.in_stock")
        return " AND ".join(conds) or "TRUE", tokens

    def _price_exprs(self, q: SearchQuery) -> tuple[str, str]:
        if not q.price_lists:
            return "NULL::float8", "NULL::bigint"
        keys = [str(int(pl)) for pl in q.price_lists]
        price = "COALESCE(" + ", ".join(f"(d.prices ->> '{k}')::float8" for k in keys) + ")"
        which = "CASE " + " ".join(f"WHEN d.prices ? '{k}' THEN {k}" for k in keys) + " END"
        return price, which

    def _order(self, q: SearchQuery) -> str:
        if q.sort == SortOrder.NAME:
            return 'name_sort COLLATE "C", product_id'
        if q.sort == SortOrder.NEWEST:
            return "created_at DESC, product_id DESC"
        if q.sort == SortOrder.PRICE_ASC:
            return 'price ASC NULLS LAST, name_sort COLLATE "C", product_id'
        if q.sort == SortOrder.PRICE_DESC:
            return 'price DESC NULLS LAST, name_sort COLLATE "C", product_id'
        return "score DESC, product_id"

    def sql(self, query: SearchQuery, specs: Mapping[str, AttributeSpec]) -> tuple[str, list[Any]]:
        """The one statement of a search: hits, total and facets (for EXPLAIN, too).

        Reads the attribute slots and term value ids first (:meth:`_lookup`).
        ``m`` is the matched set, materialised once and narrow: the sort keys,
        the category path, the brand and each faceted attribute's slot value
        (``v0``, ``v1`` …, a value id or a number) plus the several-valued
        ``multi`` and ``nums``. The page of hits is joined back to the table for
        its names. The total and every facet are one pass over ``m``
        (``GROUPING SETS``: one hash table per facet), each group a stored value
        that :meth:`search` expands into per-value counts.

        A term filter on an attribute that is also faceted is not part of
        ``m``'s conditions but a flag column: that attribute's counts ignore it
        (disjunctive facets, as shops count: the other values of a multi-select
        stay visible with what choosing them would add; one more pass each), and
        everything else requires every flag.
        """
        facet_specs = facet_keys(query, specs)
        slot_of, ids = self._lookup(query, facet_specs)
        return self._sql(query, facet_specs, slot_of, ids)

    def _sql(
        self,
        query: SearchQuery,
        facet_specs: list[AttributeSpec],
        slot_of: Mapping[tuple[str, str], int],
        ids: Mapping[str, list[int]],
    ) -> tuple[str, list[Any]]:
        choice = [s.key for s in facet_specs if s.kind == AttributeKind.CHOICE]
        disjunctive = [k for k in query.terms if k in choice]
        price, which = self._price_exprs(query)
        where_params: list[Any] = []
        where, tokens = self._where(query, where_params, slot_of, ids, skip_terms=disjunctive)
        params: list[Any] = []
        rank = "0::float4"
        if tokens:
            found = " + ".join(
                f"CASE WHEN strpos(d.name_sort, %s) > 0 THEN {NAME_WEIGHT}::float8"
                f" ELSE {OTHER_WEIGHT}::float8 END"
                for _ in tokens
            )
            # float8, not numeric: numeric's cast to float4 goes through text, per row.
            rank = f"(({found}) / {len(tokens)})::float4"
            params += tokens
        values = []
        for i, spec in enumerate(facet_specs):
            slot = slot_of.get((spec.key, spec.kind.value))
            column = "d.numbers" if spec.kind == AttributeKind.NUMBER else "d.choices"
            values.append(f"{column}[{int(slot)}] AS v{i}" if slot else f"NULL::int AS v{i}")
        flags = []
        for i, key in enumerate(disjunctive):
            flags.append(
                f"{_term_condition(ids.get(key, []), query.in_stock_only, params)} AS f{i}"
            )
        params += where_params

        def matched(*, but: int | None = None) -> str:
            kept = [f"m.f{i}" for i in range(len(disjunctive)) if i != but]
            return " AND ".join(kept) or "TRUE"

        order = self._order(query)
        r = "m" if not disjunctive else f"(SELECT * FROM m WHERE {matched()}) m"
        parts = [
            f"""
SELECT 'h' AS kind, h.product_id::text AS key, d.name AS val, h.score::float8 AS num, h.rn AS cnt,
       jsonb_build_object('price', {price}, 'list', {which}, 'stock', d.in_stock) AS extra
FROM (SELECT h.*, row_number() OVER (ORDER BY {order}) AS rn
      FROM (SELECT * FROM {r} ORDER BY {order} LIMIT %s OFFSET %s) h) h
JOIN {TABLE} d ON d.product_id = h.product_id"""
        ]
        params += [query.limit, query.offset]
        has_choice = any(s.kind == AttributeKind.CHOICE for s in facet_specs)
        has_number = any(s.kind == AttributeKind.NUMBER for s in facet_specs)
        grouped = [
            ("c", "m.category_path"),
            ("b", "m.brand_id"),
            *(
                (str(i), f"m.v{i}")
                for i, spec in enumerate(facet_specs)
                if spec.key not in disjunctive
            ),
            *([("x", "m.multi")] if has_choice else []),
            *([("y", "m.nums")] if has_number else []),
        ]
        which_set = " ".join(f"WHEN GROUPING({col}) = 0 THEN '{label}'" for label, col in grouped)
        parts.append(
            f"SELECT 'g', CASE {which_set} ELSE 't' END,"
            f" COALESCE({', '.join(col + '::text' for _, col in grouped)}), NULL, count(*), NULL"
            f" FROM {r} GROUP BY GROUPING SETS ({', '.join(f'({col})' for _, col in grouped)}, ())"
        )
        for i, key in enumerate(disjunctive):
            j = next(n for n, spec in enumerate(facet_specs) if spec.key == key)
            parts.append(
                f"SELECT 'g', CASE WHEN GROUPING(m.v{j}) = 0 THEN '{j}' ELSE 'x{j}' END,"
                f" COALESCE(m.v{j}::text, m.multi::text), NULL, count(*), NULL FROM m"
                f" WHERE {matched(but=i)} GROUP BY GROUPING SETS ((m.v{j}), (m.multi))"
            )
        # Only what the order, the facets and the flags read: every match is copied into m.
        by_price = query.sort in (SortOrder.PRICE_ASC, SortOrder.PRICE_DESC)
        columns = ", ".join(
            [
                "d.product_id",
                "d.category_path",
                "d.brand_id",
                *(["d.name_sort"] if by_price or query.sort == SortOrder.NAME else []),
                *(["d.created_at"] if query.sort == SortOrder.NEWEST else []),
                *(["d.multi"] if has_choice else []),
                *(["d.nums"] if has_number else []),
                f"{rank} AS score",
                *([f"{price} AS price"] if by_price else []),
                *values,
                *flags,
            ]
        )
        sql = (
            f"WITH m AS MATERIALIZED (SELECT {columns} FROM {TABLE} d WHERE {where})\n"
            + "\nUNION ALL ".join(parts)
        )
        return sql, params

    def search(self, query: SearchQuery, specs: Mapping[str, AttributeSpec]) -> SearchResult:
        facet_specs = facet_keys(query, specs)
        with transaction.atomic(), connection.cursor() as cursor:
            # JIT compiling a plan over a million-row table costs more than running it;
            # exact bitmaps (no lossy pages to recheck) and in-memory facet aggregation.
            cursor.execute("SET LOCAL jit = off; SET LOCAL work_mem = '32MB'")
            slot_of, ids = self._lookup(query, facet_specs)
            sql, params = self._sql(query, facet_specs, slot_of, ids)
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            return self._result(cursor, query, facet_specs, rows)

    def _result(
        self, cursor, query: SearchQuery, facet_specs: list[AttributeSpec], rows: list[tuple]
    ) -> SearchResult:
        scored = bool(query.text)
        hits: list[tuple[int, Hit]] = []
        total = 0
        cats: dict[str, int] = {}
        brands: dict[str, int] = {}
        # Choice counts by value id (the value's text is read below), numbers by number.
        chosen: list[dict[int, int]] = [{} for _ in facet_specs]
        numbers: list[dict[float, int]] = [{} for _ in facet_specs]
        several: dict[int, int] = {}  # value id -> count, for the non-disjunctive choice facets
        several_of: dict[int, dict[int, int]] = {}  # facet index -> value id -> count (disjunctive)
        for kind, key, val, num, cnt, extra in rows:
            if kind == "h":
                extra = extra if isinstance(extra, dict) else json.loads(extra)
                hits.append(
                    (
                        cnt,
                        Hit(
                            product_id=int(key),
                            name=val,
                            score=float(num) if scored else None,
                            price=extra.get("price"),
                            price_list_id=extra.get("list"),
                            in_stock=bool(extra.get("stock")),
                        ),
                    )
                )
            elif key == "t":
                total = int(cnt)
            elif val is None:
                continue  # products without a category, a brand or this attribute
            elif key == "c":
                for cid in val.strip("{}").split(","):
                    if cid:
                        cats[cid] = cats.get(cid, 0) + int(cnt)
            elif key == "b":
                brands[val] = int(cnt)
            elif key == "x" or key.startswith("x"):
                target = several if key == "x" else several_of.setdefault(int(key[1:]), {})
                for vid in val.strip("{}").split(","):
                    if vid:
                        target[int(vid)] = target.get(int(vid), 0) + int(cnt)
            elif key == "y":
                for k, vals in json.loads(val).items():
                    for i, spec in enumerate(facet_specs):
                        if spec.key == k and spec.kind == AttributeKind.NUMBER:
                            for number in vals:
                                numbers[i][float(number)] = numbers[i].get(float(number), 0) + int(
                                    cnt
                                )
            else:
                i = int(key)
                if facet_specs[i].kind == AttributeKind.NUMBER:
                    numbers[i][float(val)] = numbers[i].get(float(val), 0) + int(cnt)
                else:
                    chosen[i][int(val)] = chosen[i].get(int(val), 0) + int(cnt)
        names = _value_names(
            cursor,
            {
                *several,
                *(v for c in chosen for v in c),
                *(v for s in several_of.values() for v in s),
            },
        )
        by_key = {spec.key: i for i, spec in enumerate(facet_specs)}
        counts: list[dict[str, int]] = [{} for _ in facet_specs]
        for i, found in enumerate(chosen):
            for vid, n in found.items():
                counts[i][names[vid][1]] = counts[i].get(names[vid][1], 0) + n
        disjunctive = {by_key[k] for k in query.terms if k in by_key}
        for vid, n in several.items():
            i = by_key.get(names[vid][0])
            if (
                i is not None
                and i not in disjunctive
                and facet_specs[i].kind == AttributeKind.CHOICE
            ):
                counts[i][names[vid][1]] = counts[i].get(names[vid][1], 0) + n
        for i, found in several_of.items():
            for vid, n in found.items():
                if names[vid][0] == facet_specs[i].key:
                    counts[i][names[vid][1]] = counts[i].get(names[vid][1], 0) + n
        attributes = []
        for i, spec in enumerate(facet_specs):
            if spec.kind == AttributeKind.CHOICE:
                attributes.append(choice_facet(spec, counts[i]))
            else:
                attributes.append(numeric_facet(spec, numbers[i]))
        return SearchResult(
            total=total,
            hits=tuple(h for _, h in sorted(hits, key=lambda x: x[0])),
            categories=value_facets(cats),
            brands=value_facets(brands),
            attributes=tuple(attributes),
        )


def _value_names(cursor, ids: set[int]) -> dict[int, tuple[str, str]]:
    if not ids:
        return {}
    cursor.execute(
        f"SELECT id, attribute, value FROM {VALUES} WHERE id = ANY(%s::int[])", [sorted(ids)]
    )
    return {i: (a, v) for i, a, v in cursor.fetchall()}


def _range_condition(key: str, slot: int | None, rng: Range, params: list[Any]) -> str:
    """A number of ``key`` within ``rng``: the product's one number (its slot in
    ``numbers``), or any of its several numbers (``nums``)."""
    if slot is None:
        return "FALSE"  # no product has this attribute
    scalar, path = [], []
    column = f"d.numbers[{int(slot)}]"
    for bound, op in ((rng.min, ">="), (rng.max, "<=")):
        if bound is not None:
            scalar.append(f"{column} {op} %s")
            params.append(bound)
            path.append(f"@ {op} {'$lo' if op == '>=' else '$hi'}")
    lo = rng.min if rng.min is not None else 0.0
    hi = rng.max if rng.max is not None else 0.0
    params += [key, "$[*] ? (" + " && ".join(path) + ")", lo, hi]
    return (
        f"CASE WHEN {column} IS NOT NULL THEN "
        + " AND ".join(scalar)
        + " ELSE COALESCE(jsonb_path_exists(d.nums -> %s, %s::jsonpath,"
        " jsonb_build_object('lo', %s::float8, 'hi', %s::float8)), FALSE) END"
    )


def _term_condition(value_ids: list[int], in_stock_only: bool, params: list[Any]) -> str:
    """Any of the values (their codes, negated in ``terms``): a scan key of the GIN index."""
    if not value_ids:
        return "FALSE"  # no product has any of them
    stocks = (True,) if in_stock_only else (True, False)
    params.append(sorted(-term_code(i, s) for i in value_ids for s in stocks))
    return "d.terms && %s::int[]"
