"""What the GraphQL layer costs per request, against a plain JSON view.

``python -m bench graphql_overhead [--quick]``

Starts a real uvicorn server (``config.asgi:application``, one process, on a
free loopback port) against the bench database (``dinghuo_bench``, see
:mod:`bench._benchdb`) with one tenant, then measures requests per second of

* ``graphql``: ``{ __typename }`` POSTed to ``/graphql/`` on the tenant's host,
* ``plain``: the liveness view ``/health/live/`` on the same host,

with the same client, concurrency and duration, alternating the two over a few
rounds so both see the same machine load. Both pass through the same
middleware (the tenant lookup by host name included), so the difference is
the GraphQL view: authentication, parsing, validation, limits, execution.
The client is ``wrk`` when ``/usr/bin/wrk`` exists, else a Python client
(threads, one keep-alive ``http.client`` connection each); the JSON lines say
which. Every response is checked: a non-200 answer fails the run. The bench
tenant is dropped at the end.

Target: ``graphql_vs_plain_ratio`` >= 0.5.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time

from bench import _benchdb
from bench.common import emit, log, setup_django, start_uvicorn
from core.testing.net import free_port

BENCH = "graphql_overhead"
SUBDOMAIN = "bench-gql"
GRAPHQL_BODY = json.dumps({"query": "{ __typename }"}).encode()
WRK = "/usr/bin/wrk"


def _ensure_tenant() -> str:
    from tenants.models import Tenant
    from tenants.services import provision_tenant, schema_for_subdomain, tenant_host

    if not Tenant.objects.filter(schema_name=schema_for_subdomain(SUBDOMAIN)).exists():
        provision_tenant(name="Bench GraphQL", subdomain=SUBDOMAIN, status="active")
    return tenant_host(SUBDOMAIN)


def _request(port: int, host: str, path: str, body: bytes | None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Host": host}
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn.request("POST" if body is not None else "GET", path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _wait_ready(server: subprocess.Popen, port: int, host: str, deadline_s: float = 60) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {server.returncode}")
        try:
            if _request(port, host, "/health/live/", None)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("uvicorn did not answer within the deadline")


def _db_sessions(connection) -> int:
    """Sessions ever opened on the bench database (PostgreSQL's own counter)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


# --- clients -----------------------------------------------------------------


def _wrk(
    port: int,
    host: str,
    path: str,
    body: bytes | None,
    *,
    connections: int,
    threads: int,
    seconds: float,
) -> tuple[float, int]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        if body is not None:
            script.write(
                'wrk.method = "POST"\n'
                f"wrk.body = {json.dumps(body.decode())}\n"
                'wrk.headers["Content-Type"] = "application/json"\n'
            )
        script.write(f'wrk.headers["Host"] = "{host}"\n')
    try:
        out = subprocess.run(
            [
                WRK,
                "-t",
                str(threads),
                "-c",
                str(connections),
                "-d",
                f"{seconds:g}s",
                "-s",
                script.name,
                f"http://127.0.0.1:{port}{path}",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 30,
        ).stdout
    finally:
        os.unlink(script.name)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    if bad or errors:
        raise RuntimeError(f"{path}: failed requests during the run:\n{out}")
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), requests


def _python_client(
    port: int,
    host: str,
    path: str,
    body: bytes | None,
    *,
    connections: int,
    threads: int,
    seconds: float,
) -> tuple[float, int]:
    del threads  # one thread per connection
    method = "POST" if body is not None else "GET"
    headers = {"Host": host, "Connection": "keep-alive"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    counts = [0] * connections
    failures: list[str] = []
    start = threading.Barrier(connections + 1)
    stop_at: list[float] = []

    def run(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        start.wait()
        try:
            while time.monotonic() < stop_at[0]:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    failures.append(f"{path}: HTTP {response.status}")
                    return
                counts[i] += 1
        finally:
            conn.close()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(connections)]
    for w in workers:
        w.start()
    began = time.monotonic()
    stop_at.append(began + seconds)
    start.wait()
    for w in workers:
        w.join()
    elapsed = time.monotonic() - began
    if failures:
        raise RuntimeError(failures[0])
    return sum(counts) / elapsed, sum(counts)


# --- main --------------------------------------------------------------------


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench graphql_overhead")
    parser.add_argument("--quick", action="store_true", help="one round of 4 s per endpoint")
    parser.add_argument("--seconds", type=float, help="duration of one measurement (default 10)")
    parser.add_argument("--rounds", type=int, help="alternating rounds (default 3)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    args = parser.parse_args(argv)
    seconds = args.seconds or (4.0 if args.quick else 10.0)
    rounds = args.rounds or (1 if args.quick else 3)
    client_name = args.client
    if client_name == "auto":
        client_name = "wrk" if os.access(WRK, os.X_OK) else "python"
    if client_name == "wrk" and not shutil.which(WRK):
        raise SystemExit("wrk is not installed (apt-get install wrk), use --client python")
    client = _wrk if client_name == "wrk" else _python_client

    _benchdb.use_bench_database()
    setup_django()
    from django.db import connections

    log("bench graphql_overhead: preparing the bench database…")
    _benchdb.prepare()
    host = _ensure_tenant()
    connections.close_all()
    from django.db import connection

    port = free_port()
    server = start_uvicorn(port, workers=1)
    try:
        _wait_ready(server, port, host)
        status, body = _request(port, host, "/graphql/", GRAPHQL_BODY)
        if status != 200 or json.loads(body).get("data") != {"__typename": "Query"}:
            raise RuntimeError(f"/graphql/ answered {status}: {body[:300]!r}")
        status, body = _request(port, host, "/health/live/", None)
        if status != 200 or json.loads(body) != {"status": "ok"}:
            raise RuntimeError(f"/health/live/ answered {status}: {body[:300]!r}")

        options = {"connections": args.connections, "threads": 1 if client_name == "wrk" else 0}
        endpoints = {"graphql": ("/graphql/", GRAPHQL_BODY), "plain": ("/health/live/", None)}
        for path, payload in endpoints.values():  # warm-up: imports, connection, caches
            client(port, host, path, payload, seconds=1.0, **options)
        results: dict[str, list[float]] = {"graphql": [], "plain": []}
        sessions_before, requests = _db_sessions(connection), 0
        for r in range(rounds):
            order = ("plain", "graphql") if r % 2 == 0 else ("graphql", "plain")
            for name in order:
                path, payload = endpoints[name]
                rps, count = client(port, host, path, payload, seconds=seconds, **options)
                results[name].append(rps)
                requests += count
                log(f"  round {r + 1}/{rounds} {name}: {rps:.0f} req/s")
        new_sessions = _db_sessions(connection) - sessions_before
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        _benchdb.drop_tenants()  # the bench tenant; the next run clones it again

    graphql_rps = sum(results["graphql"]) / rounds
    plain_rps = sum(results["plain"]) / rounds
    extra = {
        "client": client_name,
        "connections": args.connections,
        "seconds": seconds,
        "rounds": rounds,
        "server": "uvicorn, 1 process",
        "quick": args.quick,
    }
    emit(BENCH, "graphql_rps", graphql_rps, "req/s", query="{ __typename }", **extra)
    emit(BENCH, "plain_rps", plain_rps, "req/s", view="/health/live/", **extra)
    # Not a target: shows whether the server reuses database connections
    # (about 1.0 means one new PostgreSQL session per request).
    emit(
        BENCH,
        "db_sessions_per_request",
        new_sessions / max(requests, 1),
        "ratio",
        requests=requests,
        **extra,
    )
    emit(
        BENCH,
        "graphql_vs_plain_ratio",
        graphql_rps / plain_rps,
        "ratio",
        baseline="plain_rps",
        target=">= 0.5",
        **extra,
    )
