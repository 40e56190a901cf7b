"""Starting and running imports; exporting.

:func:`start_import` stores the upload as an :class:`ImportJob` and, after the
transaction commits, hands it to the ``imports.run`` Celery task (or runs it
at once with ``run_now=True``, for small sheets and tests).
:func:`run_import` does the work: read → check every row (progress is saved
as it goes, so the console's progress bar moves) → apply everything in one
transaction, or nothing when any row is wrong.
"""

from __future__ import annotations

from typing import IO, Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.exceptions import DomainError

from .models import ImportJob, ImportStatus
from .registry import get_kind
from .spec import ImportKind, RowError, RowErrors
from .tables import format_of, parse, read_cells, write


def kind_or_error(key: str) -> ImportKind:
    kind = get_kind(key)
    if kind is None:
        raise DomainError(
            _("Unknown import kind %(kind)s.") % {"kind": key}, field="kind", code="INVALID"
        )
    return kind


def _safe_name(filename: str) -> str:
    name = (filename or "").replace("\x00", "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        name = stem[: 255 - len(ext) - 1] + dot + ext if dot and len(ext) < 16 else name[:255]
    return name


@transaction.atomic
def start_import(
    *, kind: str, fileobj: IO[bytes], filename: str, user=None, run_now: bool = False
) -> ImportJob:
    """Record an uploaded sheet and queue it (or run it now).

    The file name is reduced to its last part without NUL (it names the stored file),
    and cut to 255 characters keeping its extension (the job reads its format from it)."""
    kind_or_error(kind)
    filename = _safe_name(filename)
    format_of(filename)
    data = fileobj.read()
    if not data:
        raise DomainError(_("The file is empty."), field="file", code="REQUIRED")
    job = ImportJob(kind=kind, original_name=filename, created_by=user)
    job.file.save(filename, ContentFile(data), save=False)
    job.save()
    if run_now:
        transaction.on_commit(lambda: run_import(job.pk))
    else:
        from .tasks import run_import_task

        run_import_task.delay_on_commit(job.pk)
    return job


def _save(job: ImportJob, **fields: Any) -> None:
    for key, value in fields.items():
        setattr(job, key, value)
    ImportJob.objects.filter(pk=job.pk).update(**fields)


def run_import(job_id: int) -> ImportJob:
    """Run a job to the end; never raises for bad input (the job records it)."""
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if job.is_finished:
        return job
    kind = kind_or_error(job.kind)
    user = job.created_by
    _save(job, status=ImportStatus.VALIDATING, started_at=timezone.now(), progress=1)
    try:
        with job.file.open("rb") as handle:
            cells = read_cells(handle, format_of(job.original_name))
        rows = parse(kind, cells)
        _save(job, total_rows=len(rows), processed_rows=0, progress=20)
        payload = kind.validate(rows, user=user)
        _save(job, status=ImportStatus.APPLYING, processed_rows=len(rows), progress=60)
        total = max(len(rows), 1)

        def progress(done: int, of: int) -> None:
            # Inside the apply transaction this is only seen at commit; the status
            # APPLYING (committed above) is what the console shows meanwhile.
            job.progress = 60 + int(39 * done / max(of, 1))

        with transaction.atomic():
            result = kind.apply(payload, user=user, progress=progress)
        _save(
            job,
            status=ImportStatus.SUCCEEDED,
            progress=100,
            processed_rows=total if rows else 0,
            summary=result.as_dict(),
            errors=[],
            finished_at=timezone.now(),
        )
    except RowErrors as exc:
        _save(
            job,
            status=ImportStatus.FAILED,
            errors=[e.as_dict() for e in exc.errors[:1000]],
            summary={"error_count": len(exc.errors)},
            finished_at=timezone.now(),
            progress=100,
        )
    except DomainError as exc:
        _save(
            job,
            status=ImportStatus.FAILED,
            progress=100,
            finished_at=timezone.now(),
            errors=[RowError(1, exc.field, exc.code, exc.message).as_dict()],
            summary={"error_count": 1},
        )
    return job


def job_status(job: ImportJob) -> dict[str, Any]:
    """What the console's progress bar polls."""
    return {
        "id": job.pk,
        "kind": job.kind,
        "file": job.original_name,
        "status": job.status,
        "status_label": str(job.get_status_display()),
        "progress": job.progress,
        "total_rows": job.total_rows,
        "processed_rows": job.processed_rows,
        "finished": job.is_finished,
        "summary": job.summary,
        "errors": job.errors[:200],
        "error_count": len(job.errors),
    }


def export(kind_key: str, fmt: str, *, user) -> bytes:
    """Every row of ``kind`` ``user`` may see, in the import columns."""
    kind = kind_or_error(kind_key)
    if fmt not in ("xlsx", "csv"):
        raise DomainError(_("Export as xlsx or csv."), field="format", code="INVALID_FORMAT")
    return write(kind, kind.export_rows(user=user), fmt)
