"""The signup flow end to end in a real headless Chromium (Playwright), served
by a real uvicorn process on the test database: desktop and phone, a good
signup landing in the tenant console, each bad input shown beside its field
with nothing created."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from core.testing.net import free_port
from core.testing.pytest_plugin import database_url_for_subprocess
from tenants.models import Tenant
from tests.tenants.signup_support import GOOD_PASSWORD, drop_tenants, require_test_database

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed: browser tests skipped"
    ),
]


@pytest.mark.django_db
def test_plans_are_migrated():
    """Also makes pytest-django create the test database for this module: it
    sets up databases only for runs with at least one django_db test."""
    from tenants.models import Plan

    assert set(Plan.objects.values_list("code", flat=True)) >= {"trial", "basic", "pro"}


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, tenant, other_tenant):
    """uvicorn serving the app on the test database, trial-only (no Stripe keys)."""
    import httpx

    require_test_database()
    with django_db_blocker.unblock():
        database_url = database_url_for_subprocess()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_DIR": str(settings.CELERY_DIR),
        "STRIPE_SECRET_KEY": "",
        "STRIPE_WEBHOOK_SECRET": "",
        "DEBUG": "0",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=str(settings.BASE_DIR),
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/live/", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.1)
    yield f"http://localhost:{port}", port
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # the ORM beside Playwright's sync loop
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def made(committed_db):
    schemas: list[str] = []
    yield schemas
    drop_tenants(*schemas)


DESKTOP = {"viewport": {"width": 1280, "height": 800}, "locale": "en-US"}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
}


def fill_good(page, subdomain: str, email: str) -> None:
    page.fill("#id_company_name", "Browser Brand 浏览器")
    page.fill("#id_subdomain", subdomain)
    page.fill("#id_admin_name", "Han Meimei")
    page.fill("#id_email", email)
    page.fill("#id_password", GOOD_PASSWORD)
    page.check("input[name=modules][value=autoparts]")
    page.check("#id_terms")


def signup_and_land(page, base: str, port: int, subdomain: str) -> None:
    held = []
    page.route("**/signup/", lambda route: held.append(route))
    page.click("#signup-submit")
    page.wait_for_selector("#progress:not([hidden])")
    assert page.is_disabled("#signup-submit")
    assert page.inner_text("#progress-text").strip()
    deadline = time.monotonic() + 10
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(20)
    assert held, "the signup request was not sent"
    held[0].continue_()
    page.unroute("**/signup/")
    page.wait_for_url(f"http://{subdomain}.localhost:{port}/admin/", timeout=30000)


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_good_signup_lands_in_the_tenant_console(server, browser, made, device):
    base, port = server
    subdomain = f"web-{device}"
    made.append(subdomain.replace("-", "_"))
    context = browser.new_context(**(DESKTOP if device == "desktop" else PHONE))
    page = context.new_page()
    page.goto(base + "/")
    if device == "phone":
        assert page.get_attribute("html", "lang") == "zh-hans"
        assert "免费试用" in page.content()
        width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], "the page scrolls sideways on a phone"
    fill_good(page, subdomain, f"han@{device}.test")
    # As-you-type check confirms the free name.
    page.wait_for_selector("[data-field=subdomain].valid")
    signup_and_land(page, base, port, subdomain)
    assert page.locator("#console-billing").count() == 1  # the tenant console's index
    assert page.locator("#user-tools").inner_text()
    tenant = Tenant.objects.get(schema_name=subdomain.replace("-", "_"))
    assert tenant.modules == ["autoparts"]
    # The session is on the tenant host: the billing page opens without logging in.
    page.goto(f"http://{subdomain}.localhost:{port}/billing/")
    assert page.locator("#current-plan").inner_text() in ("Free trial", "免费试用")
    context.close()


BAD = [
    ("#id_subdomain", "www", "subdomain", "This name is reserved."),
    ("#id_subdomain", "alpha", "subdomain", "This name is already taken."),
    ("#id_subdomain", "A_b", "subdomain", "Use 3 to 32 lowercase letters"),
    ("#id_email", "nobody@", "email", "Enter a valid email address"),
    ("#id_password", "12345678", "password", "This password is entirely numeric."),
    ("#id_company_name", "", "company_name", "Enter your company name."),
]


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_each_bad_input_shows_its_message_and_creates_nothing(server, browser, made, device):
    base, _port = server
    options = {**(DESKTOP if device == "desktop" else PHONE), "locale": "en-US"}
    context = browser.new_context(**options)
    page = context.new_page()
    page.goto(base + "/")
    before = Tenant.objects.count()
    for selector, value, field, message in BAD:
        fill_good(page, "bad-input", "han@bad.test")
        page.fill(selector, value)
        page.locator(selector).blur()
        page.wait_for_function(
            "([id, text]) => document.getElementById(id).textContent.includes(text)",
            arg=[f"error-{field}", message],
        )
        # submitting shows the same message beside the field, and makes nothing
        page.click("#signup-submit")
        page.wait_for_function("() => document.getElementById('progress').hidden")
        assert message in page.inner_text(f"#error-{field}")
        assert page.get_attribute(f"[data-field={field}]", "class").find("invalid") >= 0
        assert Tenant.objects.count() == before
    # Modules beyond the plan, and the terms left unticked.
    fill_good(page, "bad-input", "han@bad.test")
    page.check("input[name=modules][value=food]")
    page.uncheck("#id_terms")
    page.click("#signup-submit")
    page.wait_for_function("() => document.getElementById('error-terms').textContent.length > 0")
    assert "Accept the terms of service" in page.inner_text("#error-terms")
    assert "at most 1 industry modules" in page.inner_text("#error-modules")
    assert Tenant.objects.count() == before
    assert not Tenant.objects.filter(schema_name="bad_input").exists()
    context.close()


def test_language_switch(server, browser, committed_db):
    base, _port = server
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    page.goto(base + "/")
    assert "Create my site" in page.content()
    page.click("button[name=language][value=zh-hans]")
    page.wait_for_selector("html[lang=zh-hans]")
    assert "创建我的网站" in page.content()
    page.click("button[name=language][value=en]")
    page.wait_for_selector("html[lang=en]")
    context.close()
