"""End to end in a real browser: Chromium (Debian's) drives the example app served by uvicorn."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from live_server import ROOT, live_server
from required import missing

CHROMIUM = os.environ.get("ANCHOR_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _require_browser() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    absent = sync_playwright is None or shutil.which(CHROMIUM) is None
    if absent:
        missing("a browser", f"the playwright package and Chromium at {CHROMIUM}")
    return sync_playwright


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_playwright = _require_browser()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with live_server("examples.app:app") as url:
        yield url


def log_in(
    page: Any,
    base_url: str,
    user: str = "alice",
    password: str = "wonderland",
    *,
    remember: bool = True,
) -> None:
    page.goto(f"{base_url}/")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.set_checked("input[name=remember]", remember)
    page.click("button[type=submit]")
    page.wait_for_selector("#greeting")


def status_of(page: Any, url: str) -> int:
    response = page.goto(url)
    assert response is not None
    return int(response.status)


def test_login_cookie_hidden_from_scripts_logout_and_replay(browser: Any, base_url: str) -> None:
    context = browser.new_context()
    page = context.new_page()
    try:
        log_in(page, base_url)
        assert "Logged in as alice" in page.inner_text("#greeting")
        ARTIFACTS.mkdir(exist_ok=True)
        page.wait_for_selector("#devices li.current")
        page.screenshot(path=str(ARTIFACTS / "browser-logged-in.png"), full_page=True)

        [cookie] = [c for c in context.cookies() if c["name"] == "session"]
        assert cookie["httpOnly"] is True
        assert cookie["secure"] is True
        assert cookie["sameSite"] == "Lax"
        assert "session=" not in page.evaluate("document.cookie")

        assert status_of(page, f"{base_url}/me") == 200
        assert '"user_id":"alice"' in page.content()

        page.goto(f"{base_url}/")
        page.click("#logout")
        page.wait_for_selector("form[action='/login']")
        assert [c for c in context.cookies() if c["name"] == "session"] == []

        context.add_cookies([{**cookie}])  # an attacker replays the stolen, logged-out cookie
        assert status_of(page, f"{base_url}/me") == 401
    finally:
        context.close()


def test_log_out_everywhere_ends_the_other_browser(browser: Any, base_url: str) -> None:
    laptop, phone = browser.new_context(), browser.new_context()
    try:
        laptop_page, phone_page = laptop.new_page(), phone.new_page()
        log_in(laptop_page, base_url)
        log_in(phone_page, base_url)
        assert status_of(phone_page, f"{base_url}/me") == 200

        laptop_page.goto(f"{base_url}/")
        laptop_page.click("#logout-everywhere")
        laptop_page.wait_for_selector("form[action='/login']")

        assert status_of(phone_page, f"{base_url}/me") == 401
        phone_page.goto(f"{base_url}/")
        assert phone_page.locator("form[action='/login']").count() == 1
    finally:
        laptop.close()
        phone.close()


def test_devices_page_ends_the_other_browser_session(browser: Any, base_url: str) -> None:
    laptop = browser.new_context(user_agent="Laptop-Browser/1.0")
    phone = browser.new_context(user_agent="Phone-Browser/2.0")
    try:
        laptop_page, phone_page = laptop.new_page(), phone.new_page()
        log_in(phone_page, base_url)
        log_in(laptop_page, base_url)
        laptop_page.wait_for_selector("#devices li.other")
        other = laptop_page.locator("#devices li.other")
        assert other.count() == 1
        assert "Phone-Browser/2.0 from 127.0.0.1" in other.inner_text()
        assert "Laptop-Browser/1.0" in laptop_page.inner_text("#devices li.current")
        ARTIFACTS.mkdir(exist_ok=True)
        laptop_page.screenshot(path=str(ARTIFACTS / "browser-devices.png"), full_page=True)

        with laptop_page.expect_navigation():
            other.locator("button").click()
        laptop_page.wait_for_selector("#devices li.current")
        assert laptop_page.locator("#devices li.other").count() == 0

        assert status_of(phone_page, f"{base_url}/me") == 401
        assert status_of(laptop_page, f"{base_url}/me") == 200
    finally:
        laptop.close()
        phone.close()


def test_remember_me_off_gives_a_browser_session_cookie(browser: Any, base_url: str) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        log_in(page, base_url, remember=False)
        [cookie] = [c for c in context.cookies() if c["name"] == "session"]
        assert cookie["expires"] == -1  # Chromium's mark of a session cookie
        page.goto(f"{base_url}/")
        page.click("#logout")
        page.wait_for_selector("form[action='/login']")
        log_in(page, base_url, remember=True)
        [cookie] = [c for c in context.cookies() if c["name"] == "session"]
        assert cookie["expires"] > 0
    finally:
        context.close()


def test_changing_the_password_asks_for_it_again(browser: Any) -> None:
    with live_server("examples.app:app", env={"ANCHOR_EXAMPLE_REAUTH_SECONDS": "1"}) as url:
        laptop, phone = browser.new_context(), browser.new_context()
        try:
            page, phone_page = laptop.new_page(), phone.new_page()
            log_in(phone_page, url)
            log_in(page, url)
            page.wait_for_timeout(1500)  # the login is now older than the app allows
            page.fill("input[name=new_password]", "looking-glass")
            page.click("#change-password button")
            page.wait_for_selector("#confirm:not([hidden])")
            page.fill("#confirm input[name=password]", "wonderland")
            page.click("#confirm button")
            page.wait_for_function(
                "document.getElementById('password-status').textContent.includes('changed')"
            )
            assert "1 other session(s) ended" in page.inner_text("#password-status")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "browser-password.png"), full_page=True)
            assert status_of(phone_page, f"{url}/me") == 401
            assert status_of(page, f"{url}/me") == 200
        finally:
            laptop.close()
            phone.close()


def test_logout_in_another_tab_closes_the_live_socket(browser: Any, base_url: str) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        log_in(page, base_url)
        page.wait_for_function("document.getElementById('live-status').textContent === 'connected'")
        page.click("#ping")
        page.wait_for_function(
            "document.getElementById('live-status').textContent.includes('1 message')"
        )
        assert "connected as alice" in page.inner_text("#live-status")

        other_tab = context.new_page()
        other_tab.goto(f"{base_url}/")
        other_tab.click("#logout")
        other_tab.wait_for_selector("form[action='/login']")

        page.wait_for_function(
            "document.getElementById('live-status').textContent.startsWith('closed')"
        )
        assert page.inner_text("#live-status") == "closed: Logged out (1008)"
    finally:
        context.close()


def test_a_cross_site_page_cannot_open_the_socket(browser: Any, base_url: str) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        log_in(page, base_url)  # the cookie is set, and sent to this host on every port
        socket_url = base_url.replace("http://", "ws://") + "/live"
        probe = """url => new Promise(done => {
            const socket = new WebSocket(url);
            socket.onopen = () => { socket.close(); done("opened"); };
            socket.onclose = event => done(`closed ${event.code}`);
        })"""
        assert page.evaluate(probe, socket_url) == "opened"  # from the app's own page
        with live_server("examples.app:app") as other_site:
            evil = context.new_page()
            evil.goto(f"{other_site}/")  # another origin (another port), same site
            assert evil.evaluate(probe, socket_url).startswith("closed")
    finally:
        context.close()
