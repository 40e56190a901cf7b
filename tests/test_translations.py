"""The interface ships in Simplified Chinese: every translation catalogue is
complete (no empty or fuzzy entry, placeholders kept), its compiled .mo is the
one committed, the catalogues cover every string marked in the source, and the
tenant console renders in Chinese for a zh-hans browser."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings

from core.accounts import services
from core.accounts.models import Role
from core.testing.factories import TEST_PASSWORD, ProductFactory

ROOT = Path(settings.BASE_DIR)
SKIP_DIRS = {".venv", "var", "node_modules", ".git", "tests", "bench"}
LANGUAGE = "zh_Hans"


def _locale_dirs() -> list[Path]:
    """LOCALE_PATHS and every app's or plugin's own ``locale`` folder in the repository."""
    found = {Path(p).resolve() for p in settings.LOCALE_PATHS}
    for dirpath, dirnames, _ in os.walk(ROOT):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".")]
        if "locale" in dirnames:
            found.add((Path(dirpath) / "locale").resolve())
            dirnames.remove("locale")
    return sorted(found)


def _catalogues() -> list[Path]:
    return [d / LANGUAGE / "LC_MESSAGES" / "django.po" for d in _locale_dirs()]


CATALOGUES = _catalogues()
PLACEHOLDER = re.compile(
    r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|%[-#0 +]*\d*(?:\.\d+)?[dsf]|\{\w*\}"
)


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_catalogues_are_found():
    names = {_rel(p) for p in CATALOGUES}
    assert "locale/zh_Hans/LC_MESSAGES/django.po" in names
    assert {
        f"plugins/{p}/locale/zh_Hans/LC_MESSAGES/django.po"
        for p in ("autoparts", "electronics", "food", "pharma")
    } <= names
    assert all(p.exists() for p in CATALOGUES), [_rel(p) for p in CATALOGUES if not p.exists()]


@pytest.mark.parametrize("po_path", CATALOGUES, ids=_rel)
def test_every_entry_is_translated_and_none_is_fuzzy(po_path):
    po = polib.pofile(str(po_path))
    untranslated = [e.msgid for e in po.untranslated_entries()]
    fuzzy = [e.msgid for e in po.fuzzy_entries()]
    assert not untranslated, (
        f"{len(untranslated)} untranslated in {_rel(po_path)}: {untranslated[:20]}"
    )
    assert not fuzzy, f"{len(fuzzy)} fuzzy in {_rel(po_path)}: {fuzzy[:20]}"
    assert po.metadata.get("Plural-Forms", "").startswith("nplurals=1;")


@pytest.mark.parametrize("po_path", CATALOGUES, ids=_rel)
def test_placeholders_are_kept(po_path):
    wrong = []
    for entry in polib.pofile(str(po_path)).translated_entries():
        sources = [entry.msgid, entry.msgid_plural] if entry.msgid_plural else [entry.msgid]
        targets = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        wanted = sorted(PLACEHOLDER.findall(sources[-1]))
        for target in targets:
            if sorted(PLACEHOLDER.findall(target)) != wanted:
                wrong.append((entry.msgid, target))
    assert not wrong, f"placeholders differ in {_rel(po_path)}: {wrong[:10]}"


def _table(entries) -> dict:
    return {
        (e.msgctxt, e.msgid): (
            tuple(v for _, v in sorted(e.msgstr_plural.items(), key=lambda kv: int(kv[0])))
            if e.msgid_plural
            else (e.msgstr,)
        )
        for e in entries
        if e.msgid
    }


@pytest.mark.parametrize("po_path", CATALOGUES, ids=_rel)
def test_the_committed_mo_is_compiled_from_the_po(po_path):
    """``compilemessages`` was run after the last translation."""
    mo_path = po_path.with_suffix(".mo")
    assert mo_path.exists(), f"{_rel(mo_path)} is missing: run manage.py compilemessages"
    compiled = _table(polib.mofile(str(mo_path)))
    source = _table(polib.pofile(str(po_path)).translated_entries())
    assert compiled == source, f"{_rel(mo_path)} is stale: run manage.py compilemessages"


def test_the_catalogues_cover_every_marked_string(tmp_path):
    """Regenerate the catalogues from a copy of the source (as ``makemessages``
    does in the repository) and find no new, untranslated string."""
    if not shutil.which("xgettext"):
        pytest.fail("gettext (xgettext, msgmerge) is needed to check the catalogues")
    copy = tmp_path / "src"
    ignore = shutil.ignore_patterns(*SKIP_DIRS, "__pycache__", "*.mo", "*.pyc")
    shutil.copytree(ROOT, copy, ignore=ignore)
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}  # no LOCALE_PATHS
    # The project's catalogue from the root, each app with its own locale from its folder.
    plugin_dirs = [p.parents[3] for p in CATALOGUES if p.parents[3] != ROOT]
    runs = [(copy, [f"--ignore={_rel(d)}/*" for d in plugin_dirs])]
    runs += [(copy / _rel(d), []) for d in plugin_dirs]
    for cwd, extra in runs:
        subprocess.run(
            [
                sys.executable,
                "-P",  # not the folder first on sys.path: a plugin's selectors.py is not the stdlib's
                "-m",
                "django",
                "makemessages",
                "-l",
                LANGUAGE,
                "--no-obsolete",
                *extra,
            ],
            cwd=cwd,
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )
    missing = {}
    for po_path in CATALOGUES:
        regenerated = polib.pofile(str(copy / _rel(po_path)))
        new = [e.msgid for e in regenerated.untranslated_entries() + regenerated.fuzzy_entries()]
        if new:
            missing[_rel(po_path)] = new
    assert not missing, (
        f"strings not translated yet (run makemessages, translate, compilemessages): {missing}"
    )


@pytest.fixture
def zh_console(tenant_db, tenant_client):
    user = services.create_user(username="staff-zh", password=TEST_PASSWORD, role=Role.STAFF)
    tenant_client.force_login(user)
    return tenant_client


def test_the_console_renders_in_chinese_for_a_zh_hans_browser(zh_console):
    product = ProductFactory(name="Widget")
    index = zh_console.get("/admin/", HTTP_ACCEPT_LANGUAGE="zh-hans,zh;q=0.9,en;q=0.5")
    assert index.status_code == 200
    page = index.content.decode()
    for label in (
        "商品目录",
        "经销商",
        "价格表",
        "促销",
        "返利方案",
        "信用账户",
        "仓库",
        "订单",
        "报价单",
    ):
        assert label in page, label
    assert "Catalogue" not in page and "Price lists" not in page
    change = zh_console.get(
        f"/admin/catalog/product/{product.pk}/change/", HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    text = change.content.decode()
    for label in ("商品编码", "分类", "品牌", "税率", "最小起订量（基本单位）", "保存"):
        assert label in text, label


def test_the_same_console_in_english_for_an_english_browser(zh_console):
    page = zh_console.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Catalogue" in page and "商品目录" not in page
