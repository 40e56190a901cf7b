"""Servers a run starts do not outlive it, even when the run is killed
(core/testing/processes.py): the watcher stops their process group."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

# A "run": starts a long-lived server in its own group with a watcher, prints the
# server's pid, then waits to be killed (or stops the server itself with "stop").
RUN = """
import subprocess, sys, time
from core.testing.processes import stop_with_this_process
server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"],
                          start_new_session=True)
watcher = stop_with_this_process(server)
print(server.pid, watcher.pid, flush=True)
if sys.argv[1] == "stop":
    server.terminate(); server.wait()
    watcher.wait(timeout=10)
    print("watcher exited", flush=True)
else:
    time.sleep(300)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by its new parent) counts as gone
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(")")[-1].split()[0] != "Z"


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


def _start_run(mode: str):
    run = subprocess.Popen(
        [sys.executable, "-c", RUN, mode],
        stdout=subprocess.PIPE,
        text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
    )
    server, watcher = map(int, run.stdout.readline().split())
    return run, server, watcher


def test_a_killed_run_leaves_no_server_behind():
    run, server, watcher = _start_run("wait")
    try:
        assert _alive(server)
        run.kill()  # no teardown runs: as a CI timeout or kill -9 would
        run.wait()
        assert _wait_gone(server, 10), "the server outlived the killed run"
        assert _wait_gone(watcher, 10)
    finally:
        for pid in (server, watcher):
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_the_watcher_leaves_by_itself_when_the_run_stops_its_server():
    run, server, watcher = _start_run("stop")
    assert run.stdout.readline().strip() == "watcher exited"
    assert run.wait(timeout=20) == 0
    assert not _alive(server) and not _alive(watcher)
