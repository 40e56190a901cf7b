"""The interface every search backend implements (and the conformance suite checks)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any

from ..query import AttributeSpec, SearchQuery, SearchResult


class SearchBackend(ABC):
    """Index and query the current tenant's products (``connection.schema_name``).

    Documents are the dicts of :func:`search.documents.build_documents`.
    Every method works on the current tenant's index only.
    """

    name: str = ""

    @abstractmethod
    def index(self, documents: list[dict[str, Any]]) -> None:
        """Add or replace documents (idempotent); searchable when this returns."""

    @abstractmethod
    def delete(self, product_ids: Iterable[int]) -> None:
        """Remove products from the index (idempotent)."""

    @abstractmethod
    def rebuild(self, batches: Iterable[list[dict[str, Any]]]) -> int:
        """Replace the whole index with ``batches`` of documents without a moment
        in which searches see a partial index. Returns the number indexed."""

    @abstractmethod
    def search(self, query: SearchQuery, specs: Mapping[str, AttributeSpec]) -> SearchResult:
        """Run a validated query (see :func:`search.query.validate`)."""

    @abstractmethod
    def count(self) -> int:
        """Documents in the tenant's index."""

    @abstractmethod
    def drop(self) -> None:
        """Remove the tenant's index entirely (tenant deletion, tests)."""
