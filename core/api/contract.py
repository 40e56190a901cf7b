"""The GraphQL contract: the printed schema and the check for breaking changes."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from graphql import build_schema, find_breaking_changes, print_schema

SCHEMA_PATH = Path(settings.BASE_DIR) / "graphql" / "schema.graphql"
OPERATIONS_DIR = Path(settings.BASE_DIR) / "graphql" / "operations"
# Breaking changes made on purpose, one description per line, with the reason in a comment.
ALLOWED_BREAKING_PATH = Path(settings.BASE_DIR) / "graphql" / "allowed-breaking-changes.txt"


def current_sdl() -> str:
    from config.schema import schema

    return print_schema(schema.graphql_schema).rstrip() + "\n"


def breaking_changes(old_sdl: str, new_sdl: str) -> list[str]:
    """Descriptions of the changes from ``old_sdl`` to ``new_sdl`` that break clients."""
    changes = find_breaking_changes(build_schema(old_sdl), build_schema(new_sdl))
    return [f"{c.type.name}: {c.description}" for c in changes]


def allowed_breaking_changes() -> set[str]:
    if not ALLOWED_BREAKING_PATH.exists():
        return set()
    return {
        line.strip()
        for line in ALLOWED_BREAKING_PATH.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    }
