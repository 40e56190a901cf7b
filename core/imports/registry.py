"""The import kinds the platform knows, by key."""

from __future__ import annotations

from .spec import ImportKind

_kinds: dict[str, ImportKind] = {}


def register(kind: ImportKind) -> ImportKind:
    if not kind.key:
        raise ValueError("An import kind needs a key")
    _kinds[kind.key] = kind
    return kind


def get_kind(key: str) -> ImportKind | None:
    return _kinds.get(key)


def kinds() -> list[ImportKind]:
    return sorted(_kinds.values(), key=lambda k: k.key)
