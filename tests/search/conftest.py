"""Search test fixtures: an Elasticsearch endpoint (a real one from ELASTICSEARCH_URL,
else noida-db started on loopback) and the backends under test."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest
from django.db import connection


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="session")
def elasticsearch_url():
    """An Elasticsearch-compatible endpoint for the whole run."""
    url = os.environ.get("ELASTICSEARCH_URL")
    if url:
        yield url
        return
    binary = shutil.which("noida-db") or os.path.join(
        os.path.dirname(os.sys.executable), "noida-db"
    )
    if not os.path.exists(binary):
        pytest.skip(
            "noida-db is not installed (pip install -e .[test]) and ELASTICSEARCH_URL is unset"
        )
    port = _free_port()
    data = tempfile.mkdtemp(prefix="dinghuo-es-")
    proc = subprocess.Popen(
        [
            binary,
            "start",
            "--data-dir",
            data,
            "--host",
            "127.0.0.1",
            "--only",
            "elasticsearch",
            "--elasticsearch-port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # Its own process group: the ``noida-db`` script runs the server as a child,
        # which a signal to the script alone would leave running after the tests.
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not _answers(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_process_group(proc)
            raise RuntimeError("noida-db did not start")
        time.sleep(0.05)
    yield url
    stop_process_group(proc)
    shutil.rmtree(data, ignore_errors=True)


def stop_process_group(proc: subprocess.Popen) -> None:
    """Stop ``proc`` and its children (started with ``start_new_session=True``)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def es_backend(url: str):
    from search.backends.elasticsearch import ElasticsearchBackend

    return ElasticsearchBackend(url=url, prefix=f"test-{connection.settings_dict['NAME']}".lower())


@pytest.fixture(params=["postgres", "elasticsearch"])
def search_backend(request, tenant_db):
    """Each backend in turn, with the tenant's index emptied before and after."""
    if request.param == "postgres":
        from search.backends.postgres import PostgresBackend

        backend = PostgresBackend()
    else:
        backend = es_backend(request.getfixturevalue("elasticsearch_url"))
    backend.drop()
    yield backend
    connection.set_tenant(tenant_db)
    backend.drop()
