"""What the browser tests share: where Chromium is, how it is launched, and how to wait for a script run."""
from __future__ import annotations

from typing import Any

CHROMIUM = "/usr/bin/chromium"
WAIT_MS = 120_000  # a busy 2-core machine: model loading and reruns can take a while
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def launch_chromium(playwright: Any) -> Any:
    """The system Chromium, headless, with no network of its own beyond the app."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def idle(page: Any) -> None:
    """Wait until the script run finishes (Streamlit's running indicator is gone), so input is not lost."""
    page.wait_for_timeout(500)
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden")


def new_page(browser: Any, **options: Any) -> Any:
    """A page in its own browser context (its own session and cookies), so several people can be logged in."""
    context = browser.new_context(viewport={"width": 1400, "height": 1400}, **options)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    return page


def log_in(page: Any, base_url: str, path: str, name: str, password: str) -> None:
    """Open `path` in team mode and log in through the form the server shows first."""
    page.goto(f"{base_url}/{path}")
    page.get_by_role("textbox", name="User name").fill(name)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text(f"Annotating as {name}").wait_for()
    idle(page)
