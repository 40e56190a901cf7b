"""An Elasticsearch-compatible server on loopback for tests and benchmarks.

:func:`elasticsearch_endpoint` yields ``ELASTICSEARCH_URL`` when it is set (a
real server), and otherwise starts ``noida-db`` (the ``noida-db==0.2.2`` test
dependency) on a free loopback port with a temporary data folder, waits until
it answers, and stops it afterwards. The ``noida-db`` script runs the server
as a child process, so it is started in its own process group and the whole
group is stopped: signalling the script alone left one server running per run.
A run killed before it stops the server leaves none either
(:func:`core.testing.processes.stop_with_this_process`).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from core.testing.net import free_port
from core.testing.processes import stop_with_this_process


class NoServer(RuntimeError):
    """noida-db is not installed, or did not start."""


def noida_binary() -> str | None:
    """The ``noida-db`` script of this environment, or None."""
    found = shutil.which("noida-db") or os.path.join(os.path.dirname(sys.executable), "noida-db")
    return found if os.path.exists(found) else None


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


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


@contextmanager
def elasticsearch_endpoint(*, startup_seconds: float = 30) -> Iterator[tuple[str, bool]]:
    """``(url, local)``: ``ELASTICSEARCH_URL`` (``local`` False) or a noida-db started
    for the block (``local`` True). Raises :class:`NoServer` when neither is possible."""
    url = os.environ.get("ELASTICSEARCH_URL")
    if url:
        yield url, False
        return
    binary = noida_binary()
    if binary is None:
        raise NoServer(
            "noida-db is not installed (pip install -e .[test]) and ELASTICSEARCH_URL is unset"
        )
    port = free_port()
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
        start_new_session=True,
    )
    stop_with_this_process(proc)  # a killed run stops it too
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_seconds
        while not _answers(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise NoServer("noida-db did not start")
            time.sleep(0.05)
        yield url, True
    finally:
        stop_process_group(proc)
        shutil.rmtree(data, ignore_errors=True)
