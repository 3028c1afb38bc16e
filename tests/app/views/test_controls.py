"""Control items on the pages: off until set up on Evaluate, then each annotator's recall and precision there;
on Review a control shows exactly what any item shows, and deciding it leaves the export as it was."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("streamlit")

from app import services
from app.state import Keys
from tests.app.page_support import app, seed_ids, texts
from tests.app_support import FakeBrowser


def _items(dataset_id: int) -> tuple[dict[str, list], list]:
    """Controls by kind and the real items, in queue order (the test reads the store; pages never do)."""
    from app.services.resources import session  # noqa: PLC0415
    from db import store  # noqa: PLC0415
    from db.store.queries.controls import control_kind  # noqa: PLC0415

    with session() as s:
        items = store.list_suggestions(s, dataset_id, {"control": True}, limit=500).items
        kinds = {item.id: control_kind(s, item.id) for item in items}
        real = store.list_suggestions(s, dataset_id, {"control": False}, limit=5).items
    return {kind: [i for i in items if kinds[i.id] == kind] for kind in ("gold", "absent")}, list(real)


def _other_relation(view) -> str:
    """A relation the item's pair has no label for: accepting it is a wrong answer, but no duplicate."""
    labels = services.review.pair_labels(view).all() | {view.relation}
    return next(r for r in services.relation_names() if r not in labels)


def _shape(node) -> list[str]:
    """The page's widgets, tables and blocks, in order, with labels and columns but not values. Text elements
    are left out (an item's rules caption comes and goes with its evidence); the test reads their text."""
    out = []
    for child in getattr(node, "children", {}).values():
        kind = getattr(child, "type", type(child).__name__)
        if kind in ("caption", "markdown"):
            continue
        if str(getattr(child, "key", "") or "").startswith(Keys.MARK):  # one per relation: pairs differ in number
            continue
        if kind == "dataframe":
            kind += ":" + ",".join(map(str, child.value.columns))
        elif hasattr(child, "label") and kind not in ("expandable",):
            kind += ":" + str(child.label)
        out.append(kind)
        out.extend(_shape(child))
    return out


def test_evaluate_shows_control_figures_once_on(seeded: Path) -> None:
    dataset_id, _ = seed_ids()
    at = app("evaluate", **{"docre.dataset_id": dataset_id})
    assert "Control items are off for this dataset" in texts(at)
    assert not any("recall on controls" in d.value.columns for d in at.dataframe)
    at.number_input(key=Keys.CONTROL_RATE).set_value(0.01)  # the tiny random models suggest ~11,000 items
    at.checkbox(key=Keys.CONTROL_ALL).check()
    next(b for b in at.button if b.label == "Save").click().run()
    assert not at.exception, at.exception
    assert "Control items saved" in texts(at) and "On: 1% of the review queue" in texts(at)
    controls, _ = _items(dataset_id)
    # the tiny random models suggest nearly every triple, so no absent one is left: gold controls only here
    # (tests/db/workflows/test_controls.py covers absent ones)
    assert len(controls["gold"]) >= 3
    first, second, third = controls["gold"][:3]
    services.review.ensure_annotator("ada")
    services.review.decide(first.id, "ada", "accept")
    services.review.decide(second.id, "ada", "accept", relation=_other_relation(second))  # the wrong relation
    services.review.decide(third.id, "ada", "reject")
    at = app("evaluate", **{"docre.dataset_id": dataset_id})
    table = next(d.value for d in at.dataframe if "recall on controls" in d.value.columns)
    row = table[table["annotator"] == "ada"].iloc[0]
    assert (row["recall on controls"], row["gold judged"], row["precision on controls"], row["controls accepted"]) \
        == (round(1 / 3, 3), 3, 0.5, 2)
    assert "Few control items judged: ada (3)" in texts(at)


def test_a_control_on_review_looks_like_any_item(seeded: Path) -> None:
    dataset_id, _ = seed_ids()
    before = json.loads(services.export.dataset_json(dataset_id))
    services.controls.configure(dataset_id, 0.01, None, by="ada")
    controls, real = _items(dataset_id)
    gold = controls["gold"][0]
    services.review.ensure_annotator("ada")
    pages = {}
    for name, item in (("control", gold), ("real", real[0])):
        pages[name] = app("review", **{"docre.annotator": "ada", "docre.dataset_id": dataset_id,
                                       "docre.review_current": item.id})
        shown = texts(pages[name])
        assert "control" not in shown.lower() and "state pending" in shown
        assert f"({item.relation})** (gold)" not in shown  # the pair's labels do not give the answer away
        first = pages[name].button(key=f"{Keys.MARK}.0").label  # the item opened is the pair's first relation
        assert "Suggested relations" in shown and f"p {item.score:.3f}" in first and f"({item.relation})" in first
    assert _shape(pages["control"].main) == _shape(pages["real"].main)
    at = pages["control"]
    at.button(key=Keys.ACCEPT).click().run()  # the gold label it asks about: accepted, not refused as a duplicate
    assert not at.error and at.success[0].value.startswith("Accepted")
    assert services.review.suggestion(gold.id).state == "accepted"
    services.review.decide(controls["gold"][1].id, "ada", "reject")  # a gold label rejected: still exported
    assert json.loads(services.export.dataset_json(dataset_id)) == before


def test_in_team_mode_only_curators_set_up_controls(team_roles: tuple, browser: FakeBrowser) -> None:
    dataset_id, _ = seed_ids()
    for (name, role), allowed in zip(team_roles, (False, True)):
        browser.sign_in(name)
        at = app("evaluate", **{"docre.annotator": name, "docre.role": role, "docre.dataset_id": dataset_id})
        assert any(b.label == "Save" for b in at.button) is allowed
        assert "Control items are off for this dataset" in texts(at)
    with pytest.raises(services.review.AccountError, match="only curators"):
        services.controls.configure(dataset_id, 0.01, None, by="dan")
    assert services.controls.settings(dataset_id).rate == 0.0
