"""The whole flow in real Chromium: upload DocRED JSON, open a document, click a matrix cell and see the
pair's logits, accept a suggestion with the keyboard, undo it, accept another, export, and find the
accepted triple (with its provenance) in the downloaded file. Run: pytest -m e2e tests/e2e."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.app_support import docred_bytes, small_labelled
from tests.e2e.browser_support import WAIT_MS, idle

pytestmark = pytest.mark.e2e


_idle = idle


def _nav(page, name: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=name).click()
    page.get_by_role("heading", name=name if name != "Upload" else "Upload documents").first.wait_for()
    _idle(page)


def _press(page, key: str) -> None:
    """A shortcut key with the focus on the page, not in an input."""
    _idle(page)
    page.get_by_role("heading", name="Review").click()
    page.keyboard.press(key)


def _suggestion(db: Path, suggestion_id: int):
    from db import store
    from db.store.session import make_engine, session_factory, session_scope

    engine = make_engine(f"sqlite:///{db}")
    try:
        with session_scope(session_factory(engine)) as s:
            return store.get_suggestion(s, suggestion_id)
    finally:
        engine.dispose()


def _latest(db: Path, annotator: str):
    """The annotator's newest accept (a pair decision also rejects the pair's relations it did not take)."""
    from db import store
    from db.store.session import make_engine, session_factory, session_scope

    engine = make_engine(f"sqlite:///{db}")
    try:
        with session_scope(session_factory(engine)) as s:
            return next(r for r in store.review_history(s, annotator, limit=20) if r.decision == "accept")
    finally:
        engine.dispose()


def test_full_flow(server: dict, browser_page, redocred_docs) -> None:
    page = browser_page
    upload = server["tmp"] / "upload.json"
    docs = small_labelled(list(redocred_docs), 2)
    upload.write_bytes(docred_bytes(docs))

    # Upload: a DocRED JSON file, stored and scored
    page.goto(server["url"])
    page.get_by_role("heading", name="Upload documents").first.wait_for()
    _idle(page)
    page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(str(upload))
    page.get_by_text("valid document(s)").first.wait_for()
    _idle(page)
    page.get_by_role("button", name="Store 2 document(s) and score").click()
    page.get_by_text("in the review queue").first.wait_for()

    # Document: click a matrix cell, the pair opens with its logits against the threshold
    _nav(page, "Document")
    matrix = page.locator(".js-plotly-plot").first
    matrix.wait_for()
    _idle(page)
    doc = docs[0]
    n, (h, t) = doc.num_entities, (2, 0)
    area = matrix.locator(".nsewdrag").first.bounding_box()
    page.mouse.click(area["x"] + (t + 0.5) * area["width"] / n, area["y"] + (h + 0.5) * area["height"] / n)
    heading = page.get_by_test_id("stMarkdownContainer").filter(has_text="→").filter(
        has_text=doc.entities[h].name).filter(has_text=doc.entities[t].name)
    heading.first.wait_for()
    page.get_by_text(re.compile(r"threshold -?\d")).first.wait_for()  # the dashed threshold line's label
    assert page.locator(".js-plotly-plot").count() >= 2

    # Review: name once, accept with A, undo with U, next with N, accept another with A
    _nav(page, "Review")
    main = page.get_by_test_id("stMain")
    main.get_by_role("textbox", name="Your name").fill("e2e annotator")
    main.get_by_role("button", name="Start annotating").click()
    page.get_by_text("Suggested relations").first.wait_for()
    # a reload keeps the name (local mode: it rides in the URL)
    page.reload()
    page.get_by_text("Suggested relations").first.wait_for()
    page.get_by_text("Annotating as").first.wait_for()
    _press(page, "a")
    page.get_by_text(re.compile("^Accepted: ")).first.wait_for()  # the pair and document, no internal id
    first = _latest(server["db"], "e2e annotator").suggestion_id
    _press(page, "u")
    page.get_by_text(re.compile("^Undid your accept of ")).first.wait_for()
    _press(page, "n")
    # while Streamlit reruns, the stale and the new copy of the caption can both be on the page: wait
    # until none is left rather than for one element to detach (strict mode refuses two)
    from playwright.sync_api import expect  # optional: the module skips without playwright

    expect(page.get_by_text("brought back by undo")).to_have_count(0, timeout=WAIT_MS)
    _press(page, "a")
    page.get_by_text(re.compile("^Accepted: ")).first.wait_for()
    second = _latest(server["db"], "e2e annotator").suggestion_id
    assert second != first
    assert _suggestion(server["db"], first).state == "pending"
    accepted = _suggestion(server["db"], second)
    assert accepted.state == "accepted"

    # Export: the accepted triple is in the downloaded DocRED JSON, with provenance; the undone one is not
    _nav(page, "Export")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download DocRED JSON").click()
    exported = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    added = [(d["title"], label) for d in exported for label in d["labels"] if "provenance" in label]
    assert [(title, lab["h"], lab["t"], lab["r"]) for title, lab in added] == [
        (accepted.document_title, accepted.h, accepted.t, accepted.relation)]
    provenance = added[0][1]["provenance"]
    assert provenance["suggestion_id"] == second and provenance["annotator"] == "e2e annotator"
    assert all(lab["provenance"]["suggestion_id"] != first for _, lab in added)
