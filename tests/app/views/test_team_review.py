"""Team review on the Review and Assign pages (DOCRE_AUTH=on): annotators review blind by default and curators
see the models; a curator sets the dataset's overlap on Assign when splitting, so each item goes to k annotators;
an agreement study (overlap 2) keeps annotators blind."""
from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest

from app import services
from app.state import Keys
from db import store
from tests.app.page_support import MAIN, texts
from tests.app_support import FakeBrowser, team_store
from tests.db_support import model_evidence, tiny_document

PASSWORD = "a long enough passphrase"


@pytest.fixture
def team(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeBrowser:
    """Team mode on a store holding curator carol, annotators ann and bob, and one dataset with one suggestion."""
    browser = team_store(tmp_path, monkeypatch, [(name, role, PASSWORD) for name, role in
                                                 (("carol", "curator"), ("ann", "annotator"), ("bob", "annotator"))])
    with services.resources.session() as s:
        dataset = store.create_dataset(s, "team")
        (doc_id,) = store.add_documents(s, dataset.id, [tiny_document()]).added
        run_id = store.record_run(s, dataset.id, checkpoint="runs/atlop", method="atlop.v1", version="0.1.0",
                                  seconds=1.0)
        store.add_suggestions(s, dataset.id, [{"doc_id": doc_id, "h_idx": 0, "t_idx": 2, "relation": "P27",
                                               "score": 0.987, "evidence": model_evidence(0.987)}], run_ids=[run_id])
    return browser


def _page(browser: FakeBrowser, name: str, page: str) -> AppTest:
    browser.sign_in(name)
    at = AppTest.from_file(MAIN, default_timeout=120).run()
    at.switch_page(f"views/{page}.py").run()
    assert not at.exception, at.exception
    return at


def _blind(at: AppTest):
    return next(t for t in at.toggle if t.label == "Blind mode")


def test_annotators_review_blind_by_default_and_curators_see_the_models(team: FakeBrowser) -> None:
    ann = _page(team, "ann", "review")
    assert _blind(ann).value is True and not _blind(ann).disabled
    assert "Ann Lee → France" in texts(ann)
    assert "Suggested relations" not in texts(ann) and "0.987" not in texts(ann)
    carol = _page(team, "carol", "review")
    assert _blind(carol).value is False
    assert "Suggested relations" in texts(carol)


def test_a_curator_sets_the_overlap_when_splitting_and_annotators_stay_blind(team: FakeBrowser) -> None:
    carol = _page(team, "carol", "assign")
    assert carol.number_input(key=Keys.OVERLAP).value == 1
    carol.multiselect[0].set_value(["ann", "bob"]).run()
    carol.number_input(key=Keys.OVERLAP).set_value(2).run()
    carol.button(key=Keys.SPLIT).click().run()
    assert not carol.exception and "Queue split: ann 1, bob 1" in texts(carol)
    dataset_id = services.documents.datasets()[0].id
    assert services.team.overlap(dataset_id) == 2
    for name in ("ann", "bob"):  # the same item in both shares, and blind mode cannot be switched off
        at = _page(team, name, "review")
        assert "Ann Lee → France" in texts(at)
        assert _blind(at).value is True and _blind(at).disabled
    with pytest.raises(services.review.AccountError, match="only curators split the queue"):
        services.team.split_queue(dataset_id, ["ann", "bob"], "document", "ann", overlap=1)
    assert services.team.overlap(dataset_id) == 2  # refused before anything was saved
