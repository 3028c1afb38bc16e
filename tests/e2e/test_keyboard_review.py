"""Issue 25's keyboard-complete review in real Chromium (local mode): the "?" key shows the keys and Escape hides
them; digits mark relations and A accepts the marked one; E opens the relation picker, typing filters it, Enter
confirms and the next A accepts the correction (the key is a shortcut again, not text in the picker); after a
change in the sidebar the next key works without a click in the main area; X rejects, S skips, U undoes, N moves
on. No mouse touches the main area. The stored decisions are read back from the store.

Run: pytest -m e2e tests/e2e/test_keyboard_review.py."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.browser_support import chromium, idle, new_page, team_store
from tests.server_support import app_server

pytestmark = pytest.mark.e2e
NAME = "kim"
# (head, tail, relation, score) on tiny_document (Ann Lee, Paris, France), best first: four pairs, the first
# with two relations
SUGGESTIONS = [(0, 2, "P27", 0.95), (0, 2, "P19", 0.9), (0, 1, "P551", 0.8), (2, 1, "P150", 0.7),
               (1, 0, "P1376", 0.6)]
CORRECTION = "located in the administrative territorial entity (P131)"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    from db import store
    from tests.db_support import model_evidence, tiny_document

    tmp = tmp_path_factory.mktemp("keyboard")
    with team_store(tmp, {}, "") as (url, s):
        dataset = store.create_dataset(s, "keys")
        (doc_id,) = store.add_documents(s, dataset.id, [tiny_document()]).added
        run_id = store.record_run(s, dataset.id, checkpoint="runs/atlop", method="atlop.v1", version="0.1.0",
                                  seconds=1.0)
        ids = store.add_suggestions(s, dataset.id, [
            {"doc_id": doc_id, "h_idx": h, "t_idx": t, "relation": r, "score": p, "evidence": model_evidence(p)}
            for h, t, r, p in SUGGESTIONS], run_ids=[run_id])
    with app_server(url, tmp, team_mode=False) as base:
        yield {"url": base, "db": tmp / "team.sqlite", "ids": dict(zip((r for _, _, r, _ in SUGGESTIONS), ids))}


def _decisions(db: Path) -> dict[int, tuple[str, str | None]]:
    """Each suggestion's current decision by NAME: (decision, relation accepted)."""
    from db import store
    from db.store.session import make_engine, session_factory, session_scope

    engine = make_engine(f"sqlite:///{db}")
    try:
        with session_scope(session_factory(engine)) as s:
            out = {}
            for record in reversed(store.review_history(s, NAME, limit=50)):
                if record.decision == "undo":
                    out = {k: v for k, v in out.items() if v[2] != record.undoes_id}
                else:
                    out[record.suggestion_id] = (record.decision, record.relation, record.id)
            return {k: v[:2] for k, v in out.items()}
    finally:
        engine.dispose()


def _key(page, key: str) -> None:
    idle(page)
    page.keyboard.press(key)


def _on(page, heading: str) -> None:
    page.get_by_role("heading", name=heading).first.wait_for()
    idle(page)


def test_the_whole_review_with_the_keyboard(server: dict) -> None:
    with chromium() as browser:
        page = new_page(browser)
        page.goto(f"{server['url']}/review?annotator={NAME}")
        _on(page, "Ann Lee → France")
        ids = server["ids"]

        _key(page, "?")  # the key help, and Escape closes it
        overlay = page.locator("#docre-keys")
        overlay.get_by_text("Keyboard shortcuts").wait_for()
        assert "open the relation picker" in overlay.inner_text()
        _key(page, "Escape")
        overlay.wait_for(state="hidden")

        _key(page, "2")  # mark the second relation (P19), accept it; the first (P27) is rejected
        page.get_by_text("2 · place of birth (P19)").filter(has_text="✓").first.wait_for()
        _key(page, "a")
        _on(page, "Ann Lee → Paris")
        assert _decisions(server["db"]) == {ids["P19"]: ("accept", None), ids["P27"]: ("reject", None)}

        _key(page, "e")  # a correction: the picker opens, typing filters, Enter confirms, A accepts it
        picker = page.get_by_role("combobox", name="Relation the text states instead (a correction)")
        assert picker.evaluate("el => el === document.activeElement")
        page.keyboard.type(CORRECTION)
        _key(page, "Enter")
        idle(page)
        assert not picker.evaluate("el => el === document.activeElement")  # focus is back on the item
        _key(page, "a")  # a shortcut, not an "a" typed into the picker
        _on(page, "France → Paris")
        assert _decisions(server["db"])[ids["P551"]] == ("accept", "P131")

        # a change in the sidebar (by mouse: the sidebar is not the review), then keys work with no click
        from playwright.sync_api import expect  # optional: the module skips without playwright

        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_text("Blind mode").click()  # blind from here on: X, S, U and N work the same
        expect(sidebar.get_by_role("switch", name="Blind mode")).to_be_checked()
        idle(page)
        _on(page, "France → Paris")
        _key(page, "x")  # reject every relation of the pair
        _on(page, "Paris → Ann Lee")
        _key(page, "s")  # skip
        page.get_by_text("Nothing to review here").first.wait_for()
        _key(page, "u")  # undo the skip: the pair comes back
        _on(page, "Paris → Ann Lee")
        _key(page, "n")  # leave it for later

    assert _decisions(server["db"]) == {ids["P19"]: ("accept", None), ids["P27"]: ("reject", None),
                                        ids["P551"]: ("accept", "P131"), ids["P150"]: ("reject", None)}
