"""Count the SQL statements a block of code runs, so an N+1 fails loudly."""

from __future__ import annotations

from contextlib import contextmanager

from django.db import connection
from django.test.utils import CaptureQueriesContext


class QueryCount:
    def __init__(self, context: CaptureQueriesContext):
        self._context = context

    @property
    def count(self) -> int:
        return len(self._context.captured_queries)

    @property
    def statements(self) -> list[str]:
        return [q["sql"] for q in self._context.captured_queries]

    def __str__(self) -> str:
        return f"{self.count} statements:\n" + "\n".join(
            f"  {i + 1}. {s}" for i, s in enumerate(self.statements)
        )


@contextmanager
def count_queries(max_count: int | None = None):
    """``with count_queries(max_count=6) as q: ...`` fails when more statements run.

    ``q.count`` and ``q.statements`` are there for benchmarks and messages.
    """
    context = CaptureQueriesContext(connection)
    with context:
        result = QueryCount(context)
        yield result
    if max_count is not None and result.count > max_count:
        raise AssertionError(f"Expected at most {max_count} SQL statements, ran {result}")
