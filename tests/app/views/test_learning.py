"""Issue 14 points 4 and 5 on the pages: after N decisions the ranker refits in the background and the
Review page says so (a status while it runs), the stopping message once the threshold is reached, and who
may change a dataset's review settings."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

pytest.importorskip("streamlit")

from app import services
from app.state import Keys
from tests.app.page_support import app, seed_ids, texts


def _pending(dataset_id: int) -> dict[int, float]:
    page = services.review.queue(dataset_id, services.review.ReviewFilters(state="pending"), None, limit=100_000)
    return {item.id: item.score for item in page.items}


def test_after_n_decisions_the_queue_is_re_ranked_in_the_background(seeded: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    dataset_id, _ = seed_ids()
    services.review.ensure_annotator("ada")
    pairs = services.review.pair_queue(dataset_id, services.review.ReviewFilters(), "ada", limit=3).items
    n = sum(len(p.relations) for p in pairs)  # a pair decision writes one review per relation
    services.learning.save_settings(dataset_id, "ada", refit_every=n, stop_below=0.0)  # the third pair reaches N
    gate = threading.Event()  # holds the refit back, so the page is seen while it runs
    real = services.learning.refit_dataset

    def gated(*args, **kwargs):
        assert gate.wait(120)
        return real(*args, **kwargs)

    monkeypatch.setattr(services.learning, "refit_dataset", gated)
    at = app("review", **{"docre.annotator": "ada", "docre.dataset_id": dataset_id})
    before = _pending(dataset_id)
    decided = [v.id for p in pairs for v in p.relations]
    for key in (Keys.ACCEPT, Keys.REJECT):
        at.button(key=key).click().run()
    assert services.learning.running(dataset_id) is None and not at.status  # two pair decisions: not yet
    at.button(key=Keys.REJECT).click().run()
    assert not at.exception
    assert services.learning.running(dataset_id) is not None
    assert [s.label for s in at.status] and "Re-ranking the queue" in at.status[0].label
    assert "Re-ranked from" not in texts(at)
    gate.set()
    assert services.learning.wait(dataset_id, 300)
    at.run()
    assert not at.exception and not at.status
    assert f"Re-ranked from {n} of your decisions (1 accepted)" in texts(at)
    info = services.learning.latest_refit(dataset_id)
    assert info is not None and info.decisions == n and info.rescored > 0
    after = _pending(dataset_id)
    assert set(after) == set(before) - set(decided)  # decided items are never suggested again
    assert any(after[i] != before[i] for i in after)  # the pending queue was re-scored
    at.button(key=Keys.REJECT).click().run()  # a fourth pair decision: the next refit waits for N more
    assert services.learning.running(dataset_id) is None


def test_stop_message_when_the_threshold_is_reached(seeded: Path) -> None:
    dataset_id, _ = seed_ids()
    services.review.ensure_annotator("ada")
    session = {"docre.annotator": "ada", "docre.dataset_id": dataset_id}
    services.learning.save_settings(dataset_id, "ada", refit_every=25, stop_below=0.0)  # never reached
    at = app("review", **session)
    assert "Worth continuing" in " ".join(i.value for i in at.info)
    assert not [s for s in at.success if "You can stop" in s.value]
    services.learning.save_settings(dataset_id, "ada", refit_every=25, stop_below=100.0)  # holds fewer than 100
    for page in ("review", "evaluate"):
        at = app(page, **session)
        stop = [s.value for s in at.success if "You can stop" in s.value]
        assert stop and "fewer than the 100 this dataset stops at" in stop[0], page
    services.learning.save_settings(dataset_id, "ada", refit_every=25, stop_below=0.0)
    at = app("evaluate", **session)
    assert not [s for s in at.success if "You can stop" in s.value]
    assert "Worth continuing" in " ".join(i.value for i in at.info)


def test_settings_form_saves_and_the_yield_curve_shows(seeded: Path) -> None:
    dataset_id, _ = seed_ids()
    services.review.ensure_annotator("ada")
    for item, decision in zip(services.review.queue(dataset_id, services.review.ReviewFilters(), None,
                                                    limit=2).items, ("accept", "reject")):
        services.review.decide(item.id, "ada", decision)
    at = app("evaluate", **{"docre.annotator": "ada", "docre.dataset_id": dataset_id})
    at.number_input(key=f"{Keys.REFIT_EVERY}.evaluate").set_value(7)
    at.number_input(key=f"{Keys.STOP_BELOW}.evaluate").set_value(4.0)
    next(b for b in at.button if b.label == "Save settings").click().run()
    assert not at.exception
    saved = services.learning.settings(dataset_id)
    assert (saved.refit_every, saved.stop_below, saved.updated_by) == (7, 4.0, "ada")
    (spec,) = [f for f in map(json.loads, (c.proto.spec for c in at.get("plotly_chart")))
               if f["layout"]["yaxis"]["title"]["text"] == "share of decisions (%)"]
    assert spec["data"][0]["y"] == [50.0] and spec["data"][0]["x"] == ["1–2"]  # one accept, one reject


def test_only_curators_change_settings_in_team_mode(seeded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.services.resources import session
    from db import store

    dataset_id, _ = seed_ids()
    with session() as s:
        store.ensure_annotator(s, "ann")
        store.ensure_annotator(s, "cat", role="curator")
    monkeypatch.setenv("DOCRE_AUTH", "on")
    assert not services.team.may_configure("annotator") and services.team.may_configure("curator")
    with pytest.raises(services.review.AccountError, match="only curators"):
        services.learning.save_settings(dataset_id, "ann", refit_every=5, stop_below=1.0)
    assert services.learning.save_settings(dataset_id, "cat", refit_every=5, stop_below=1.0).refit_every == 5
