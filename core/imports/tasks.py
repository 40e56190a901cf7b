from celery import shared_task


@shared_task(name="imports.run")
def run_import_task(job_id: int) -> str:
    """Run an import job in the tenant schema it was queued from; returns its status."""
    from .services import run_import

    return run_import(job_id).status
