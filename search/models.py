"""Tables of the PostgreSQL search backend and the index-lag record, in each tenant schema."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils.translation import gettext_lazy as _


class SearchDocument(models.Model):
    """One searchable product (the PostgreSQL backend's index): a narrow row.

    Everything a search filters on is one ``int[]``, ``terms``, under one GIN
    index, so the text, the choices and the stock intersect inside a single
    index scan: the codes (:func:`term_code`) of the product's words and codes
    in :class:`SearchLexeme` (positive) and of its choice values in
    :class:`SearchValue` (negated), each code telling the stock too.
    For facets and ranges each choice and number attribute has a slot
    (:class:`SearchAttribute`): ``choices[slot]`` is the value id of a
    single-valued choice, ``numbers[slot]`` a single number. A product (or its
    SKUs) with several values of an attribute keeps them in ``multi`` (value
    ids) and ``nums`` (``{key: [numbers]}``) instead. ``prices`` maps price
    list ids to the product's lowest unit price in that list.
    """

    product_id = models.BigIntegerField(primary_key=True)
    name = models.TextField()
    name_sort = models.TextField()
    category_id = models.BigIntegerField(null=True)
    category_path = ArrayField(models.BigIntegerField(), default=list)
    brand_id = models.BigIntegerField(null=True)
    terms = ArrayField(models.IntegerField(), default=list)
    choices = ArrayField(models.IntegerField(null=True), default=list)
    multi = ArrayField(models.IntegerField(), null=True)
    numbers = ArrayField(models.FloatField(null=True), default=list)
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
            GinIndex(fields=["terms"], name="search_doc_terms"),
            GinIndex(fields=["category_path"], name="search_doc_category_path"),
            models.Index(fields=["brand_id"], name="search_doc_brand"),
            models.Index(fields=["created_at"], name="search_doc_created"),
            models.Index(fields=["indexed_at"], name="search_doc_indexed"),
        ]

    def __str__(self) -> str:
        return self.name


def term_code(dictionary_id: int, in_stock: bool) -> int:
    """A word's or a value's code in ``terms`` (negated for a value): the stock is part
    of every code, so an in-stock-only search looks up the in-stock codes and needs no
    list of every product in stock (three quarters of a catalogue) in the index."""
    return 2 * dictionary_id + (0 if in_stock else 1)


class SearchLexeme(models.Model):
    """The tenant's dictionary of indexed words and ``#``-marked codes, each with an int id.

    Ids are assigned on first use and never change or get reused, so a
    document's ``terms`` stay valid however other products change. A query
    word (a prefix) becomes the ids of every lexeme it begins (a range scan
    of the ``C``-collated unique index).
    """

    id = models.AutoField(primary_key=True)
    word = models.TextField(db_collation="C")

    class Meta:
        verbose_name = _("search word")
        verbose_name_plural = _("search words")
        # A constraint, not ``unique=True``: that would add a second (``text_pattern_ops``)
        # index, and with the ``C`` collation this one serves prefix lookups already.
        constraints = [models.UniqueConstraint(fields=["word"], name="search_lexeme_word")]

    def __str__(self) -> str:
        return self.word


class SearchValue(models.Model):
    """The tenant's dictionary of choice attribute values (``package`` = ``0603``), each with an int id."""

    id = models.AutoField(primary_key=True)
    attribute = models.TextField()
    value = models.TextField()

    class Meta:
        verbose_name = _("search attribute value")
        verbose_name_plural = _("search attribute values")
        constraints = [
            models.UniqueConstraint(fields=["attribute", "value"], name="search_value_unique")
        ]

    def __str__(self) -> str:
        return f"{self.attribute}={self.value}"


class SearchAttribute(models.Model):
    """The array slot of a choice or number attribute in the tenant's documents (from 1)."""

    key = models.TextField()
    kind = models.CharField(max_length=10)
    slot = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("search attribute slot")
        verbose_name_plural = _("search attribute slots")
        constraints = [
            models.UniqueConstraint(fields=["key", "kind"], name="search_attribute_unique"),
            models.UniqueConstraint(fields=["kind", "slot"], name="search_attribute_slot"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} @{self.slot}"


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
