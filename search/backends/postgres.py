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
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from .. import text
from ..query import (
    AttributeKind,
    AttributeSpec,
    Hit,
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
MAX_POSITION = 16383
MAX_POSITIONS_PER_LEXEME = 64
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
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_literal(doc: Mapping[str, Any]) -> str:
    """The weighted ``tsvector`` of a document, as text for ``::tsvector``."""
    positions: dict[str, list[str]] = defaultdict(list)
    n = 0
    name_count = len(doc["name_tokens"])
    code_tokens = [t for code in doc["codes"] for t in text.code_tokens(code)]
    weighted = (
        [(t, "A") for t in doc["name_tokens"]]
        + [(t, "D") for t in doc["tokens"][name_count:]]
        + [(t, "B") for t in code_tokens]
    )
    for token, weight in weighted:
        n = min(n + 1, MAX_POSITION)
        slots = positions[token]
        if len(slots) < MAX_POSITIONS_PER_LEXEME:
            slots.append(f"{n}{weight}")
    return " ".join(f"{_quote(tok)}:{','.join(slots)}" for tok, slots in positions.items())


def tsquery_literal(query_text: str) -> str | None:
    """All the text's tokens, or the whole text as a code prefix; ``None``: nothing to match."""
    tokens = text.query_tokens(query_text)
    code = text.query_code(query_text)
    parts = []
    if tokens:
        parts.append("(" + " & ".join(_quote(t) for t in tokens) + ")")
    if code:
        parts.append(_quote(text.CODE_MARK + code))
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
        if not documents:
            return
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS[1:])
        sql = (
            f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES "
            "(%s, %s, %s, %s, %s, %s, %s::tsvector, %s::jsonb, %s::jsonb, %s::jsonb, %s, %s, %s, %s) "
            f"ON CONFLICT (product_id) DO UPDATE SET {updates}"
        )
        rows = self._rows(sorted(documents, key=lambda d: d["product_id"]), timezone.now())
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, rows)

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
            cursor.execute(f"DELETE FROM {TABLE}")

    # --- searching ---------------------------------------------------------------
    def _where(self, q: SearchQuery, params: list[Any]) -> str:
        conds = ["TRUE"]
        tsq = tsquery_literal(q.text) if q.text else None
        if q.text and tsq is None:
            conds.append("FALSE")  # only punctuation: nothing can match
        elif tsq:
            conds.append("d.tokens @@ %s::tsquery")
            params.append(tsq)
        scope = q.scope
        if not scope.unrestricted:
            conds.append(
                "(d.product_id = ANY(%s) OR d.category_path && %s::bigint[] OR d.brand_id = ANY(%s))"
            )
            params += [
                sorted(scope.product_ids),
                sorted(scope.category_ids),
                sorted(scope.brand_ids),
            ]
        if q.category_ids:
            conds.append("d.category_path && %s::bigint[]")
            params.append(list(q.category_ids))
        if q.brand_ids:
            conds.append("d.brand_id = ANY(%s)")
            params.append(list(q.brand_ids))
        for key, values in q.terms.items():
            conds.append("(" + " OR ".join(["d.attrs @> %s::jsonb"] * len(values)) + ")")
            params += [json.dumps({key: [v]}, ensure_ascii=False) for v in values]
        for key, rng in q.ranges.items():
            if rng.min is not None:
                conds.append("(d.nums ->> %s)::float8 >= %s")
                params += [key, rng.min]
            if rng.max is not None:
                conds.append("(d.nums ->> %s)::float8 <= %s")
                params += [key, rng.max]
        if q.in_stock_only:
            conds.append("d.in_stock")
        return " AND ".join(conds), tsq

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

    def search(self, query: SearchQuery, specs: Mapping[str, AttributeSpec]) -> SearchResult:
        params: list[Any] = []
        rank = "0::float4"
        price, which = self._price_exprs(query)
        where_params: list[Any] = []
        where, tsq = self._where(query, where_params)
        if tsq:
            rank = "ts_rank('{0.1, 0.2, 0.4, 1.0}', d.tokens, %s::tsquery)"
            params.append(tsq)
        params += where_params
        facet_specs = facet_keys(query, specs)
        choice = [s.key for s in facet_specs if s.kind == AttributeKind.CHOICE]
        number = [s.key for s in facet_specs if s.kind == AttributeKind.NUMBER]
        order = self._order(query)
        sql = f"""
WITH m AS MATERIALIZED (
    SELECT d.product_id, d.name, d.name_sort, d.category_path, d.brand_id, d.attrs, d.nums,
           d.in_stock, d.created_at, {rank} AS score, {price} AS price, {which} AS price_list
    FROM {TABLE} d WHERE {where}
)
SELECT * FROM (
    SELECT 'h' AS kind, h.product_id::text AS key, h.name AS val, h.score::float8 AS num,
           h.rn AS cnt,
           jsonb_build_object('price', h.price, 'list', h.price_list, 'stock', h.in_stock) AS extra
    FROM (SELECT *, row_number() OVER (ORDER BY {order}) AS rn FROM m
          ORDER BY {order} LIMIT %s OFFSET %s) h
) hits
UNION ALL SELECT 't', NULL, NULL, NULL, count(*), NULL FROM m
UNION ALL SELECT 'c', cid::text, NULL, NULL, count(*), NULL FROM m, unnest(m.category_path) cid GROUP BY cid
UNION ALL SELECT 'b', brand_id::text, NULL, NULL, count(*), NULL FROM m WHERE brand_id IS NOT NULL
    GROUP BY brand_id
UNION ALL SELECT 'a', e.key, v.val, NULL, count(*), NULL
    FROM m, jsonb_each(m.attrs) e, jsonb_array_elements_text(e.value) v(val)
    WHERE e.key = ANY(%s) GROUP BY e.key, v.val
UNION ALL SELECT 'n', e.key, NULL, (e.value)::float8, count(*), NULL
    FROM m, jsonb_each(m.nums) e
    WHERE e.key = ANY(%s) AND jsonb_typeof(e.value) = 'number' GROUP BY e.key, (e.value)::float8
"""
        params += [query.limit, query.offset, choice, number]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        hits: list[tuple[int, Hit]] = []
        total = 0
        cats: dict[str, int] = {}
        brands: dict[str, int] = {}
        choices: dict[str, dict[str, int]] = defaultdict(dict)
        numbers: dict[str, dict[float, int]] = defaultdict(dict)
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
            elif kind == "t":
                total = int(cnt)
            elif kind == "c":
                cats[key] = int(cnt)
            elif kind == "b":
                brands[key] = int(cnt)
            elif kind == "a":
                choices[key][val] = int(cnt)
            elif kind == "n":
                numbers[key][float(num)] = int(cnt)
        attributes = []
        for spec in facet_specs:
            if spec.kind == AttributeKind.CHOICE:
                attributes.append(choice_facet(spec, choices.get(spec.key, {})))
            else:
                attributes.append(numeric_facet(spec, numbers.get(spec.key, {})))
        return SearchResult(
            total=total,
            hits=tuple(h for _, h in sorted(hits, key=lambda x: x[0])),
            categories=value_facets(cats),
            brands=value_facets(brands),
            attributes=tuple(attributes),
        )
