"""Loaded by pytest before Django's settings (``-p core.testing.early_env``).

Each test run gets its own file-broker folder for Celery, so a worker started
by the tests never takes messages meant for ``make run``'s worker or for
another test run on the same machine.
"""

import os
import tempfile

os.environ.setdefault("CELERY_DIR", tempfile.mkdtemp(prefix="dinghuo-celery-"))
