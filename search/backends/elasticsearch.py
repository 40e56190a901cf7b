"""The Elasticsearch backend: one index per tenant behind an alias.

``<prefix>-<schema>-products`` is an alias to a concrete, versioned index
``<alias>-<timestamp>``; a full reindex builds a new index and swaps the alias
atomically, then drops the old one (zero downtime). See ``search/README.md`` for
why per-tenant indexes rather than a shared index with routing.

Text is analysed by the application (:mod:`search.text`) and stored in
``whitespace``-analysed fields, which every Elasticsearch (and compatible
server) has: no plugin, no custom analyser to install, and exactly the matching
of the PostgreSQL backend. Parameters are flattened: one field per attribute
(``ak.<key>`` keyword, ``an.<key>`` double) under objects whose fields are
mapped as keys appear (an index is one tenant's, so its mapping grows with that
tenant's attributes only). Not ``nested`` ``{k, v}`` pairs: a product has one
set of values per attribute, so nothing needs the pairing, and nested
documents made every query of a compatible test server (noida-db) scan
hundreds of times slower — the cause of the benchmark's time-outs.
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
BULK_CHUNK = 500
BULK_BYTES = 10 * 1024 * 1024
BULK_TIMEOUT = 120  # seconds: a bulk request may take long on a busy or small server

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
        # Flattened parameters: one field per attribute (``ak.<key>`` keyword,
        # ``an.<key>`` double), added to the mapping as keys appear, like prices.
        "ak": {"type": "object", "dynamic": False, "properties": {}},
        "an": {"type": "object", "dynamic": False, "properties": {}},
        "prices": {"type": "object", "dynamic": False, "properties": {}},
        "in_stock": {"type": "boolean"},
        "available": {"type": "long"},
        "created_at": {"type": "date"},
    },
}

_lock = threading.Lock()


SEARCH_TIMEOUT = 10  # seconds a search may take before it fails (and the caller sees an error)
_clients: dict[tuple[str, float], Elasticsearch] = {}


def client(url: str | None = None, timeout: float | None = None) -> Elasticsearch:
    url = url or settings.ELASTICSEARCH_URL
    if not url:
        raise RuntimeError("SEARCH_BACKEND is elasticsearch but ELASTICSEARCH_URL is not set.")
    timeout = timeout or SEARCH_TIMEOUT
    with _lock:
        es = _clients.get((url, timeout))
        if es is None:
            # A search that timed out is not sent again: repeating a heavy query on
            # an overloaded server only deepens the overload (bulk writes have their
            # own, longer timeout, and the indexing task retries with backoff).
            es = Elasticsearch(url, request_timeout=timeout, max_retries=2, retry_on_timeout=False)
            _clients[(url, timeout)] = es
        return es


def _price_field(list_id: int | str) -> str:
    return f"p{int(list_id)}"


def _key_field(key: str) -> str:
    """An attribute key as a field name: letters, digits and ``_`` kept, anything else
    (``.`` would be a path) as ``-<hex>-``; distinct keys stay distinct."""
    return "".join(
        ch if (ch.isascii() and (ch.isalnum() or ch == "_")) else f"-{ord(ch):x}-" for ch in key
    )


def _choice_field(key: str) -> str:
    return f"ak.{_key_field(key)}"


def _number_field(key: str) -> str:
    return f"an.{_key_field(key)}"


class ElasticsearchBackend(SearchBackend):
    name = "elasticsearch"

    def __init__(
        self, url: str | None = None, prefix: str | None = None, timeout: float | None = None
    ):
        self.url = url
        self.timeout = timeout
        self.prefix = (prefix or getattr(settings, "SEARCH_INDEX_PREFIX", "dinghuo")).lower()
        self._fields: dict[str, set[str]] = {}

    @property
    def es(self) -> Elasticsearch:
        return client(self.url, self.timeout)

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
            "tokens": " ".join(text.expand_prefixes(doc["words"])),
            "name_tokens": " ".join(text.expand_prefixes(doc["name_words"])),
            "codes": [c[: text.MAX_CODE_LENGTH] for c in doc["codes"]],
            "category_id": doc["category_id"],
            "category_path": list(doc["category_path"]),
            "brand_id": doc["brand_id"],
            "ak": {_key_field(k): list(values) for k, values in doc["attrs"].items()},
            "an": {
                _key_field(k): [float(x) for x in v] if isinstance(v, list) else float(v)
                for k, v in doc["nums"].items()
            },
            "prices": {_price_field(k): float(v) for k, v in doc["prices"].items()},
            "in_stock": bool(doc["in_stock"]),
            "available": int(doc["available"]),
            "created_at": doc["created_at"].isoformat(),
        }

    def _ensure_fields(self, index: str, fields: dict[str, dict[str, str]]) -> None:
        """Map the price and attribute fields ``index`` has not seen yet (``{object: {field: type}}``)."""
        known = self._fields.setdefault(index, set())
        new = {
            obj: {f: t for f, t in wanted.items() if f"{obj}.{f}" not in known}
            for obj, wanted in fields.items()
        }
        new = {obj: wanted for obj, wanted in new.items() if wanted}
        if new:
            self.es.indices.put_mapping(
                index=index,
                properties={
                    obj: {"properties": {f: {"type": t} for f, t in sorted(wanted.items())}}
                    for obj, wanted in new.items()
                },
            )
            known.update(f"{obj}.{f}" for obj, wanted in new.items() for f in wanted)

    def _bulk(self, indices: list[str], documents: list[dict[str, Any]], refresh: Any) -> None:
        sources = [self._source(d) for d in documents]
        fields = {
            "prices": {f: "double" for s in sources for f in s["prices"]},
            "ak": {f: "keyword" for s in sources for f in s["ak"]},
            "an": {f: "double" for s in sources for f in s["an"]},
        }
        for index in indices:
            self._ensure_fields(index, fields)
            actions = (
                {"_op_type": "index", "_index": index, "_id": str(s["product_id"]), "_source": s}
                for s in sources
            )
            helpers.bulk(
                self.es.options(request_timeout=BULK_TIMEOUT),
                actions,
                chunk_size=BULK_CHUNK,
                max_chunk_bytes=BULK_BYTES,
                refresh=refresh,
            )

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
            self._fields.pop(o, None)
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
            self._fields.pop(index, None)
        cache.delete(self._building_key())

    # --- searching ----------------------------------------------------------------------
    def _filters(self, q: SearchQuery, skip_terms: Iterable[str] = ()) -> list[Q]:
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
        skip = set(skip_terms)
        for key, values in q.terms.items():
            if key not in skip:
                filters.append(_term_filter(key, values))
        for key, rng in q.ranges.items():
            bounds = {}
            if rng.min is not None:
                bounds["gte"] = rng.min
            if rng.max is not None:
                bounds["lte"] = rng.max
            filters.append(Q("range", **{_number_field(key): bounds}))
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

    def _base(self, q: SearchQuery, skip_terms: Iterable[str] = ()) -> Search:
        s = Search(using=self.es, index=self.alias)
        must = self._text(q) if q.text else None
        filters = self._filters(q, skip_terms)
        return s.query(Q("bool", filter=filters, must=[must] if must else []))

    def search(self, query: SearchQuery, specs: Mapping[str, AttributeSpec]) -> SearchResult:
        """Hits, total and facets in one request, plus one per disjunctive facet.

        A term filter on an attribute that is also faceted does not narrow that
        attribute's own counts (disjunctive facets, as the PostgreSQL backend):
        they come from a size-0 request without that filter. (``post_filter``
        with ``filter`` aggregations would do it in one request on
        Elasticsearch, but compatible servers may ignore ``post_filter`` —
        noida-db does — and return wrong hits.)
        """
        facet_specs = facet_keys(query, specs)
        choice = [sp.key for sp in facet_specs if sp.kind == AttributeKind.CHOICE]
        number = [sp.key for sp in facet_specs if sp.kind == AttributeKind.NUMBER]
        disjunctive = [k for k in query.terms if k in choice]
        s = self._base(query).extra(track_total_hits=True)
        s = s.source(["product_id", "name", "name_sort", "prices", "in_stock"])
        s.aggs.bucket("categories", "terms", field="category_path", size=ES_FACET_SIZE)
        s.aggs.bucket("brands", "terms", field="brand_id", size=ES_FACET_SIZE)
        for key in choice:
            if key not in disjunctive:
                s.aggs.bucket(
                    f"a_{_key_field(key)}", "terms", field=_choice_field(key), size=ES_FACET_SIZE
                )
        for key in number:
            field = _number_field(key)
            s.aggs.bucket(f"n_{_key_field(key)}", "terms", field=field, size=NUMERIC_FACET_VALUES)
            s.aggs.metric(f"min_{_key_field(key)}", "min", field=field)
            s.aggs.metric(f"max_{_key_field(key)}", "max", field=field)
        price_sorted = query.sort in (SortOrder.PRICE_ASC, SortOrder.PRICE_DESC)
        if price_sorted:
            s = s[0:0]
        else:
            s = s.sort(*self._sort(query))[query.offset : query.offset + query.limit]
        try:
            response = s.execute().to_dict()
        except NotFoundError:  # no index yet: nothing indexed
            return SearchResult(total=0, hits=())
        if price_sorted:
            hits = self._price_page(query)
        else:
            hits = [self._hit(h, query) for h in response["hits"]["hits"]]
        aggs = response.get("aggregations", {})
        for key in disjunctive:
            aggs[f"a_{_key_field(key)}"] = self._disjunctive_counts(query, key)
        attributes = []
        for spec in facet_specs:
            if spec.kind == AttributeKind.CHOICE:
                attributes.append(
                    choice_facet(spec, _counts(aggs.get(f"a_{_key_field(spec.key)}")))
                )
            else:
                counts = {
                    float(v["key"]): v["doc_count"]
                    for v in aggs.get(f"n_{_key_field(spec.key)}", {}).get("buckets", [])
                }
                attributes.append(
                    numeric_facet(
                        spec,
                        counts,
                        (aggs.get(f"min_{_key_field(spec.key)}") or {}).get("value")
                        if counts
                        else None,
                        (aggs.get(f"max_{_key_field(spec.key)}") or {}).get("value")
                        if counts
                        else None,
                    )
                )
        return SearchResult(
            total=int(response["hits"]["total"]["value"]),
            hits=tuple(hits),
            categories=value_facets(_counts(aggs.get("categories"))),
            brands=value_facets(_counts(aggs.get("brands"))),
            attributes=tuple(attributes),
        )

    def _disjunctive_counts(self, q: SearchQuery, key: str) -> dict[str, Any]:
        """``key``'s value counts over the matches of ``q`` without its own filter on ``key``."""
        s = self._base(q, skip_terms=[key])[0:0]
        s.aggs.bucket("v", "terms", field=_choice_field(key), size=ES_FACET_SIZE)
        return s.execute().to_dict().get("aggregations", {}).get("v", {})

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


def _term_filter(key: str, values: Iterable[str]) -> Q:
    return Q("terms", **{_choice_field(key): list(values)})
