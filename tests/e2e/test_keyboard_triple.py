"""Issue 25's free triple added by keyboard in real Chromium (local mode): on the Document page, after the page has
loaded, only keys: T goes to the "Add a relation" panel's head picker, typing filters and Enter picks the head
(a rerun draws the panel anew for the new pair, and focus stays in the field); Tab steps head, tail, relation,
evidence, note, Add relation, Shift+Tab back; Enter on Add relation stores the triple. The stored label is read
back from the store with who added it and its evidence; afterwards T, Escape and "?" still work (focus is not
stuck in a field or lost). No click, .focus() or .fill() touches the page.

Run: pytest -m e2e tests/e2e/test_keyboard_triple.py."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.components import keyboard
from app.panels import annotate
from app.state import Keys
from tests.e2e.browser_support import chromium, idle, new_page, require_browser
from tests.e2e.curie import curie_store
from tests.server_support import app_server

pytestmark = pytest.mark.e2e
NAME = "ann"
PANEL = f".st-key-{Keys.TRIPLE_PANEL}"
EXPECT_MS = 60_000  # a loaded 2-core machine: a list filters, a rerun lands, in seconds rather than at once
WARSAW, POLAND = 1, 2  # the triple added: Warsaw -country-> Poland, evidence [0] (named both) and [1] (marked)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The Curie document stored as an upload (no model run: the panel does not need one) and the annotator."""
    require_browser()
    tmp = tmp_path_factory.mktemp("keyboard-triple")
    with curie_store(tmp, NAME) as (url, _, _, doc_id):
        pass
    with app_server(url, tmp, team_mode=False) as base:
        yield {"url": base, "db": tmp / "app.sqlite", "doc": doc_id}


def _added(db: Path, doc_id: int, h: int, t: int) -> list[tuple[str, str, str, str | None, tuple[int, ...]]]:
    """The pair's labels added by review, read from the store: (relation, annotator, decision, how made, evidence)."""
    from db import store
    from db.store.session import make_engine, session_factory, session_scope

    engine = make_engine(f"sqlite:///{db}")
    try:
        with session_scope(session_factory(engine)) as s:
            out = []
            for relation, sid in store.pair_labels(s, doc_id, h, t).accepted:
                (record,) = store.review_history(s, suggestion_id=sid, limit=1)
                out.append((relation, record.annotator, record.decision, store.manual_kinds(s, [sid]).get(sid),
                            store.review_evidence(s, [record.id]).get(record.id, ())))
            return out
    finally:
        engine.dispose()


def _settled(page) -> None:
    """The script run is over and nothing on the page is greyed (stale): a field drawn anew is in place."""
    idle(page)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stMain\"] [data-stale=\"true\"]')")
    idle(page)


def _focus_on(page, field: str) -> None:
    """Wait until the keyboard focus is on the panel's current field with this label (a button: this text); a
    failure says where the focus is instead."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(
            """([panel, name]) => { const a = document.activeElement;
                 return !!a && !!a.closest(panel) && !a.closest('[data-stale="true"]')
                   && (a.getAttribute("aria-label") === name
                       || (a.tagName === "BUTTON" && a.innerText.trim() === name)); }""",
            arg=[PANEL, field], timeout=30_000)
    except PlaywrightTimeout:
        where = page.evaluate("""() => { const a = document.activeElement;
            return [a && a.tagName, a && (a.getAttribute("aria-label") || a.innerText.slice(0, 40)),
                    !!(a && a.closest('[data-stale="true"]')), document.querySelectorAll('[data-stale="true"]').length,
                    JSON.stringify(window.__docreLast && window.__docreLast.label)]; }""")
        raise AssertionError(f"focus is not on {field!r}: (element, label, stale, stale on the page, last field) "
                             f"= {where}") from None


def _pick(page, typed: str, option: re.Pattern) -> None:
    """In the focused list: type to filter, wait until the wanted option leads the list (Streamlit's filter is
    fuzzy: it keeps others below), Enter takes it."""
    from playwright.sync_api import expect  # optional: the module skips without playwright

    page.keyboard.type(typed)
    expect(page.get_by_role("option").first).to_have_text(option, timeout=EXPECT_MS)
    page.keyboard.press("Enter")


def test_a_free_triple_added_with_the_keyboard_alone(server: dict) -> None:
    from playwright.sync_api import expect  # optional: the module skips without playwright

    with chromium() as browser:
        page = new_page(browser, 1500, 1600)
        page.goto(f"{server['url']}/document?annotator={NAME}")
        panel = page.locator(PANEL)
        panel.get_by_role("heading", name="Add a relation").wait_for()
        pair = panel.get_by_test_id("stMarkdownContainer").filter(has_text="→").first
        expect(pair).to_have_text("0 · Marie Curie (PER) → 1 · Warsaw (LOC)", timeout=EXPECT_MS)
        _settled(page)
        page.locator("#docre-keys").wait_for(state="attached")  # the keys are in place (their frame loads on its own)
        assert "T add a relation · Tab next field of the panel" in page.get_by_test_id("stMain").inner_text()

        page.keyboard.press("?")  # this page's keys, and Escape closes them
        overlay = page.locator("#docre-keys")
        overlay.wait_for()
        expect(overlay).to_contain_text("the cursor goes to the Add a relation panel", timeout=EXPECT_MS)
        assert "relation picker" not in overlay.inner_text()  # not Review's keys
        page.keyboard.press("Escape")
        overlay.wait_for(state="hidden")

        page.keyboard.press(keyboard.TRIPLE_KEY)  # the head picker; Warsaw's mention is the head
        _focus_on(page, annotate.HEAD)
        _pick(page, "Warsaw", re.compile(r"^\[0\] Warsaw → entity 1 · Warsaw \(LOC\)"))
        expect(pair).to_have_text("1 · Warsaw (LOC) → 1 · Warsaw (LOC)", timeout=EXPECT_MS)
        _settled(page)
        _focus_on(page, annotate.HEAD)  # the picker was drawn anew for the new pair: focus is on the new one

        page.keyboard.press("Tab")  # the tail: Poland
        _focus_on(page, annotate.TAIL)
        _pick(page, "Poland", re.compile(r"^\[0\] Poland → entity 2 · Poland \(LOC\)"))
        expect(pair).to_have_text("1 · Warsaw (LOC) → 2 · Poland (LOC)", timeout=EXPECT_MS)
        _settled(page)
        _focus_on(page, annotate.TAIL)

        page.keyboard.press("Tab")  # the relation, typed to filter
        _focus_on(page, annotate.RELATION)
        _pick(page, "country (P17)", re.compile(r"^country \(P17\)"))
        expect(panel.get_by_role("combobox", name=annotate.RELATION)).to_have_value(re.compile(r"^country \(P17\)"),
                                                                                  timeout=EXPECT_MS)
        _settled(page)
        _focus_on(page, annotate.RELATION)

        page.keyboard.press("Tab")  # evidence: [0] names both (marked already), [1] is added
        _focus_on(page, annotate.EVIDENCE)
        _pick(page, "[1]", re.compile(r"^\[1\] Curie later moved to Paris"))
        expect(panel.get_by_test_id("stMultiSelect")).to_contain_text("[1] Curie later moved to Paris",
                                                                       timeout=EXPECT_MS)
        _settled(page)
        _focus_on(page, annotate.EVIDENCE)

        page.keyboard.press("Tab")  # the note, then the button: no help icon, tag or "Clear all" in between
        _focus_on(page, annotate.NOTE)
        page.keyboard.type("typed, not clicked")
        page.keyboard.press("Tab")
        _focus_on(page, annotate.ADD)
        _settled(page)  # leaving the note ran the page
        page.keyboard.press("Shift+Tab")  # and back
        _focus_on(page, annotate.NOTE)
        page.keyboard.press("Tab")
        _focus_on(page, annotate.ADD)
        assert _added(server["db"], server["doc"], WARSAW, POLAND) == []

        page.keyboard.press("Enter")  # Add relation
        panel.get_by_text(re.compile(r"Added: Warsaw → Poland, country \(P17\), evidence \[0\] \[1\] "
                                     rf"\(by {NAME} at ")).wait_for()
        assert _added(server["db"], server["doc"], WARSAW, POLAND) == [("P17", NAME, "accept", "free", (0, 1))]

        # focus after the add: the keys still work, and nothing is typed into a field
        _settled(page)
        page.keyboard.press("Escape")  # leave the button
        page.wait_for_function("() => document.activeElement === document.querySelector('[data-testid=\"stMain\"]')")
        page.keyboard.press("?")
        overlay.wait_for()
        page.keyboard.press("?")
        overlay.wait_for(state="hidden")
        page.keyboard.press(keyboard.TRIPLE_KEY)
        _focus_on(page, annotate.HEAD)
        page.keyboard.press("Escape")
        page.keyboard.press(keyboard.TRIPLE_KEY)  # a shortcut again, not a letter typed into the picker
        _focus_on(page, annotate.HEAD)
        assert panel.get_by_role("combobox", name=annotate.HEAD).input_value() == ""
    assert _added(server["db"], server["doc"], WARSAW, POLAND) == [("P17", NAME, "accept", "free", (0, 1))]
