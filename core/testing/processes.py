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
