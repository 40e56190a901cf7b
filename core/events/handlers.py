"""Subscribers to outbox events, run by the worker for each delivered event.

``subscribe("order.*")`` registers a function ``handler(event_id, type, payload)``.
Handlers must be idempotent: an event can be delivered more than once.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable

Handler = Callable[[str, str, dict], None]
_handlers: list[tuple[str, Handler]] = []


def subscribe(pattern: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        _handlers.append((pattern, func))
        return func

    return register


def dispatch(event_id: str, type: str, payload: dict) -> None:
    for pattern, func in list(_handlers):
        if fnmatch.fnmatchcase(type, pattern):
            func(event_id, type, payload)
