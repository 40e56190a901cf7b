"""The PostgreSQL backend (the default): a ``search_searchdocument`` table per tenant schema.

* Text: a weighted ``tsvector`` of the application's tokens (CJK bigrams, word
  prefixes, ``#``-marked code prefixes; see :mod:`search.text`) under a GIN
  index, queried with a ``tsquery`` of quoted literal lexemes, so no user input
  is ever parsed as query syntax. Ranked with ``ts_rank`` (name weighs most).
* Filters: ``category_path && ids`` (GIN; a product carries its category and
  all ancestors, so a category matches its descendants), ``attrs @> {...}``
  (GIN ``jsonb_path_ops``), numeric ranges on ``nums``, stock, the dealer's scope.
* One round trip per search: the matched set is a materialised CTE, and the
  page of hits, the total and every facet are ``UNION ALL``-ed from it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from .. import text
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
STAGE = "search_incoming"  # a temporary table: COPY target of index()
MAX_POSITION = 16383
COLUMNS = (
    "product_id",
    "name",
    "name_sort",
    "category_id",
    "category_path",
    "brand_id",
    "tokens",
    "attrs",
    "nums",
    "prices",
    "in_stock",
    "available",
    "created_at",
    "indexed_at",
)


def _quote(lexeme: str) -> str:
    if "'" in lexeme or "\\" in lexeme:
        lexeme = lexeme.replace("\\", "\\\\").replace("'", "''")
    return "'" + lexeme + "'"


def tsvector_literal(doc: Mapping[str, Any]) -> str:
    """The weighted ``tsvector`` of a document, as text for ``::tsvector``.

    Whole words (queried as prefixes, ``word:*``), CJK unigrams and bigrams,
    and each SKU code or barcode as one ``#code`` lexeme (queried as a prefix
    too). One position per lexeme (its first occurrence) with the best weight
    it has: A in the name, B a code, D elsewhere. Ranking then rewards where a
    word matched, not how often, and the vector stays small: a narrow table
    row and cheap ranking of thousands of matches.
    """
    slots: dict[str, tuple[int, str]] = {}
    name_count = len(doc["name_words"])
    words = doc["words"]
    codes = [text.CODE_MARK + code for code in doc["codes"] if code]
    position = 0
    for weight, part in (("A", words[:name_count]), ("B", codes), ("D", words[name_count:])):
        for token in part:
            if token not in slots:
                position = min(position + 1, MAX_POSITION)
                slots[token] = (position, weight)
    return " ".join(f"{_quote(tok)}:{pos}{weight}" for tok, (pos, weight) in slots.items())


def tsquery_literal(query_text: str) -> str | None:
    """All the text's tokens (words as prefixes, CJK bigrams exactly), or the whole
    text as a code prefix; ``None``: nothing to match."""
    tokens = text.query_tokens(query_text)
    code = text.query_code(query_text)
    parts = []
    if tokens:
        parts.append(
            "("
            + " & ".join(_quote(t) + (":*" if text.is_prefix_token(t) else "") for t in tokens)
            + ")"
        )
    if code:
        parts.append(_quote(text.CODE_MARK + code) + ":*")
    return " | ".join(parts) if parts else None


class PostgresBackend(SearchBackend):
    name = "postgres"

    # --- writing -----------------------------------------------------------------
    def _rows(self, documents: list[dict[str, Any]], now) -> list[tuple]:
        return [
            (
                d["product_id"],
                d["name"],
                d["name_sort"],
                d["category_id"],
                list(d["category_path"]),
                d["brand_id"],
                tsvector_literal(d),
                json.dumps(d["attrs"], ensure_ascii=False),
                json.dumps(d["nums"]),
                json.dumps(d["prices"]),
                d["in_stock"],
                d["available"],
                d["created_at"],
                now,
            )
            for d in documents
        ]

    def index(self, documents: list[dict[str, Any]]) -> None:
        """Upsert documents: COPY into a temporary table, then one ``INSERT … ON CONFLICT``."""
        if not documents:
            return
        columns = ", ".join(COLUMNS)
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS[1:])
        rows = self._rows(sorted(documents, key=lambda d: d["product_id"]), timezone.now())
        with transaction.atomic(), connection.cursor() as cursor:
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
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {TABLE}")  # no dead rows left behind, unlike DELETE

    # --- searching ---------------------------------------------------------------
    def _where(
        self, q: SearchQuery, params: list[Any], skip_terms: Iterable[str] = ()
    ) -> tuple[str, str | None]:
        """The matching conditions (each served by an index where one helps) and the tsquery.

        Term filters on ``skip_terms`` are left out: the caller evaluates them
        as flags (disjunctive facets).
        """
        conds = []
        tsq = tsquery_literal(q.text) if q.text else None
        if q.text and tsq is None:
            conds.append("FALSE")  # only punctuation: nothing can match
        elif tsq:
            conds.append("d.tokens @@ %s::tsquery")
            params.append(tsq)
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
        for key, values in q.terms.items():
            if key not in skip:
                conds.append(_term_condition(key, values, params))
        for key, rng in q.ranges.items():
            conds.append(_range_condition(key, rng, params))
        if q.in_stock_only:
            conds.append("d.in_stock")
        return " AND ".join(conds) or "TRUE", tsq

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

        ``m`` is the matched set, materialised once and narrow: the sort keys,
        the category path, the brand and each faceted attribute's stored value
        (``v0``, ``v1`` …), not the documents. The page of hits is joined back to
        the table for its names. The total and every facet are one pass over
        ``m`` (``GROUPING SETS``: one hash table per facet), each group a stored
        value (a category path, a list of choices, a number or the SKUs'
        numbers) that :meth:`search` expands into per-value counts.

        A term filter on an attribute that is also faceted is not part of
        ``m``'s conditions but a flag column: that attribute's counts ignore it
        (disjunctive facets, as shops count: the other values of a multi-select
        stay visible with what choosing them would add; one more pass each), and
        everything else requires every flag.
        """
        facet_specs = facet_keys(query, specs)
        choice = [s.key for s in facet_specs if s.kind == AttributeKind.CHOICE]
        disjunctive = [k for k in query.terms if k in choice]
        price, which = self._price_exprs(query)
        where_params: list[Any] = []
        where, tsq = self._where(query, where_params, skip_terms=disjunctive)
        params: list[Any] = []
        rank = "0::float4"
        if tsq:
            rank = "ts_rank('{0.1, 0.2, 0.4, 1.0}', d.tokens, %s::tsquery, 0)"
            params.append(tsq)
        values = []
        for i, spec in enumerate(facet_specs):
            column = "d.nums" if spec.kind == AttributeKind.NUMBER else "d.attrs"
            values.append(f"{column} -> %s AS v{i}")
            params.append(spec.key)
        flags = []
        for i, key in enumerate(disjunctive):
            flags.append(f"{_term_condition(key, query.terms[key], params)} AS f{i}")
        params += where_params

        def matched(*, but: int | None = None) -> str:
            kept = [f"m.f{i}" for i in range(len(disjunctive)) if i != but]
            return " AND ".join(kept) or "TRUE"

        order = self._order(query)
        r = "m" if not disjunctive else f"(SELECT * FROM m WHERE {matched()}) m"
        parts = [
            f"""
SELECT 'h' AS kind, h.product_id::text AS key, d.name AS val, h.score::float8 AS num, h.rn AS cnt,
       jsonb_build_object('price', h.price, 'list', h.price_list, 'stock', h.in_stock) AS extra
FROM (SELECT h.*, row_number() OVER (ORDER BY {order}) AS rn
      FROM (SELECT * FROM {r} ORDER BY {order} LIMIT %s OFFSET %s) h) h
JOIN {TABLE} d ON d.product_id = h.product_id"""
        ]
        params += [query.limit, query.offset]
        grouped = [
            ("c", "m.category_path"),
            ("b", "m.brand_id"),
            *(
                (str(i), f"m.v{i}")
                for i, spec in enumerate(facet_specs)
                if spec.key not in disjunctive
            ),
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
                f"SELECT 'g', '{j}', m.v{j}::text, NULL, count(*), NULL FROM m"
                f" WHERE m.v{j} IS NOT NULL AND {matched(but=i)} GROUP BY m.v{j}"
            )
        columns = ", ".join(
            [
                "d.product_id",
                "d.name_sort",
                "d.category_path",
                "d.brand_id",
                "d.in_stock",
                "d.created_at",
                f"{rank} AS score",
                f"{price} AS price",
                f"{which} AS price_list",
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
        sql, params = self.sql(query, specs)
        tsq = bool(query.text)
        with transaction.atomic(), connection.cursor() as cursor:
            # JIT compiling a plan over a million-row table costs more than running it.
            cursor.execute("SET LOCAL jit = off")
            # Exact bitmaps (no lossy pages to recheck) and in-memory facet aggregation.
            cursor.execute("SET LOCAL work_mem = '32MB'")
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        facet_specs = facet_keys(query, specs)
        hits: list[tuple[int, Hit]] = []
        total = 0
        cats: dict[str, int] = {}
        brands: dict[str, int] = {}
        counts: list[dict[Any, int]] = [{} for _ in facet_specs]
        for kind, key, val, num, cnt, extra in rows:
            if kind == "h":
                extra = extra if isinstance(extra, dict) else json.loads(extra)
                hits.append(
                    (
                        cnt,
                        Hit(
                            product_id=int(key),
                            name=val,
                            score=float(num) if tsq else None,
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
            else:
                i = int(key)
                number = facet_specs[i].kind == AttributeKind.NUMBER
                for value in _listed(json.loads(val)):
                    value = float(value) if number else str(value)
                    counts[i][value] = counts[i].get(value, 0) + int(cnt)
        attributes = []
        for spec, found in zip(facet_specs, counts, strict=True):
            if spec.kind == AttributeKind.CHOICE:
                attributes.append(choice_facet(spec, found))
            else:
                attributes.append(numeric_facet(spec, found))
        return SearchResult(
            total=total,
            hits=tuple(h for _, h in sorted(hits, key=lambda x: x[0])),
            categories=value_facets(cats),
            brands=value_facets(brands),
            attributes=tuple(attributes),
        )


def _listed(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _range_condition(key: str, rng: Range, params: list[Any]) -> str:
    """A number of ``key`` within ``rng``: the product's one number, or any of its SKUs' numbers."""
    scalar, path = [], []
    for bound, op in ((rng.min, ">="), (rng.max, "<=")):
        if bound is not None:
            scalar.append(f"(d.nums -> %s)::float8 {op} %s")
            path.append(f"@ {op} {'$lo' if op == '>=' else '$hi'}")
    lo = rng.min if rng.min is not None else 0.0
    hi = rng.max if rng.max is not None else 0.0
    sql = (
        "CASE jsonb_typeof(d.nums -> %s) WHEN 'number' THEN "
        + " AND ".join(scalar)
        + " WHEN 'array' THEN jsonb_path_exists(d.nums -> %s, %s::jsonpath,"
        " jsonb_build_object('lo', %s::float8, 'hi', %s::float8)) ELSE FALSE END"
    )
    params.append(key)
    for bound in (rng.min, rng.max):
        if bound is not None:
            params += [key, bound]
    params += [key, "$[*] ? (" + " && ".join(path) + ")", lo, hi]
    return sql


def _term_condition(key: str, values: Iterable[str], params: list[Any]) -> str:
    """Any of ``values`` for ``key``: one GIN-served containment per value."""
    values = list(values)
    params += [json.dumps({key: [v]}, ensure_ascii=False) for v in values]
    return "(" + " OR ".join(["d.attrs @> %s::jsonb"] * len(values)) + ")"
