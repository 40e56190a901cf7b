"""Import jobs: one uploaded sheet, its progress and its row-by-row results."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    VALIDATING = "validating", _("Checking rows")
    APPLYING = "applying", _("Saving")
    SUCCEEDED = "succeeded", _("Imported")
    FAILED = "failed", _("Failed: nothing saved")


FINISHED = (ImportStatus.SUCCEEDED, ImportStatus.FAILED)


class ImportJob(models.Model):
    """An uploaded sheet of one import kind.

    ``errors`` holds every problem found, each ``{"row": 7, "column": "gtin",
    "code": "INVALID_GTIN", "message": "..."}`` (row numbers as the sheet shows
    them, the header being row 1). A job with errors saved nothing.
    """

    kind = models.CharField(_("kind"), max_length=40)
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=255)
    status = models.CharField(
        _("status"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.PENDING
    )
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("rows processed"), default=0)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="import_progress_max_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.original_name}"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED
