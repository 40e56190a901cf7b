"""The Celery app, tenant-aware: a task runs in the schema of the tenant that sent it.

tenant-schemas-celery puts the sender's schema in the message headers and
switches the worker's connection to it before the task runs. Send tasks after
the transaction commits (``task.delay_on_commit(...)`` or
``transaction.on_commit``), so a worker never sees a row that was rolled back.
"""

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = CeleryApp("dinghuo")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _prepare_file_broker(sender, **kwargs):
    from django.conf import settings

    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            os.makedirs(options[key], exist_ok=True)
    backend = settings.CELERY_RESULT_BACKEND or ""
    if backend.startswith("file://"):
        os.makedirs(backend[len("file://") :], exist_ok=True)
