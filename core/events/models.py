"""The transactional outbox: one row per state change, written in the same
transaction as the change, published afterwards by the relay."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class Event(models.Model):
    """A domain event. ``sequence`` orders events within the tenant; ``event_id``
    is what receivers deduplicate on; ``published_at`` is set by the relay."""

    sequence = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(_("event id"), default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(_("type"), max_length=64, db_index=True)
    aggregate_type = models.CharField(_("aggregate type"), max_length=32)
    aggregate_id = models.CharField(_("aggregate id"), max_length=64)
    payload = models.JSONField(_("payload"))
    tenant = models.CharField(_("tenant"), max_length=63)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["sequence"]
        indexes = [
            models.Index(
                fields=["sequence"],
                name="event_unpublished_idx",
                condition=models.Q(published_at__isnull=True),
            ),
            models.Index(fields=["aggregate_type", "aggregate_id"], name="event_aggregate_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.type}"
