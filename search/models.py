"""Tables of the PostgreSQL search backend and the index-lag record, in each tenant schema."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils.translation import gettext_lazy as _


class SearchDocument(models.Model):
    """One searchable product (the PostgreSQL backend's index).

    ``tokens`` holds the application's analysis (see :mod:`search.text`) with
    weights: A for the name, B for SKU codes and barcodes (as ``#`` prefixes),
    D for the rest. ``attrs`` maps choice attributes to lists of values (GIN,
    ``@>``), ``nums`` numeric attributes to numbers, ``prices`` price list ids
    to the product's lowest unit price in that list.
    """

    product_id = models.BigIntegerField(primary_key=True)
    name = models.TextField()
    name_sort = models.TextField()
    category_id = models.BigIntegerField(null=True)
    category_path = ArrayField(models.BigIntegerField(), default=list)
    brand_id = models.BigIntegerField(null=True)
    tokens = SearchVectorField()
    attrs = models.JSONField(default=dict)
    nums = models.JSONField(default=dict)
    prices = models.JSONField(default=dict)
    in_stock = models.BooleanField(default=False)
    available = models.IntegerField(default=0)
    created_at = models.DateTimeField()
    indexed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("search document")
        verbose_name_plural = _("search documents")
        indexes = [
            GinIndex(fields=["tokens"], name="search_doc_tokens"),
            GinIndex(fields=["category_path"], name="search_doc_category_path"),
            GinIndex(fields=["attrs"], name="search_doc_attrs", opclasses=["jsonb_path_ops"]),
            models.Index(fields=["brand_id"], name="search_doc_brand"),
            models.Index(fields=["created_at"], name="search_doc_created"),
            models.Index(fields=["indexed_at"], name="search_doc_indexed"),
        ]

    def __str__(self) -> str:
        return self.name


class IndexLagSample(models.Model):
    """How long a change took to become searchable: from its commit to the index write."""

    changed_at = models.DateTimeField(_("changed at"))
    indexed_at = models.DateTimeField(_("searchable at"))
    lag_seconds = models.FloatField(_("lag (seconds)"))
    backend = models.CharField(_("backend"), max_length=20)
    documents = models.PositiveIntegerField(_("documents"), default=0)

    KEEP = 2000  # samples kept per tenant

    class Meta:
        verbose_name = _("index lag sample")
        verbose_name_plural = _("index lag")
        ordering = ["-indexed_at"]
        indexes = [models.Index(fields=["indexed_at"], name="search_lag_indexed")]

    def __str__(self) -> str:
        return f"{self.lag_seconds:.3f}s @ {self.indexed_at:%Y-%m-%d %H:%M:%S}"
