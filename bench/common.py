"""Helpers shared by the benchmarks."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django() -> None:
    """Configure Django for a benchmark process (the same settings as ``make run``)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def emit(bench: str, metric: str, value: float, unit: str, **extra) -> None:
    """Print one figure as a JSON line, as CONVENTIONS.md asks."""
    record = {
        "bench": bench,
        "metric": metric,
        "value": round(float(value), 4),
        "unit": unit,
        **extra,
    }
    print(json.dumps(record, ensure_ascii=False), flush=True)


def percentile(values: list[float], pct: float) -> float:
    """The ``pct`` percentile (0-100) by linear interpolation."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    ordered = sorted(values)
    k = (len(ordered) - 1) * pct / 100
    lower = int(k)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (k - lower)


def summary(values: list[float]) -> dict:
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "mean": statistics.fmean(values) if values else float("nan"),
    }


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_average() -> float:
    """The 1-minute load average, reported with each figure (the cores are shared)."""
    return round(os.getloadavg()[0], 2)


def start_uvicorn(port: int, workers: int = 1) -> subprocess.Popen:
    """``config.asgi:application`` under uvicorn on loopback ``port`` (DEBUG off, quiet logs)."""
    env = {**os.environ, "DEBUG": "0", "GRAPHIQL": "0", "LOG_LEVEL": "WARNING"}
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "config.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    return subprocess.Popen(cmd, cwd=ROOT, env=env)
