"""Part numbers as people type them: ``04465-33450``, ``0446533450`` and ``04465 33450``
are one number. Every stored number keeps its normalised form (indexed) next to
what was typed, and every look-up normalises its input the same way."""

from __future__ import annotations

import re
import unicodedata

# Spaces, dashes (ASCII and typographic), dots and slashes.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212./\\]+")


def normalise_number(value: str) -> str:
    """Upper-case, full-width characters folded (NFKC), separators removed."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", value or "")).upper()


def normalise_name(value: str) -> str:
    """A brand or make as typed, with its outer and repeated spaces removed."""
    return " ".join(unicodedata.normalize("NFKC", value or "").split())
