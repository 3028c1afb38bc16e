"""The Review page and what comes with team review: undo per dataset, blind mode hiding model and peer signals, the
pair's existing labels, the key-mention table, names in messages, the annotator's name across reloads, search, the
relation picker, the paged queue table, progress, the curator's queue split and adjudication, and the agreement
warning on Evaluate."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("streamlit")

from app import services  # noqa: E402
from app.components.colors import KEY_BORDER  # noqa: E402
from app.state import Keys  # noqa: E402
from engine.curate.suggestions import KeyMentionPair  # noqa: E402
from tests.app.page_support import app, seed_ids, texts
from tests.db_support import tiny_document


def _html(at) -> str:
    return "\n".join(e.proto.body for e in at.get("html"))


def _first(dataset_id: int, annotator: str | None = None):
    return services.review.queue(dataset_id, services.review.ReviewFilters(), annotator, limit=1).items[0]


def test_undo_on_the_review_page_stays_in_the_current_dataset(seeded: Path) -> None:
    dataset_id, _ = seed_ids()
    services.review.ensure_annotator("ada")
    first = _first(dataset_id)
    services.review.decide(first.id, "ada", "reject")
    other_id, result = services.documents.store_upload("other", [tiny_document("Other")])
    from app.services.resources import session
    from db import store  # the test seeds a suggestion in the second dataset directly

    with session() as s:
        run = store.record_run(s, other_id, checkpoint="x", method="atlop.v1", version="0", seconds=0.0)
        (sid,) = store.add_suggestions(s, other_id, [{"doc_id": result.added[0], "h_idx": 0, "t_idx": 1,
                                                      "relation": "P27", "score": 0.5, "evidence": {}}], run_ids=[run])
    services.review.decide(sid, "ada", "accept")  # ada's latest decision, in "other"
    at = app("review", **{"docre.annotator": "ada", "docre.dataset_id": dataset_id})
    at.button(key=Keys.UNDO).click().run()
    assert not at.exception
    assert services.review.suggestion(sid).state == "accepted"  # the other dataset's decision stands
    assert services.review.suggestion(first.id).state == "pending"


def test_blind_mode_hides_state_peers_and_key_mentions(seeded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dataset_id, _ = seed_ids()
    for name in ("ada", "bob"):
        services.review.ensure_annotator(name)
    item = _first(dataset_id)
    services.review.decide(item.id, "bob", "accept")
    doc = services.documents.document(item.document_id)
    fake = KeyMentionPair("kmgre.v2", 0, 0, 0.4399999976158142, None, doc.entities[item.h].mentions[0].sent_id,
                          (0, 1), doc.entities[item.t].mentions[0].sent_id, (0, 1))
    monkeypatch.setattr(services.review, "key_mention_pairs", lambda view: [fake, fake])
    seen = app("review", **{"docre.annotator": "ada", "docre.dataset_id": dataset_id})
    shown = texts(seen)
    assert "state accepted" in shown and "bob" in shown and KEY_BORDER in _html(seen)  # not blind: all there
    blind = app("review", **{"docre.annotator": "ada", "docre.dataset_id": dataset_id, "docre.blind": True})
    shown = texts(blind)
    assert "state accepted" not in shown and "bob" not in shown and "score" not in shown
    assert KEY_BORDER not in _html(blind)
    assert "hides every signal" in blind.toggle[0].proto.help


def test_key_mention_table_one_row_per_pair_with_text(seeded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dataset_id, _ = seed_ids()
    item = _first(dataset_id)
    doc = services.documents.document(item.document_id)
    head = doc.entities[item.h].mentions[0]
    pairs = [KeyMentionPair(model, 0, 0, p, None, head.sent_id, (0, 1), 0, (0, 1))
             for model, p in (("kmgre#1", 0.4399999976158142), ("kmgre#2", 0.25))]
    monkeypatch.setattr(services.review, "key_mention_pairs", lambda view: pairs)
    rows = services.review.key_mention_rows(item, doc)
    assert len(rows) == 1
    assert rows[0]["head mention"] == head.name and rows[0]["head sentence"] == f"[{head.sent_id}]"
    assert rows[0]["best key probability"] == "0.440" and rows[0]["models"] == "kmgre#1 0.440, kmgre#2 0.250"


def test_review_shows_the_pairs_labels_and_refuses_a_duplicate(seeded: Path) -> None:
    dataset_id, _ = seed_ids()
    services.review.ensure_annotator("ada")
    gold_item = None
    for item in services.review.queue(dataset_id, services.review.ReviewFilters(), None, limit=200).items:
        doc = services.documents.document(item.document_id)
        gold = services.documents.gold_relations(doc, item.h, item.t)
        if gold:
            gold_item, relation = item, sorted(gold)[0]
            break
    assert gold_item is not None, "the seeded documents should have a suggestion on a labelled pair"
    at = app("review", **{"docre.annotator": "ada", "docre.dataset_id": dataset_id,
                          "docre.review_current": gold_item.id})
    assert "This pair already has:" in texts(at) and f"({relation})** (gold)" in texts(at)
    at.selectbox(key=f"{Keys.RELATION}.{gold_item.id}.0").set_value(relation)
    at.button(key=Keys.ACCEPT).click().run()
    assert "already has" in at.error[0].value and "gold label" in at.error[0].value
    assert services.review.suggestion(gold_item.id).state == "pending"


def test_flash_names_the_pair_and_document_not_ids(seeded: Path) -> None:
    dataset_id, _ = seed_ids()
    services.review.ensure_annotator("ada")
    item = _first(dataset_id, "ada")
    at = app("review", **{"docre.annotator": "ada", "docre.dataset_id": dataset_id})
    at.button(key=Keys.REJECT).click().run()
    message = at.success[0].value
    assert message.startswith("Rejected") and "suggestion" not in message and "in “" in message
    assert item.head_name in message and item.tail_name in message and item.document_title in message
    at.button(key=Keys.UNDO).click().run()
    assert "suggestion" not in at.success[0].value and "Undid your reject" in at.success[0].value


def test_local_name_survives_a_reload_through_the_url(seeded: Path) -> None:
    from streamlit.testing.v1 import AppTest

    from tests.app.page_support import MAIN, TIMEOUT

    at = app("review")
    at.text_input[0].input("ada")
    at.button[0].click().run()
    assert at.session_state["docre.annotator"] == "ada" and at.query_params["annotator"] in ("ada", ["ada"])
    reloaded = AppTest.from_file(MAIN, default_timeout=TIMEOUT)  # a new browser session, same URL
    reloaded.query_params["annotator"] = "ada"
    reloaded.run()
    assert not reloaded.exception and reloaded.session_state["docre.annotator"] == "ada"
    assert "Annotating as **ada**" in texts(reloaded)


def test_kappa_over_one_shared_item_is_warned_about(seeded: Path) -> None:
    dataset_id, _ = seed_ids()
    item = _first(dataset_id)
    for name in ("ada", "bob"):
        services.review.ensure_annotator(name)
        services.review.decide(item.id, name, "reject")
    at = app("evaluate", **{"docre.dataset_id": dataset_id})
    assert any("Too few shared items" in w.value and "(1 item)" in w.value for w in at.warning)


def test_adjudicate_page_resolves_a_conflict_for_the_export(seeded: Path) -> None:
    dataset_id, _ = seed_ids()
    item = _first(dataset_id)
    for name in ("ada", "bob"):
        services.review.ensure_annotator(name)
    services.review.decide(item.id, "ada", "accept", note="clear in the text")
    services.review.decide(item.id, "bob", "reject", note="not stated")
    services.review.ensure_annotator("cat")
    from app.services.resources import session
    from db import store

    with session() as s:
        store.set_role(s, "cat", "curator")
    reader = app("adjudicate", **{"docre.annotator": "ada", "docre.dataset_id": dataset_id})
    assert "Only curators resolve conflicts" in texts(reader) and not reader.get("form")
    at = app("adjudicate", **{"docre.annotator": "cat", "docre.role": "curator", "docre.dataset_id": dataset_id})
    decisions = at.dataframe[0].value
    assert list(decisions["annotator"]) == ["ada", "bob"] and "clear in the text" in list(decisions["note"])
    at.button(key=f"FormSubmitter:docre.f.adjudicate.{item.id}-Resolve: accept").click().run()
    assert not at.exception and "Resolved: Accepted" in at.success[0].value.replace("\\", "")
    view = services.review.suggestion(item.id)
    assert view.state == "accepted"
    exported = json.loads(services.export.dataset_json(dataset_id))
    assert any(label.get("provenance", {}).get("annotator") == "cat" for d in exported for label in d.get("labels", []))
    assert len(services.adjudication.trail(item.id)) == 3  # the annotators' decisions stay in the log


def test_curator_splits_the_queue_and_an_annotator_sees_only_their_share(seeded: Path) -> None:
    dataset_id, _ = seed_ids()
    for name in ("ada", "bob", "cat"):
        services.review.ensure_annotator(name)
    from app.services.resources import session
    from db import store

    with session() as s:
        store.set_role(s, "cat", "curator")
    total = services.review.queue(dataset_id, services.review.ReviewFilters(), "ada").total
    at = app("assign", **{"docre.annotator": "cat", "docre.role": "curator", "docre.dataset_id": dataset_id})
    at.multiselect[0].set_value(["ada", "bob"])
    at.radio[0].set_value("round-robin").run()
    at.button(key=Keys.SPLIT).click().run()
    assert not at.exception and "Queue split" in at.success[0].value
    shares = services.review.queue_is_split(dataset_id)
    assert sum(shares.values()) == total
    pairs = {name: services.review.pair_queue(dataset_id, services.review.ReviewFilters(), name)
             for name in ("ada", "bob")}
    dealt = {name: page.queued + page.long_tail for name, page in pairs.items()}  # round-robin deals whole pairs
    assert abs(dealt["ada"] - dealt["bob"]) <= 1, dealt
    assert services.review.queue(dataset_id, services.review.ReviewFilters(), "ada").total == shares["ada"]
    more = services.review.ReviewFilters(only_my_share=False)
    assert services.review.queue(dataset_id, more, "ada").total == total  # asking for more
    first = _first(dataset_id, "ada")
    services.review.decide(first.id, "ada", "reject")
    table = app("assign", **{"docre.annotator": "cat", "docre.role": "curator",
                             "docre.dataset_id": dataset_id}).dataframe[0].value
    assert table.set_index("annotator").loc["ada", "decided"] == 1
    review = app("review", **{"docre.annotator": "ada", "docre.dataset_id": dataset_id})
    assert any(c.label == "Only my share" for c in review.checkbox)


def test_search_by_entity_name_or_title(seeded: Path) -> None:
    dataset_id, _ = seed_ids()
    item = _first(dataset_id)
    by_head = services.review.queue(dataset_id, services.review.ReviewFilters(search=item.head_name.upper()), None,
                                    limit=200)
    assert by_head.total and all(item.head_name.lower() in (s.head_name + s.tail_name).lower()
                                 or s.document_id != item.document_id for s in by_head.items)
    assert item.id in [s.id for s in by_head.items]
    nothing = services.review.queue(dataset_id, services.review.ReviewFilters(search="no such name zzz"), None)
    assert nothing.total == 0
    at = app("review", **{"docre.annotator": "ada", "docre.dataset_id": dataset_id})
    box = next(t for t in at.sidebar.text_input if t.label == "Search entity or title")
    box.input("no such name zzz").run()
    assert "queue is empty for these filters" in texts(at)


def test_relation_picker_lists_type_compatible_relations_first(seeded: Path) -> None:
    dataset_id, _ = seed_ids()
    item = _first(dataset_id)
    doc = services.documents.document(item.document_id)
    names = services.relation_names()
    options, compatible = services.review.relation_options(doc, item.h, item.t, names)
    assert compatible and set(options) == set(names)
    assert set(options[:len(compatible)]) == compatible  # every fitting relation before any other
    first, _ = services.review.relation_options(doc, item.h, item.t, names, first=item.relation)
    assert first[0] == item.relation


def test_queue_table_is_paged(seeded: Path) -> None:
    dataset_id, _ = seed_ids()
    services.review.ensure_annotator("ada")
    at = app("review", **{"docre.annotator": "ada", "docre.dataset_id": dataset_id})
    pager = at.number_input(key=f"{Keys.QUEUE_PAGE}.{dataset_id}")
    assert pager.value == 1 and "pairs each" in pager.label


def test_clicking_a_queue_row_opens_that_item(seeded: Path) -> None:
    dataset_id, _ = seed_ids()
    services.review.ensure_annotator("ada")
    second = services.review.queue(dataset_id, services.review.ReviewFilters(), "ada", limit=2).items[1]
    at = app("review", **{"docre.annotator": "ada", "docre.dataset_id": dataset_id})
    table_key = f"{Keys.QUEUE_TABLE}.{dataset_id}.1"
    at.session_state[table_key] = {"selection": {"rows": [1], "columns": [], "cells": []}}  # as a click leaves it
    at.run()
    assert not at.exception and at.session_state["docre.review_current"] == second.id
    assert f"{second.head_name} → {second.tail_name}" in texts(at).replace("&lt;", "<").replace("&gt;", ">")


def test_review_progress_shows_mine_and_the_teams(seeded: Path) -> None:
    dataset_id, _ = seed_ids()
    for name in ("ada", "bob"):
        services.review.ensure_annotator(name)
    items = services.review.queue(dataset_id, services.review.ReviewFilters(), None, limit=3).items
    services.review.decide(items[0].id, "ada", "reject")
    services.review.decide(items[1].id, "bob", "reject")
    services.review.decide(items[2].id, "bob", "skip")
    at = app("review", **{"docre.annotator": "ada", "docre.dataset_id": dataset_id})
    text = at.get("progress")[0].proto.text
    assert "Team: 2 of" in text and "you: 1 decided" in text
    assert "by annotator: bob 2, ada 1" in texts(at)
    blind = app("review", **{"docre.annotator": "ada", "docre.dataset_id": dataset_id, "docre.blind": True})
    assert "You: 1 of" in blind.get("progress")[0].proto.text and "bob" not in texts(blind)
