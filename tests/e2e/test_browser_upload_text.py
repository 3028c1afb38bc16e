"""Issue 16 in real Chromium: after storing a pasted text the Upload page stays on the Text tab (it used to
jump back to the DocRED JSON tab). Run: pytest -m e2e tests/e2e."""
from __future__ import annotations

import pytest

from tests.e2e.browser_support import idle

pytestmark = pytest.mark.e2e


def test_storing_text_stays_on_the_text_tab(server: dict, browser_page) -> None:
    pytest.importorskip("spacy")
    page = browser_page
    page.goto(server["url"])
    page.get_by_role("heading", name="Upload documents").first.wait_for()
    idle(page)
    page.get_by_role("tab", name="Text").click()
    idle(page)
    page.get_by_role("textbox", name="…or paste text").fill("Barack Obama was born in Hawaii. Obama lived in Chicago.")
    idle(page)
    page.get_by_role("button", name="Find entities").click()
    page.get_by_text("Entities found: fix them before scoring").first.wait_for()
    idle(page)
    page.get_by_role("button", name="Store and score").click()
    page.get_by_text("Stored 1 document(s)").first.wait_for()
    idle(page)
    assert page.get_by_role("tab", name="Text").get_attribute("aria-selected") == "true"
