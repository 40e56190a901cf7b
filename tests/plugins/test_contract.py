"""The contract is documented, and every hook is tested (datasette's two rules)."""

import ast
import inspect
from pathlib import Path

import pytest

from plugins import hookspecs

ROOT = Path(__file__).resolve().parents[2]
HOOKS = sorted(
    name
    for name, obj in vars(hookspecs).items()
    if callable(obj) and hasattr(obj, f"{hookspecs.PROJECT_NAME}_spec")
)


def test_the_contract_has_the_hooks_the_issue_asks_for():
    assert {
        "django_apps",
        "graphql_query",
        "graphql_mutation",
        "validate_order_lines",
        "expand_order_lines",
        "choose_allocation",
        "adjust_line_price",
        "search_document_fields",
        "search_filters",
        "order_event",
        "admin_urls",
        "dealer_urls",
        "plugin_settings",
    } <= set(HOOKS)
    firstresult = {n for n in HOOKS if getattr(hookspecs, n).dinghuo_spec["firstresult"]}
    assert firstresult == {"choose_allocation"}


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented(hook):
    func = getattr(hookspecs, hook)
    doc = inspect.getdoc(func) or ""
    for part in ("Called:", "Arguments:", "Returns:"):
        assert part in doc, f"the docstring of {hook} lacks its {part!r} part"
    for argument in inspect.signature(func).parameters:
        assert f"``{argument}``" in doc, f"the docstring of {hook} does not describe {argument!r}"
    readme = (ROOT / "plugins" / "README.md").read_text()
    assert f"`{hook}`" in readme, f"plugins/README.md does not describe {hook}"


def _test_function_names() -> set[str]:
    names = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names.add(node.name)
    return names


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_test(hook):
    names = _test_function_names()
    assert any(n == f"test_hook_{hook}" or n.startswith(f"test_hook_{hook}__") for n in names), (
        f"no test named test_hook_{hook} (or test_hook_{hook}__<what>) under tests/"
    )
