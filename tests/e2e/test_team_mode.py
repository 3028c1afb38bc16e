"""Team mode in real Chromium against a freshly started server (DOCRE_AUTH=on, its own SQLite file): every page
URL opened first, before anyone has loaded the root and without logging in, shows the login form and nothing of
the page; no name form ever appears, so typing a curator's name cannot act as that curator.

Run: pytest -m e2e tests/e2e/test_team_mode.py."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.browser_support import WAIT_MS, chromium, idle, team_store
from tests.server_support import app_server

pytestmark = pytest.mark.e2e
CURATOR, PASSWORD = "carol", "a long enough passphrase"
# url path -> the heading that page shows once it runs
PAGES = {"upload": "Upload documents", "document": "Document", "compare": "Compare models", "review": "Review",
         "evaluate": "Evaluate", "export": "Export"}


@pytest.fixture(scope="module")
def team_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A new server process on a new database holding one curator account; nobody has opened it yet."""
    from db import store
    from tests.db_support import tiny_document

    tmp = tmp_path_factory.mktemp("team")
    with team_store(tmp, {CURATOR: "curator"}, PASSWORD) as (url, s):
        dataset = store.create_dataset(s, "secret dataset")
        store.add_documents(s, dataset.id, [tiny_document()])
    with app_server(url, tmp, team_mode=True) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with chromium() as browser:
        yield browser


def _shows_only_the_login(page, heading: str) -> None:
    # the login form's button (the form's last element), or (the bug) the page's own heading, whichever comes
    heading_shown = page.get_by_role("heading", name=heading, exact=True)
    page.get_by_role("button", name="Log in").or_(heading_shown).first.wait_for()
    idle(page)
    # on a loaded machine the form can still be drawing when the button shows: wait for its field (a page
    # without the login times out here, so this still fails on the bug)
    page.get_by_role("textbox", name="Password").wait_for(timeout=30_000)
    assert page.get_by_role("button", name="Log in").count() == 1
    assert page.get_by_role("dialog").count() == 0  # no "page not found" over the form
    assert page.get_by_role("textbox", name="Password").count() == 1
    assert page.get_by_role("textbox", name="Your name").count() == 0  # no local-mode name form
    assert page.get_by_role("button", name="Start annotating").count() == 0
    for heading in PAGES.values():
        assert page.get_by_role("heading", name=heading, exact=True).count() == 0, heading
    assert page.get_by_test_id("stSidebarNav").count() == 0
    body = page.get_by_test_id("stMain").inner_text()
    assert "secret dataset" not in body and "Ann Lee" not in body


def test_every_page_url_opened_first_shows_only_the_login(team_server: str, browser) -> None:
    for path in PAGES:  # each in a new browser session; the first of them is the server's very first visitor
        context = browser.new_context(viewport={"width": 1300, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.goto(f"{team_server}/{path}")
        _shows_only_the_login(page, PAGES[path])
        context.close()


def test_login_then_pages_open(team_server: str, browser) -> None:
    """The same server still lets an account in: the form above is the real gate, not a broken page."""
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{team_server}/review")
    page.get_by_role("textbox", name="User name").fill(CURATOR)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text(f"Annotating as {CURATOR}").first.wait_for()
    page.get_by_test_id("stSidebarNav").first.wait_for()
    page.get_by_role("heading", name="Review", exact=True).first.wait_for()  # the page the link asked for
    context.close()
