"""The team flow in real Chromium (DOCRE_AUTH=on): a curator splits the queue between two annotators with overlap
2 (issue 25: each item to both, an agreement study), each in their own browser session finds the same item in
their own share, reviews it blind without switching anything on (blind by default for annotators), they decide
it differently (accept vs reject) and see nothing of the other's decision, the curator resolves the conflict,
and the export holds the resolved triple.

Run: pytest -m e2e tests/e2e/test_team_flow.py."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.browser_support import chromium, idle, log_in, new_page, team_store
from tests.server_support import app_server

pytestmark = pytest.mark.e2e
PASSWORD = "a long enough passphrase"
CURATOR, ANN, BOB = "carol", "ann", "bob"
# the suggestion both annotators decide: Ann Lee -country of citizenship-> France (no gold label on that pair)
H, T, RELATION = 0, 2, "P27"


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A server on a new database: three accounts, one dataset with one document and one suggestion."""
    from db import store
    from tests.db_support import tiny_document

    tmp = tmp_path_factory.mktemp("team-flow")
    with team_store(tmp, {CURATOR: "curator", ANN: "annotator", BOB: "annotator"}, PASSWORD) as (url, s):
        dataset = store.create_dataset(s, "team flow")
        (doc_id,) = store.add_documents(s, dataset.id, [tiny_document()]).added
        run_id = store.record_run(s, dataset.id, checkpoint="runs/atlop", method="atlop.v1", version="0.1.0",
                                  seconds=1.0)
        store.add_suggestions(s, dataset.id, [{"doc_id": doc_id, "h_idx": H, "t_idx": T, "relation": RELATION,
                                               "score": 0.987, "evidence": {"sentences": [0]}},
                                              {"doc_id": doc_id, "h_idx": T, "t_idx": H, "relation": "P1376",
                                               "score": 0.5, "evidence": {"sentences": [0]}}], run_ids=[run_id])
    with app_server(url, tmp, team_mode=True) as base:
        yield {"url": base}


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with chromium() as browser:
        yield browser


def _blind_review(page) -> None:
    """Nothing switched: blind mode is on (and locked: overlap 2) and the item is in the annotator's own share."""
    blind = page.get_by_test_id("stSidebar").get_by_role("switch", name="Blind mode")
    assert blind.is_checked() and blind.is_disabled()
    assert page.get_by_test_id("stSidebar").get_by_role("checkbox", name="Only my share").is_checked()
    page.get_by_text("Ann Lee → France").first.wait_for()


def _open(page, name: str) -> None:
    """Go to a page through the sidebar: the same session (a new URL or a reload would need a new login)."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=name).click()
    page.get_by_role("heading", name=name, exact=True).first.wait_for()
    idle(page)


def _rerun(page) -> None:
    """Run the Review page again, to see what others changed meanwhile."""
    _open(page, "Review")
    page.get_by_role("heading", name="Your recent decisions").first.wait_for()
    idle(page)


def _shows_nothing_of_others(page, other: str) -> None:
    body = page.get_by_test_id("stMain").inner_text()
    for hidden in ("Suggested relations", "score", "0.987", "state accepted", "state conflict", "conflict",
                   "Also decided by",
                   other, "KMGRE key mention pairs", "accepted by review"):
        assert hidden not in body, hidden


def test_two_annotators_conflict_and_the_curator_resolves_it(team: dict, browser) -> None:
    curator = new_page(browser, accept_downloads=True)
    log_in(curator, team["url"], "assign", CURATOR, PASSWORD)
    curator.get_by_role("heading", name="Assign", exact=True).first.wait_for()
    main = curator.get_by_test_id("stMain")
    for name in (ANN, BOB):
        main.get_by_role("combobox").first.click()
        curator.get_by_role("option", name=name, exact=True).click()
        idle(curator)
    curator.keyboard.press("Escape")
    overlap = main.get_by_role("spinbutton", name="Annotators per item (overlap)")
    overlap.fill("2")
    overlap.press("Enter")
    idle(curator)
    main.get_by_role("button", name="Split the queue").click()
    curator.get_by_text("Queue split: ann 2, bob 2").first.wait_for()  # both suggestions to both annotators

    ann, bob = new_page(browser), new_page(browser)
    for page, name in ((ann, ANN), (bob, BOB)):
        log_in(page, team["url"], "review", name, PASSWORD)
        _blind_review(page)

    # ann accepts (choosing the relation herself: blind mode proposes none)
    ann.get_by_role("combobox", name="Relation", exact=True).click()
    ann.get_by_role("option", name=f"({RELATION})").first.click()
    idle(ann)
    ann.get_by_role("button", name="Accept").click()
    ann.get_by_text("Accepted:").first.wait_for()
    _rerun(bob)
    _shows_nothing_of_others(bob, ANN)
    bob.get_by_role("button", name="Reject").click()
    bob.get_by_text("Rejected:").first.wait_for()
    _shows_nothing_of_others(bob, ANN)
    _rerun(ann)
    _shows_nothing_of_others(ann, BOB)

    # the curator sees the conflict and resolves it: accept
    _open(curator, "Adjudicate")
    curator.get_by_role("button", name="Resolve: accept").first.wait_for()
    idle(curator)
    assert "1 conflict(s) to resolve" in curator.get_by_test_id("stMain").inner_text()
    curator.get_by_role("button", name="Resolve: accept").click()
    curator.get_by_text("No conflicts").first.wait_for()

    _open(curator, "Export")
    with curator.expect_download() as download:
        curator.get_by_role("button", name="Download DocRED JSON").click()
    (exported,) = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    triples = {(lab["h"], lab["t"], lab["r"]) for lab in exported["labels"]}
    assert triples == {(1, 2, "P17"), (H, T, RELATION)}  # gold plus the resolved accept, nothing else
    added = next(lab for lab in exported["labels"] if "provenance" in lab)
    assert added["provenance"]["annotator"] == CURATOR

