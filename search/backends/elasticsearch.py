"""The Elasticsearch backend: one index per tenant behind an alias.

``<prefix>-<schema>-products`` is an alias to a concrete, versioned index
``<alias>-<timestamp>``; a full reindex builds a new index and swaps the alias
atomically, then drops the old one (zero downtime). See ``search/README.md`` for
why per-tenant indexes rather than a shared index with routing.

Text is analysed by the application (:mod:`search.text`) and stored in
``whitespace``-analysed fields, which every Elasticsearch (and compatible
server) has: no plugin, no custom analyser to install, and exactly the matching
of the PostgreSQL backend. Parameters are ``nested`` ``{k, v}`` pairs (keyword
and double) so that one mapping serves every tenant's attributes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from elasticsearch import Elasticsearch, NotFoundError, helpers
from elasticsearch.dsl import Q, Search

from .. import text
from ..query import (
    FACET_SIZE,
    NUMERIC_FACET_VALUES,
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

log = logging.getLogger(__name__)

ES_FACET_SIZE = max(FACET_SIZE * 10, 1000)
BULK_CHUNK = 1000

SETTINGS = {"number_of_shards": 1, "refresh_interval": "1s"}
MAPPINGS = {
    "dynamic": "strict",
    "properties": {
        "tenant": {"type": "keyword"},
        "product_id": {"type": "long"},
        "name": {"type": "keyword", "index": False},
        "name_sort": {"type": "keyword"},
        "tokens": {"type": "text", "analyzer": "whitespace"},
        "name_tokens": {"type": "text", "analyzer": "whitespace"},
        "codes": {"type": "keyword"},
        "category_id": {"type": "long"},
        "category_path": {"type": "long"},
        "brand_id": {"type": "long"},
        "attrs_kw": {
            "type": "nested",
            "properties": {"k": {"type": "keyword"}, "v": {"type": "keyword"}},
        },
        "attrs_num": {
            "type": "nested",
            "properties": {"k": {"type": "keyword"}, "v": {"type": "double"}},
        },
        "prices": {"type": "object", "dynamic": False, "properties": {}},
        "in_stock": {"type": "boolean"},
        "available": {"type": "long"},
        "created_at": {"type": "date"},
    },
}

_clients: dict[str, Elasticsearch] = {}
_lock = threading.Lock()


def client(url: str | None = None) -> Elasticsearch:
    url = url or settings.ELASTICSEARCH_URL
    if not url:
        raise RuntimeError("SEARCH_BACKEND is elasticsearch but ELASTICSEARCH_URL is not set.")
    with _lock:
        es = _clients.get(url)
        if es is None:
            es = Elasticsearch(url, request_timeout=10, max_retries=2, retry_on_timeout=True)
            _clients[url] = es
        return es


def _price_field(list_id: int | str) -> str:
    return f"p{int(list_id)}"


class ElasticsearchBackend(SearchBackend):
    name = "elasticsearch"

    def __init__(self, url: str | None = None, prefix: str | None = None):
        self.url = url
        self.prefix = (prefix or getattr(settings, "SEARCH_INDEX_PREFIX", "dinghuo")).lower()
        self._price_fields: dict[str, set[str]] = {}

    @property
    def es(self) -> Elasticsearch:
        return client(self.url)

    # --- names ------------------------------------------------------------------------
    @property
    def tenant(self) -> str:
        return connection.schema_name

    @property
    def alias(self) -> str:
        schema = self.tenant.lower().replace("_", "-")
        return f"{self.prefix}-{schema}-products"

    def _building_key(self) -> str:
        return f"search:es:building:{self.alias}"

    def _new_index_name(self) -> str:
        return f"{self.alias}-{timezone.now():%Y%m%d%H%M%S%f}"

    def _create_index(self, name: str) -> None:
        self.es.indices.create(index=name, settings=SETTINGS, mappings=MAPPINGS)

    def current_indices(self) -> list[str]:
        try:
            return sorted(self.es.indices.get_alias(name=self.alias).keys())
        except NotFoundError:
            return []

    def ensure_index(self) -> list[str]:
        """The concrete indexes behind the alias, creating the first one if needed."""
        indices = self.current_indices()
        if not indices:
            name = self._new_index_name()
            self._create_index(name)
            self.es.indices.update_aliases(actions=[{"add": {"index": name, "alias": self.alias}}])
            indices = [name]
        return indices

    def _write_targets(self) -> list[str]:
        # Writes go to the concrete indexes (some servers do not resolve aliases on
        # writes), and to an index being rebuilt so no change is lost in the swap.
        targets = self.ensure_index()
        building = cache.get(self._building_key())
        if building and building not in targets:
            targets.append(building)
        return targets

    # --- documents --------------------------------------------------------------------
    def _source(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "product_id": doc["product_id"],
            "name": doc["name"],
            "name_sort": doc["name_sort"],
            "tokens": " ".join(doc["tokens"]),
            "name_tokens": " ".join(doc["name_tokens"]),
            "codes": [c[: text.MAX_CODE_LENGTH] for c in doc["codes"]],
            "category_id": doc["category_id"],
            "category_path": list(doc["category_path"]),
            "brand_id": doc["brand_id"],
            "attrs_kw": [{"k": k, "v": v} for k, values in doc["attrs"].items() for v in values],
            "attrs_num": [{"k": k, "v": float(v)} for k, v in doc["nums"].items()],
            "prices": {_price_field(k): float(v) for k, v in doc["prices"].items()},
            "in_stock": bool(doc["in_stock"]),
            "available": int(doc["available"]),
            "created_at": doc["created_at"].isoformat(),
        }

    def _ensure_price_fields(self, index: str, fields: set[str]) -> None:
        known = self._price_fields.setdefault(index, set())
        new = fields - known
        if new:
            self.es.indices.put_mapping(
                index=index,
                properties={"prices": {"properties": {f: {"type": "double"} for f in sorted(new)}}},
            )
            known.update(new)

    def _bulk(self, indices: list[str], documents: list[dict[str, Any]], refresh: Any) -> None:
        sources = [self._source(d) for d in documents]
        fields = {f for s in sources for f in s["prices"]}
        for index in indices:
            self._ensure_price_fields(index, fields)
            actions = (
                {"_op_type": "index", "_index": index, "_id": str(s["product_id"]), "_source": s}
                for s in sources
            )
            helpers.bulk(self.es, actions, chunk_size=BULK_CHUNK, refresh=refresh)

    def index(self, documents: list[dict[str, Any]]) -> None:
        if documents:
            self._bulk(self._write_targets(), documents, refresh="wait_for")

    def delete(self, product_ids: Iterable[int]) -> None:
        ids = [str(int(i)) for i in product_ids]
        if not ids:
            return
        for index in self._write_targets():
            actions = ({"_op_type": "delete", "_index": index, "_id": i} for i in ids)
            helpers.bulk(self.es, actions, refresh="wait_for", raise_on_error=False)

    def rebuild(self, batches: Iterable[list[dict[str, Any]]]) -> int:
        """Build a new index, swap the alias to it in one atomic step, drop the old."""
        new = self._new_index_name()
        self._create_index(new)
        cache.set(self._building_key(), new, timeout=6 * 3600)
        total = 0
        try:
            for batch in batches:
                self._bulk([new], batch, refresh=False)
                total += len(batch)
            self.es.indices.refresh(index=new)
            old = self.current_indices()
            actions = [{"remove": {"index": o, "alias": self.alias}} for o in old]
            actions.append({"add": {"index": new, "alias": self.alias}})
            self.es.indices.update_aliases(actions=actions)
        except Exception:
            cache.delete(self._building_key())
            self.es.options(ignore_status=404).indices.delete(index=new)
            raise
        cache.delete(self._building_key())
        for o in old:
            self.es.options(ignore_status=404).indices.delete(index=o)
            self._price_fields.pop(o, None)
        return total

    def count(self) -> int:
        if not self.current_indices():
            return 0
        return int(
            self.es.count(index=self.alias, query={"term": {"tenant": self.tenant}})["count"]
        )

    def drop(self) -> None:
        for index in self.current_indices():
            self.es.options(ignore_status=404).indices.delete(index=index)
            self._price_fields.pop(index, None)
        cache.delete(self._building_key())

    # --- searching ----------------------------------------------------------------------
    def _filters(self, q: SearchQuery) -> list[Q]:
        filters = [Q("term", tenant=self.tenant)]
        scope = q.scope
        if not scope.unrestricted:
            should = []
            if scope.product_ids:
                should.append(Q("terms", product_id=sorted(scope.product_ids)))
            if scope.category_ids:
                should.append(Q("terms", category_path=sorted(scope.category_ids)))
            if scope.brand_ids:
                should.append(Q("terms", brand_id=sorted(scope.brand_ids)))
            filters.append(Q("bool", should=should, minimum_should_match=1))
        if q.category_ids:
            filters.append(Q("terms", category_path=list(q.category_ids)))
        if q.brand_ids:
            filters.append(Q("terms", brand_id=list(q.brand_ids)))
        for key, values in q.terms.items():
            filters.append(
                Q(
                    "nested",
                    path="attrs_kw",
                    query=Q(
                        "bool",
                        filter=[Q("term", attrs_kw__k=key), Q("terms", attrs_kw__v=list(values))],
                    ),
                )
            )
        for key, rng in q.ranges.items():
            bounds = {}
            if rng.min is not None:
                bounds["gte"] = rng.min
            if rng.max is not None:
                bounds["lte"] = rng.max
            filters.append(
                Q(
                    "nested",
                    path="attrs_num",
                    query=Q(
                        "bool",
                        filter=[Q("term", attrs_num__k=key), Q("range", attrs_num__v=bounds)],
                    ),
                )
            )
        if q.in_stock_only:
            filters.append(Q("term", in_stock=True))
        return filters

    def _text(self, q: SearchQuery) -> Q | None:
        tokens = text.query_tokens(q.text)
        code = text.query_code(q.text)
        should = []
        if tokens:
            joined = " ".join(tokens)
            should.append(
                Q(
                    "bool",
                    must=[Q("match", tokens={"query": joined, "operator": "and"})],
                    should=[
                        Q("match", name_tokens={"query": joined, "operator": "and", "boost": 2.0})
                    ],
                )
            )
        if code:
            should.append(Q("prefix", codes={"value": code}))
        if not should:
            return Q("bool", must_not=[Q("match_all")])
        return Q("bool", should=should, minimum_should_match=1)

    def _base(self, q: SearchQuery) -> Search:
        s = Search(using=self.es, index=self.alias)
        must = self._text(q) if q.text else None
        return s.query(Q("bool", filter=self._filters(q), must=[must] if must else []))

    def search(self, query: SearchQuery, specs: Mapping[str, AttributeSpec]) -> SearchResult:
        if not self.current_indices():
            return SearchResult(total=0, hits=())
        facet_specs = facet_keys(query, specs)
        s = self._base(query).extra(track_total_hits=True)
        s = s.source(["product_id", "name", "name_sort", "prices", "in_stock"])
        s.aggs.bucket("categories", "terms", field="category_path", size=ES_FACET_SIZE)
        s.aggs.bucket("brands", "terms", field="brand_id", size=ES_FACET_SIZE)
        choice = [sp.key for sp in facet_specs if sp.kind == AttributeKind.CHOICE]
        number = [sp.key for sp in facet_specs if sp.kind == AttributeKind.NUMBER]
        if choice:
            kw = (
                s.aggs.bucket("kw", "nested", path="attrs_kw")
                .bucket("wanted", "filter", Q("terms", attrs_kw__k=choice))
                .bucket("k", "terms", field="attrs_kw.k", size=len(choice))
            )
            kw.bucket("v", "terms", field="attrs_kw.v", size=ES_FACET_SIZE)
        if number:
            num = (
                s.aggs.bucket("num", "nested", path="attrs_num")
                .bucket("wanted", "filter", Q("terms", attrs_num__k=number))
                .bucket("k", "terms", field="attrs_num.k", size=len(number))
            )
            num.bucket("v", "terms", field="attrs_num.v", size=NUMERIC_FACET_VALUES)
            num.metric("min", "min", field="attrs_num.v")
            num.metric("max", "max", field="attrs_num.v")
        price_sorted = query.sort in (SortOrder.PRICE_ASC, SortOrder.PRICE_DESC)
        if price_sorted:
            s = s[0:0]
        else:
            s = s.sort(*self._sort(query))[query.offset : query.offset + query.limit]
        response = s.execute().to_dict()
        if price_sorted:
            hits = self._price_page(query)
        else:
            hits = [self._hit(h, query) for h in response["hits"]["hits"]]
        aggs = response.get("aggregations", {})
        attributes = []
        kw_buckets = {
            b["key"]: b
            for b in aggs.get("kw", {}).get("wanted", {}).get("k", {}).get("buckets", [])
        }
        num_buckets = {
            b["key"]: b
            for b in aggs.get("num", {}).get("wanted", {}).get("k", {}).get("buckets", [])
        }
        for spec in facet_specs:
            if spec.kind == AttributeKind.CHOICE:
                bucket = kw_buckets.get(spec.key, {})
                counts = {v["key"]: v["doc_count"] for v in bucket.get("v", {}).get("buckets", [])}
                attributes.append(choice_facet(spec, counts))
            else:
                bucket = num_buckets.get(spec.key, {})
                counts = {
                    float(v["key"]): v["doc_count"] for v in bucket.get("v", {}).get("buckets", [])
                }
                attributes.append(
                    numeric_facet(
                        spec,
                        counts,
                        (bucket.get("min") or {}).get("value") if counts else None,
                        (bucket.get("max") or {}).get("value") if counts else None,
                    )
                )
        return SearchResult(
            total=int(response["hits"]["total"]["value"]),
            hits=tuple(hits),
            categories=value_facets(_counts(aggs.get("categories"))),
            brands=value_facets(_counts(aggs.get("brands"))),
            attributes=tuple(attributes),
        )

    def _sort(self, q: SearchQuery) -> list[Any]:
        if q.sort == SortOrder.NAME:
            return [{"name_sort": "asc"}, {"product_id": "asc"}]
        if q.sort == SortOrder.NEWEST:
            return [{"created_at": "desc"}, {"product_id": "desc"}]
        if q.text:
            return [{"_score": "desc"}, {"product_id": "asc"}]
        return [{"product_id": "asc"}]

    def _price_of(
        self, source: Mapping[str, Any], q: SearchQuery
    ) -> tuple[float | None, int | None]:
        prices = source.get("prices") or {}
        for list_id in q.price_lists:
            value = prices.get(_price_field(list_id))
            if value is not None:
                return float(value), int(list_id)
        return None, None

    def _hit(self, h: Mapping[str, Any], q: SearchQuery) -> Hit:
        src = h["_source"]
        price, list_id = self._price_of(src, q)
        return Hit(
            product_id=int(src["product_id"]),
            name=src["name"],
            score=float(h["_score"]) if q.text and h.get("_score") is not None else None,
            price=price,
            price_list_id=list_id,
            in_stock=bool(src.get("in_stock")),
        )

    def _price_page(self, q: SearchQuery) -> list[Hit]:
        """A page sorted by the dealer's price: the first list of the chain that has one.

        Elasticsearch cannot sort by "the first field present" without a script
        (and compatible servers may not run scripts), so the matched set is split
        by which list prices a product, each part is sorted on its own list's
        field, and the parts' heads are merged. One query per list in the chain
        plus one for unpriced products, each fetching at most offset + limit.
        """
        window = q.offset + q.limit
        descending = q.sort == SortOrder.PRICE_DESC
        fields = [_price_field(pl) for pl in q.price_lists]
        candidates: list[tuple[tuple, Hit]] = []
        for i, field in enumerate(fields + [None]):
            s = self._base(q).source(["product_id", "name", "name_sort", "prices", "in_stock"])
            extra_filters = [Q("exists", field=f"prices.{field}")] if field else []
            earlier = fields[:i] if field else fields
            s = s.filter(
                Q(
                    "bool",
                    filter=extra_filters,
                    must_not=[Q("exists", field=f"prices.{f}") for f in earlier],
                )
            )
            order = [{"name_sort": "asc"}, {"product_id": "asc"}]
            if field:
                order.insert(0, {f"prices.{field}": "desc" if descending else "asc"})
            response = s.sort(*order)[0:window].execute().to_dict()
            for h in response["hits"]["hits"]:
                hit = self._hit(h, q)
                src = h["_source"]
                if hit.price is None:
                    key = (1, 0.0, src["name_sort"], hit.product_id)
                else:
                    key = (
                        0,
                        -hit.price if descending else hit.price,
                        src["name_sort"],
                        hit.product_id,
                    )
                candidates.append((key, hit))
        candidates.sort(key=lambda c: c[0])
        return [hit for _, hit in candidates[q.offset : window]]


def _counts(agg: Mapping[str, Any] | None) -> dict[str, int]:
    if not agg:
        return {}
    return {str(b["key"]): int(b["doc_count"]) for b in agg.get("buckets", [])}
