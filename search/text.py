"""Text analysis done by the application, identical for every backend.

PostgreSQL's parser does not segment Chinese and an Elasticsearch server may
lack (or, for compatible servers, ignore) custom analysers, so Dinghuo analyses
text itself and hands both backends ready-made tokens:

* a run of CJK ideographs becomes its unigrams and bigrams (``维生素`` → 维 生 素
  维生 生素); a query run becomes its bigrams (or the single character), so a
  query matches wherever its characters appear next to each other;
* any other word (Latin letters, digits) becomes its prefixes up to
  :data:`MAX_PREFIX` characters, so ``vita`` finds ``Vitamin``;
* SKU codes and barcodes become prefix tokens marked with ``#`` so that a
  scanned or typed code prefix finds its product.

Text is NFKC-normalised (full-width ``ＶＣ１`` is ``vc1``) and lower-cased first.
Reserved syntax of either engine never reaches it: queries are lists of literal
tokens, never a query string.
"""

from __future__ import annotations

import html
import re
import unicodedata

MAX_PREFIX = 20
MIN_CODE_PREFIX = 2
MAX_CODE_LENGTH = 64
CODE_MARK = "#"

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
_RUN_RE = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+")
_CJK_RE = re.compile(rf"[{_CJK}]")
_CODE_RE = re.compile(r"^[0-9a-z][0-9a-z\-_./]*$")


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").lower()


def _runs(text: str) -> list[str]:
    return _RUN_RE.findall(normalise(text))


def _is_cjk(run: str) -> bool:
    return bool(_CJK_RE.match(run))


def document_words(text: str) -> list[str]:
    """The words of ``text`` in order of appearance (with repeats): CJK unigrams and
    bigrams, other words whole (their first :data:`MAX_PREFIX` characters).

    A query word matches a document word it is a prefix of (PostgreSQL stores
    these in its word dictionary and looks a query word up as a prefix there);
    :func:`expand_prefixes` turns them into the literal prefix tokens a
    whitespace-analysed Elasticsearch field needs.
    """
    tokens: list[str] = []
    for run in _runs(text):
        if _is_cjk(run):
            for i, ch in enumerate(run):
                tokens.append(ch)
                if i + 1 < len(run):
                    tokens.append(run[i : i + 2])
        else:
            tokens.append(run[:MAX_PREFIX])
    return tokens


def expand_prefixes(words: list[str]) -> list[str]:
    """Each non-CJK word of :func:`document_words` as all its prefixes (``vit`` → v vi vit)."""
    tokens: list[str] = []
    for word in words:
        if _is_cjk(word):
            tokens.append(word)
        else:
            tokens.extend(word[:n] for n in range(1, len(word) + 1))
    return tokens


def document_tokens(text: str) -> list[str]:
    """Index tokens of ``text`` in order of appearance (with repeats), prefixes expanded."""
    return expand_prefixes(document_words(text))


def is_prefix_token(token: str) -> bool:
    """Whether a query token matches as a word prefix (not a CJK n-gram)."""
    return not _is_cjk(token)


def query_tokens(text: str) -> list[str]:
    """The tokens a document must all hold to match ``text`` (deduplicated, in order)."""
    tokens: list[str] = []
    for run in _runs(text):
        if _is_cjk(run):
            grams = [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]
            tokens.extend(grams)
        else:
            tokens.append(run[:MAX_PREFIX])
    return list(dict.fromkeys(tokens))


def code_tokens(code: str) -> list[str]:
    """Prefix tokens of a SKU code or barcode (``#vc``, ``#vc-``, ``#vc-0`` …)."""
    value = normalise(code).strip()[:MAX_CODE_LENGTH]
    if len(value) < MIN_CODE_PREFIX:
        return []
    return [CODE_MARK + value[:n] for n in range(MIN_CODE_PREFIX, len(value) + 1)]


def query_code(text: str) -> str | None:
    """The code prefix a query may be (one word of code characters), else ``None``."""
    value = normalise(text).strip()
    if MIN_CODE_PREFIX <= len(value) <= MAX_CODE_LENGTH and _CODE_RE.match(value):
        return value
    return None


def highlight(text: str, query: str, *, pre: str = "<em>", post: str = "</em>") -> str | None:
    """``text`` HTML-escaped with the parts the query matched wrapped in ``pre``/``post``.

    ``None`` when nothing in ``text`` matched. Matching follows the analysis
    above: a CJK query run is found as a substring, a word as a word prefix.
    """
    if not text or not query:
        return None
    folded = normalise(text)
    if len(folded) != len(text):  # NFKC changed lengths: fall back to plain folding
        folded = text.lower()
        if len(folded) != len(text):
            return None
    marks = [False] * len(text)
    for run in _runs(query):
        if _is_cjk(run):
            start = folded.find(run)
            while start != -1:
                for i in range(start, start + len(run)):
                    marks[i] = True
                start = folded.find(run, start + 1)
        else:
            pattern = re.compile(rf"(?<![^\W_{_CJK}]){re.escape(run)}", re.UNICODE)
            for match in pattern.finditer(folded):
                for i in range(match.start(), match.end()):
                    marks[i] = True
    if not any(marks):
        return None
    out: list[str] = []
    inside = False
    for ch, marked in zip(text, marks, strict=True):
        if marked and not inside:
            out.append(pre)
            inside = True
        elif not marked and inside:
            out.append(post)
            inside = False
        out.append(html.escape(ch))
    if inside:
        out.append(post)
    return "".join(out)
