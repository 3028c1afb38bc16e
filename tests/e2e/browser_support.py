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
