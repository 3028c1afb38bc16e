"""What the browser tests share: where Chromium is, how it is launched, a store with team accounts, how to
wait for a script run, and how to log in."""
from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
WAIT_MS = 120_000  # a busy 2-core machine: model loading and reruns can take a while
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def require_browser() -> None:
    """Skip, naming the fix, where this machine has no Chromium or no Playwright."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    pytest.importorskip("playwright")


def launch_chromium(playwright: Any) -> Any:
    """The system Chromium, headless, with no network of its own beyond the app."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


@contextmanager
def chromium() -> Iterator[Any]:
    """One browser for a module's tests, closed (with Playwright) when they are done."""
    from playwright.sync_api import sync_playwright  # optional: require_browser() skips without it

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            yield browser
        except BaseException:
            save_failure_pages(browser)
            raise
        finally:
            browser.close()


def save_failure_pages(browser: Any) -> None:
    """Screenshot every open page of a failed test (into $E2E_ARTIFACTS, else the temp folder) before the browser
    closes, and print where: a flake seen once in CI can then be read instead of guessed."""
    test = os.environ.get("PYTEST_CURRENT_TEST", "e2e").split(" ")[0]
    folder = Path(os.environ.get("E2E_ARTIFACTS") or tempfile.gettempdir()) / "e2e-failures"
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", test)
    for c, context in enumerate(browser.contexts):
        for n, page in enumerate(context.pages):
            shot = folder / f"{stem}-{c}-{n}.png"
            try:
                page.screenshot(path=str(shot), full_page=True)
                (shot.with_suffix(".txt")).write_text(f"{page.url}\n\n{page.inner_text('body')}", encoding="utf-8")
            except Exception as error:  # noqa: BLE001 - a page that cannot be captured must not hide the failure
                print(f"e2e failure page {shot.name} not captured: {error}")
            else:
                print(f"e2e failure page saved: {shot}")


@contextmanager
def team_store(tmp: Path, people: Mapping[str, str], password: str) -> Iterator[tuple[str, Any]]:
    """For a team-mode browser test: skip without a browser, else a new SQLite store at tmp/team.sqlite holding
    these accounts (name -> role, one password for all). Yields the store's URL and an open session for the
    test's own data (committed on exit); the engine is disposed before the server process opens the file."""
    require_browser()
    from db import accounts  # noqa: PLC0415 - the store only once the test is known to run
    from db.store.session import init_db, make_engine, session_factory, session_scope  # noqa: PLC0415

    url = f"sqlite:///{tmp / 'team.sqlite'}"
    engine = make_engine(url)
    try:
        init_db(engine)
        with session_scope(session_factory(engine)) as s:
            for name, role in people.items():
                accounts.create_user(s, name, role, password)
            yield url, s
    finally:
        engine.dispose()


def idle(page: Any) -> None:
    """Wait until the script run finishes (Streamlit's running indicator is gone), so input is not lost."""
    page.wait_for_timeout(500)
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden")


def new_page(browser: Any, width: int = 1400, height: int = 1400, **options: Any) -> Any:
    """A page in its own browser context (its own session and cookies), so several people can be logged in."""
    context = browser.new_context(viewport={"width": width, "height": height}, **options)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    return page


def log_in(page: Any, base_url: str, path: str, name: str, password: str) -> None:
    """Open `path` in team mode and log in through the form the server shows first."""
    page.goto(f"{base_url}/{path}")
    page.get_by_role("textbox", name="User name").fill(name)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text(f"Annotating as {name}").first.wait_for()
    idle(page)
