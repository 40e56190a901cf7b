"""Run a benchmark: ``python -m bench NAME [--quick] [options]``.

Each benchmark is a module ``bench/NAME.py`` with ``main(argv: list[str]) -> None``
that prints one JSON object per figure (see :func:`bench.common.emit`).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    here = Path(__file__).parent
    return sorted(
        m.name
        for m in pkgutil.iter_modules([str(here)])
        if not m.name.startswith("_") and m.name != "common"
    )


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(
            "usage: python -m bench NAME [--quick] [options]\nbenchmarks: " + ", ".join(available())
        )
        sys.exit(0 if len(sys.argv) >= 2 else 2)
    name = sys.argv[1]
    if name not in available():
        print(f"unknown benchmark {name!r}; choose from: {', '.join(available())}", file=sys.stderr)
        sys.exit(2)
    module = importlib.import_module(f"bench.{name}")
    module.main(sys.argv[2:])


if __name__ == "__main__":
    main()
