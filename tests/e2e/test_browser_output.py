"""What a browser user may see, in real Chromium: no traceback or server path when a script fails (the shipped
.streamlit/config.toml, read from the project root as `streamlit run` does there), and names and titles that
look like URLs or e-mail addresses shown as text, never as live links. Run: pytest -m e2e tests/e2e."""
from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.browser_support import CHROMIUM, WAIT_MS, idle, launch_chromium
from tests.server_support import ROOT, free_port, running_server

pytestmark = pytest.mark.e2e
RAISES = ROOT / "tests" / "e2e" / "apps" / "raises.py"
URL_TITLE = "https://evil.example/login?next=1"
URL_HEAD, URL_TAIL = "www.evil.example", "admin@evil.example"


@pytest.fixture(scope="module")
def browser() -> Iterator:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = launch_chromium(p)
        yield browser
        browser.close()


def _new_page(browser):
    page = browser.new_context(viewport={"width": 1400, "height": 1400}).new_page()
    page.set_default_timeout(WAIT_MS)
    return page


def _env(tmp: Path) -> dict[str, str]:
    env = {**os.environ, "DOCRE_DATABASE_URL": f"sqlite:///{tmp / 'app.sqlite'}", "DOCRE_DATA_DIR": str(tmp),
           "HF_HUB_OFFLINE": "1"}
    env.pop("DOCRE_AUTH", None)
    return env


def test_a_failing_script_shows_no_details_and_logs_them(browser, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "server.log"
    argv = [sys.executable, "-m", "streamlit", "run", str(RAISES), "--server.port", str(port)]
    with running_server(argv, _env(tmp_path), log, port) as url:
        page = _new_page(browser)
        page.goto(url)
        page.get_by_role("heading", name="About to fail").first.wait_for()
        page.get_by_test_id("stException").first.wait_for()
        idle(page)
        shown = page.get_by_test_id("stMain").inner_text()
        assert "error" in shown.lower()  # a generic message says something went wrong ...
        assert str(RAISES) not in shown and "RuntimeError" not in shown and "Traceback" not in shown  # ... no more
        assert str(ROOT) not in page.content()
        page.context.close()
    logged = re.sub(r"\x1b\[[0-9;]*m", "", log.read_text())  # rich colours the traceback
    assert "RuntimeError" in logged and f"cannot read {RAISES}" in logged  # the details are in the server's log


# a suggestion's whole evidence, as scoring writes it (the Review page reads every field)
EVIDENCE = {"models": {"x": {"margin": 1.0, "probability": 0.9}}, "agreeing_models": 1, "sentences": [0],
            "type_fit": True, "rules": []}


def _seed_url_names(db_url: str) -> None:
    """A document whose title is a URL and whose entities are a www. address and an e-mail, with a suggestion."""
    from db import store
    from db.store.session import init_db, make_engine, session_factory, session_scope
    from engine.data.documents import Document, Entity, Mention

    doc = Document(URL_TITLE, (("Visit", URL_HEAD, "or", "write", "to", URL_TAIL, "."),),
                   (Entity((Mention(URL_HEAD, 0, 1, 2, "ORG"),)), Entity((Mention(URL_TAIL, 0, 5, 6, "MISC"),))), ())
    engine = make_engine(db_url)
    init_db(engine)
    with session_scope(session_factory(engine)) as s:
        dataset = store.create_dataset(s, "links")
        (doc_id,) = store.add_documents(s, dataset.id, [doc]).added
        run_id = store.record_run(s, dataset.id, checkpoint="runs/x", method="atlop.v1", version="0", seconds=1.0)
        store.add_suggestions(s, dataset.id, [{"doc_id": doc_id, "h_idx": 0, "t_idx": 1, "relation": "P17",
                                               "score": 0.9, "evidence": EVIDENCE}], run_ids=[run_id])
        # the one suggestion is in the queue, not the tail
        store.set_review_settings(s, dataset.id, min_probability=0.0)
    engine.dispose()


def _no_live_links(page) -> str:
    """The main area's text (word joiners dropped), after checking no link points at the names."""
    main = page.get_by_test_id("stMain")
    links = main.locator("a[href*='evil.example']")
    assert links.count() == 0, [links.nth(i).evaluate("e => e.parentElement.outerHTML") for i in range(links.count())]
    assert main.get_by_test_id("stMarkdownContainer").locator("a:not([href^='#'])").count() == 0  # heading anchors only
    return main.inner_text().replace("\u2060", "")


def test_url_like_names_and_titles_render_as_text(browser, tmp_path: Path) -> None:
    env = _env(tmp_path)
    _seed_url_names(env["DOCRE_DATABASE_URL"])
    port = free_port()
    argv = [sys.executable, "-m", "streamlit", "run", "app/server.py", "--server.port", str(port)]
    with running_server(argv, env, tmp_path / "server.log", port) as url:
        page = _new_page(browser)
        page.goto(f"{url}/document")
        page.get_by_role("heading", name="Document", exact=True).first.wait_for()
        page.get_by_text("→").first.wait_for()
        idle(page)
        shown = _no_live_links(page)
        assert URL_TITLE in shown and URL_HEAD in shown and URL_TAIL in shown

        page.goto(f"{url}/review")
        main = page.get_by_test_id("stMain")
        main.get_by_role("textbox", name="Your name").fill("linda")
        main.get_by_role("button", name="Start annotating").click()
        page.get_by_text("Suggested relations").first.wait_for()
        idle(page)
        shown = _no_live_links(page)
        assert f"{URL_HEAD} → {URL_TAIL}" in shown and URL_TITLE in shown
        page.context.close()
