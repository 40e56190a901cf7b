"""deploy/ stays in step with the code: no Docker here, so the files are read as text.

compose.yaml is parsed with a few regular expressions rather than a YAML
library (not a dependency of the project); the layout they expect is the one
the file documents: the application's variables in the ``x-app-env`` block,
two-space indented services.
"""

import re
from pathlib import Path

from django.core.management import get_commands
from django.urls import resolve

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
# Variables read by third-party programs rather than by our code.
READ_ELSEWHERE = {"WEB_CONCURRENCY"}  # uvicorn's --workers default (run_platform reads it too)
ENV_READ = re.compile(
    r"""(?:\benv|\benv_bool|os\.environ\.get|os\.environ\.setdefault|os\.getenv)\(\s*["']([A-Z][A-Z0-9_]*)["']"""
    r"""|os\.environ\[["']([A-Z][A-Z0-9_]*)["']\]"""
)


def _variables_the_code_reads() -> set[str]:
    names: set[str] = set()
    for package in ("config", "tenants", "core", "plugins", "search"):
        for path in (ROOT / package).rglob("*.py"):
            for match in ENV_READ.finditer(path.read_text(encoding="utf-8")):
                names.add(match.group(1) or match.group(2))
    return names


def _block(text: str, header: str) -> list[str]:
    """The indented lines under a top-level key such as ``services:``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    block = []
    for line in lines[start + 1 :]:
        if line and not line.startswith((" ", "#")):
            break
        block.append(line)
    return block


def _compose() -> str:
    return (DEPLOY / "compose.yaml").read_text(encoding="utf-8")


def _services(text: str) -> dict[str, str]:
    services: dict[str, list[str]] = {}
    current = None
    for line in _block(text, "services:"):
        match = re.match(r"^  ([a-z][a-z0-9_-]*):\s*$", line)
        if match:
            current = match.group(1)
            services[current] = []
        elif current:
            services[current].append(line)
    return {name: "\n".join(body) for name, body in services.items()}


def test_compose_gives_the_application_only_variables_the_code_reads():
    text = _compose()
    app_env = {
        m.group(1)
        for line in _block(text, "x-app-env:")
        if (m := re.match(r"^  ([A-Z][A-Z0-9_]*):", line))
    }
    web_env = set(re.findall(r"^      ([A-Z][A-Z0-9_]*):", _services(text)["web"], re.M))
    assert {
        "DATABASE_URL",
        "SECRET_KEY",
        "CELERY_BROKER_URL",
        "REDIS_URL",
        "SEARCH_BACKEND",
        "ELASTICSEARCH_URL",
        "BASE_DOMAIN",
        "ALLOWED_HOSTS",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
    } <= app_env
    unknown = (app_env | web_env) - _variables_the_code_reads() - READ_ELSEWHERE
    assert not unknown, f"compose.yaml sets variables nothing reads: {sorted(unknown)}"
    # And env.example only names variables compose.yaml uses.
    example = set(
        re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", (DEPLOY / "env.example").read_text(), re.M)
    )
    referenced = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))
    assert example <= referenced, sorted(example - referenced)


def test_compose_runs_every_process_of_the_platform():
    text = _compose()
    services = _services(text)
    assert {"postgres", "redis", "elasticsearch", "migrate", "web", "worker", "beat"} <= set(
        services
    )
    assert '"celery", "-A", "config", "worker"' in services["worker"]
    assert '"celery", "-A", "config", "beat"' in services["beat"]
    assert "deploy/migrate.sh" in services["migrate"]
    # web, worker and beat start after the migration job has succeeded.
    assert "migrate:\n      condition: service_completed_successfully" in "\n".join(
        _block(text, "x-app:")
    )
    for name in ("web", "worker", "beat", "migrate"):
        assert "<<: *app" in services[name]
    assert "depends_on:" in services["migrate"]  # its own: not on itself
    assert "/health/" in services["web"]
    assert "single-node" in services["elasticsearch"]
    assert 'xpack.security.enabled: "false"' in services["elasticsearch"]
    assert "-Xmx" in services["elasticsearch"]


def test_migration_job_uses_commands_that_exist():
    script = (DEPLOY / "migrate.sh").read_text()
    commands = get_commands()
    used = re.findall(r"manage\.py (\w+)", script)
    assert used == ["migrate_schemas", "createcachetable", "shell", "migrate_tenants"]
    assert all(name in commands for name in used)
    assert "--shared" in script and "ensure_public_tenant()" in script


def test_dockerfile_builds_a_non_root_uvicorn_image():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.M)
    user = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert user and user[-1] not in {"root", "0"}
    assert "pip install" in dockerfile and "pyproject.toml" in dockerfile
    assert "collectstatic --noinput" in dockerfile
    assert "uvicorn config.asgi:application" in dockerfile


def test_health_paths_used_by_the_healthchecks_are_routed():
    for urlconf in ("config.urls_public", "config.urls_tenant"):
        assert resolve("/health/", urlconf=urlconf).url_name == "health"
        assert resolve("/health/live/", urlconf=urlconf).url_name == "live"


def test_pgbouncer_pools_sessions_never_transactions():
    ini = (DEPLOY / "pgbouncer.ini").read_text()
    modes = re.findall(r"^\s*pool_mode\s*=\s*(\w+)", ini, re.M)
    assert modes == ["session"]
    assert "search_path" in ini  # the reason is written down next to the setting
