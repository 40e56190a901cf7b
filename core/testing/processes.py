"""Servers that tests and benchmarks start (noida-db, a Celery worker) must not
outlive the run that started them.

A run stops its servers in its teardown, but a run that is killed (a CI timeout,
``kill``, a closed terminal) never gets there, and each such run left a noida-db
and a Celery worker behind, holding ports, files and database connections.
:func:`stop_with_this_process` starts a small watcher beside such a server: when
the run dies without stopping the server, the watcher (re-parented by the kernel)
notices and stops the server's whole process group, SIGTERM then SIGKILL.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

# Run by ``python -c``: argv = the run's pid, the server's process group.
_WATCHER = """
import os, signal, sys, time
run, group = int(sys.argv[1]), int(sys.argv[2])
while True:
    time.sleep(0.2)
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        sys.exit(0)  # stopped by the run, as it should be
    if os.getppid() != run:  # the run is gone and the server is not
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(group, sig)
            except ProcessLookupError:
                sys.exit(0)
            for _ in range(50):
                time.sleep(0.1)
                try:
                    os.killpg(group, 0)
                except ProcessLookupError:
                    sys.exit(0)
        sys.exit(0)
"""


def stop_with_this_process(proc: subprocess.Popen) -> subprocess.Popen:
    """Stop ``proc``'s process group when this process dies without stopping it.

    ``proc`` must lead its own process group (started with ``start_new_session=True``).
    Returns the watcher, which exits by itself once the group is gone."""
    return subprocess.Popen(
        [sys.executable, "-c", _WATCHER, str(os.getpid()), str(proc.pid)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # not in the terminal's group: Ctrl-C leaves it to act
    )


def start_celery_worker(env: dict, *, startup_seconds: float = 60, **popen) -> subprocess.Popen:
    """A real Celery worker process (solo pool) of this project with ``env``, in its own
    process group stopped with this process (:func:`stop_with_this_process`), once it
    answers a ping. ``popen``: more ``subprocess.Popen`` arguments (``stdout``)."""
    from django.conf import settings

    from tenants.tasks import ping

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        env=env,
        cwd=str(settings.BASE_DIR),
        start_new_session=True,  # its own group, stopped with this run even when killed
        **popen,
    )
    stop_with_this_process(proc)
    deadline = time.monotonic() + startup_seconds
    while True:
        try:
            ping.delay().get(timeout=5)
            return proc
        except Exception:  # noqa: BLE001 - not up yet
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("The Celery worker did not start") from None
