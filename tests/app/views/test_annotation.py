"""Annotation where the model is wrong, in the pages (issue 25): on the Document page a triple added on the open pair
(picked with the pickers or from a mention of the text) is an accepted positive with who, when and evidence; a
refused one says why and keeps what was typed; a gold label flagged there is removed once a curator confirms it on
Adjudicate; on the Review page a suggestion moves to another head or tail; and the Document page's entity panel
changes a type, adds a previewed mention, removes one, merges (labels follow) and splits (labels flagged), with
the version log, each edit rescoring only the pairs it touched."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("streamlit")

from app import services  # noqa: E402
from app.components.text import markdown_text  # noqa: E402
from app.state import Keys  # noqa: E402
from tests.app.page_support import app, seed_ids, texts


def _document_page(doc_id: int, pair: tuple[int, int] | None = None, name: str = "ada", **more):
    dataset_id, _ = seed_ids()
    services.review.ensure_annotator(name)
    extra = {"docre.pair": pair, Keys.HEAD: pair[0], Keys.TAIL: pair[1]} if pair else {}
    return app("document", **{"docre.annotator": name, "docre.dataset_id": dataset_id, "docre.document_id": doc_id,
                               **extra, **more})


def _no_label_pair(doc) -> tuple[int, int]:
    gold = {(f.h, f.t) for f in doc.facts}
    n = doc.num_entities
    return next((h, t) for h in range(n) for t in range(n) if h != t and (h, t) not in gold)


def _widget(at, kind: str, what: str, doc_id: int, *rest: object):
    return getattr(at, kind)(key=".".join(str(x) for x in (Keys.ANNOTATE, what, doc_id, *rest)))


def _entity_widget(at, kind: str, what: str, doc_id: int, version: int = 0):
    return getattr(at, kind)(key=f"{Keys.ENTITY_EDIT}.{what}.{doc_id}.{version}")


def _plain(shown: str) -> str:
    """A message as read: Markdown escapes removed."""
    return re.sub(r"\\(.)", r"\1", shown)


def _suggested(dataset_id: int, doc_id: int) -> set[tuple[int, int, str]]:
    """Every triple the models suggested in the document (a hand-made one must be new to be "free" or "moved")."""
    from app.services.resources import session
    from db import store

    with session() as s:
        return {(v.h, v.t, v.relation) for v in store.list_suggestions(s, dataset_id, {"document": doc_id},
                                                                        limit=100_000).items}


def _manual(suggestion_id: int) -> tuple[str | None, tuple[int, ...]]:
    """How the suggestion was made by hand and the evidence its accept marked (read straight from the store)."""
    from app.services.resources import session
    from db import store

    with session() as s:
        (record,) = store.review_history(s, suggestion_id=suggestion_id, limit=1)
        return (store.manual_kinds(s, [suggestion_id]).get(suggestion_id),
                store.review_evidence(s, [record.id]).get(record.id, ()))


def test_a_free_triple_on_the_open_pair_is_an_accepted_positive_with_evidence(seeded: Path) -> None:
    dataset_id, doc_ids = seed_ids()
    doc = services.documents.document(doc_ids[0])
    h, t = _no_label_pair(doc)
    names = services.relation_names()
    relation = "P27"
    # a triple the models suggested already is accepted as that suggestion; else it is a new one made by hand
    kind = None if (h, t, relation) in _suggested(dataset_id, doc_ids[0]) else "free"
    at = _document_page(doc_ids[0], (h, t))
    picker = _widget(at, "selectbox", "relation", doc_ids[0], h, t)
    ordered, compatible = services.review.relation_options(doc, h, t, names)
    assert picker.options[0].startswith(f"{names[ordered[0]]} ({ordered[0]})")  # type fit first
    assert all(("✓ types fit" in label) == (r in compatible) for r, label in zip(ordered, picker.options))
    picker.set_value(relation)
    _widget(at, "multiselect", "evidence", doc_ids[0], h, t).set_value([0])
    _widget(at, "button", "add", doc_ids[0]).click().run()
    assert not at.exception and not at.error
    assert (f"Added: {doc.entities[h].name} → {doc.entities[t].name}, {names[relation]} ({relation}), evidence [0] "
            "(by ada at ") in texts(at)
    labels = services.annotation.pair_labels(doc_ids[0], h, t)
    ((accepted, sid),) = labels.accepted
    view = services.review.suggestion(sid)
    assert (accepted, view.state, view.decisions[0].annotator) == (relation, "accepted", "ada")
    assert _manual(sid) == (kind, (0,))
    exported = next(d for d in services.export.reviewed_dataset(dataset_id) if d.title == doc.title)
    assert (h, t, relation) in {(f.h, f.t, f.r) for f in exported.facts}  # the export holds it


def test_a_mention_of_the_text_picks_the_head(seeded: Path) -> None:
    _, doc_ids = seed_ids()
    doc = services.documents.document(doc_ids[0])
    at = _document_page(doc_ids[0], (0, 1))
    mention = (2, 0)  # entity 2's first mention
    _widget(at, "selectbox", "head", doc_ids[0], 0, 1).set_value(mention).run()
    assert not at.exception
    assert (at.selectbox(key=Keys.HEAD).value, at.selectbox(key=Keys.TAIL).value) == (2, 1)
    assert f"**2 · {doc.entities[2].name}" in "\n".join(m.value for m in at.markdown)
    assert _widget(at, "selectbox", "relation", doc_ids[0], 2, 1)  # the form now works on (2, 1)


def test_a_refused_triple_says_why_and_keeps_what_was_typed(seeded: Path) -> None:
    _, doc_ids = seed_ids()
    doc = services.documents.document(doc_ids[0])
    fact = doc.facts[0]
    at = _document_page(doc_ids[0], (fact.h, fact.t))
    _widget(at, "text_input", "note", doc_ids[0], fact.h, fact.t).set_value("the text says so")
    _widget(at, "button", "add", doc_ids[0]).click().run()
    assert [e.value for e in at.error] == ["Choose the relation first: nothing was added."]
    _widget(at, "selectbox", "relation", doc_ids[0], fact.h, fact.t).set_value(fact.r)
    _widget(at, "button", "add", doc_ids[0]).click().run()
    assert not at.exception
    assert any(_plain(e.value).startswith("Not added: the pair already has") for e in at.error)  # a gold label
    assert _widget(at, "text_input", "note", doc_ids[0], fact.h, fact.t).value == "the text says so"
    assert services.annotation.pair_labels(doc_ids[0], fact.h, fact.t).accepted == ()


def test_a_flagged_gold_label_leaves_the_export_once_a_curator_confirms(seeded: Path) -> None:
    from app.services.resources import session
    from db import store

    dataset_id, doc_ids = seed_ids()
    doc = services.documents.document(doc_ids[0])
    fact = doc.facts[0]
    at = _document_page(doc_ids[0], (fact.h, fact.t))
    note = next(w for w in at.text_input if w.label == "Why (optional)")
    note.set_value("<b>not stated</b>")
    next(b for b in at.button if b.label == "Flag as wrong").click().run()
    assert not at.exception
    assert "a curator confirms or rejects the removal" in texts(at)
    (flag,) = services.annotation.open_flags(dataset_id)
    services.review.ensure_annotator("cy")
    with session() as s:
        store.set_role(s, "cy", "curator")
    adjudicate = app("adjudicate", **{"docre.annotator": "cy", "docre.role": "curator", "docre.dataset_id": dataset_id})
    assert "Flagged by ada: &lt;b&gt;not stated&lt;/b&gt;" in texts(adjudicate)  # the note, escaped
    still = {(f.h, f.t, f.r) for d in services.export.reviewed_dataset(dataset_id) if d.title == doc.title
             for f in d.facts}
    assert (fact.h, fact.t, fact.r) in still  # a flag alone removes nothing
    adjudicate.button(key=f"{Keys.FLAG_VERDICT}.remove.{flag.id}").click().run()
    assert not adjudicate.exception
    assert services.annotation.open_flags(dataset_id) == []
    assert "No gold label is flagged as wrong." in texts(adjudicate)
    exported = next(d for d in services.export.reviewed_dataset(dataset_id) if d.title == doc.title)
    assert (fact.h, fact.t, fact.r) not in {(f.h, f.t, f.r) for f in exported.facts}


def test_a_suggestion_moves_to_another_tail_on_the_review_page(seeded: Path) -> None:
    dataset_id, _ = seed_ids()
    services.review.ensure_annotator("ada")
    item = services.review.pair_queue(dataset_id, services.review.ReviewFilters(), "ada").items[0]
    doc = services.documents.document(item.document_id)
    moved = item.relations[0]
    gold = {(f.h, f.t, f.r) for f in doc.facts}
    new_t = next(e for e in range(doc.num_entities) if e not in (item.h, item.t))
    relation = next(r for r in services.relation_names() if (item.h, new_t, r) not in gold)
    kind = None if (item.h, new_t, relation) in _suggested(dataset_id, item.document_id) else "moved"
    at = app("review", **{"docre.annotator": "ada", "docre.dataset_id": dataset_id})
    next(s for s in at.selectbox if s.label == "Tail").set_value(new_t)
    next(s for s in at.selectbox if s.label.startswith("New pair's relation")).set_value(relation)
    next(b for b in at.button if b.label == "Move to this pair").click().run()
    assert not at.exception and not at.error
    assert services.review.suggestion(moved.id).state == "rejected"
    labels = services.annotation.pair_labels(item.document_id, item.h, new_t)
    ((_, sid),) = labels.accepted
    assert (labels.accepted[0][0], _manual(sid)[0]) == (relation, kind)
    assert (f"Moved {services.relation_names().get(moved.relation, moved.relation)} ({moved.relation}) from "
            f"{item.head_name} → {item.tail_name} (rejected) to {doc.entities[item.h].name} → "
            f"{doc.entities[new_t].name}, {services.relation_names()[relation]} ({relation}) (accepted)") in texts(at)


def test_a_type_change_is_a_version_with_the_pairs_it_rescored(seeded: Path) -> None:
    _, doc_ids = seed_ids()
    doc = services.documents.document(doc_ids[0])
    at = _document_page(doc_ids[0])
    new_type = next(x for x in services.entities.ENTITY_TYPES if x != doc.entities[0].type)
    type_box = at.selectbox(key=f"{Keys.ENTITY_EDIT}.type.0.{doc_ids[0]}.0")
    type_box.set_value(new_type).run()  # the button is enabled once the type differs
    _entity_widget(at, "button", "type_go", doc_ids[0]).click().run()
    assert not at.exception and not at.error
    n = doc.num_entities
    said = texts(at)
    assert "Version 1 by ada at " in said and f"entity 0: type {doc.entities[0].type} → {new_type}" in said
    assert f"Rescored the {2 * (n - 1)} pairs touching entity 0 in 2 model run(s)" in said
    assert services.documents.document(doc_ids[0]).entities[0].type == new_type
    assert "Entity set version 1: last edited by ada" in said
    history = at.dataframe[-2].value  # the History tab: the log, then the entity set at a version
    assert list(history["version"]) == [1] and list(history["by"]) == ["ada"]


def test_a_mention_added_from_a_previewed_span_and_one_removed(seeded: Path) -> None:
    _, doc_ids = seed_ids()
    doc = services.documents.document(doc_ids[0])
    taken = {(m.sent_id, k) for e in doc.entities for m in e.mentions for k in range(m.start, m.end)}
    sent, tok = next((s, k) for s in range(len(doc.sents)) for k in range(len(doc.sents[s])) if (s, k) not in taken)
    at = _document_page(doc_ids[0])
    _entity_widget(at, "selectbox", "add_sentence", doc_ids[0]).set_value(sent).run()
    at.select_slider(key=f"{Keys.ENTITY_EDIT}.add_span.{sent}.{doc_ids[0]}.0").set_range(tok, tok).run()
    preview = next(m.value for m in at.markdown if m.value.startswith("Selected: "))
    assert f" **{markdown_text(doc.sents[sent][tok])}** " in preview  # the chosen token in bold, in its sentence
    _entity_widget(at, "selectbox", "add_target", doc_ids[0]).set_value(0)
    _entity_widget(at, "button", "add_go", doc_ids[0]).click().run()
    assert not at.exception and not at.error
    after = services.documents.document(doc_ids[0])
    assert [(m.sent_id, m.start, m.end) for m in after.entities[0].mentions][-1] == (sent, tok, tok + 1)
    assert "to entity 0" in texts(at)
    _entity_widget(at, "selectbox", "remove_entity", doc_ids[0], 1).set_value(0).run()
    at.selectbox(key=f"{Keys.ENTITY_EDIT}.remove_mention.0.{doc_ids[0]}.1").set_value(
        len(after.entities[0].mentions) - 1)
    _entity_widget(at, "button", "remove_go", doc_ids[0], 1).click().run()
    assert not at.exception and not at.error
    assert services.documents.document(doc_ids[0]).entities[0].mentions == doc.entities[0].mentions
    assert [e.kind for e in services.entities.edit_log(doc_ids[0])] == ["add_mention", "remove_mention"]


def test_a_merge_moves_the_labels_and_a_linked_pair_is_refused(seeded: Path) -> None:
    dataset_id, doc_ids = seed_ids()
    doc = services.documents.document(doc_ids[0])
    fact = doc.facts[0]
    at = _document_page(doc_ids[0])
    _entity_widget(at, "selectbox", "merge_a", doc_ids[0]).set_value(fact.h)
    _entity_widget(at, "selectbox", "merge_b", doc_ids[0]).set_value(fact.t)
    _entity_widget(at, "button", "merge_go", doc_ids[0]).click().run()
    assert any(_plain(e.value).startswith("Not changed: ") and "gold label" in e.value for e in at.error)
    assert services.entities.edit_log(doc_ids[0]) == []  # nothing changed
    from app.services.resources import session
    from db import store

    with session() as s:  # two entities no label or reviewed suggestion links
        linked = {(f.h, f.t) for f in doc.facts} | {(v.h, v.t) for v in store.list_suggestions(
            s, dataset_id, {"document": doc_ids[0]}, limit=1000).items if v.decisions}
    a, b = next((a, b) for a in range(doc.num_entities) for b in range(a + 1, doc.num_entities)
                if (a, b) not in linked and (b, a) not in linked
                and any(b in (f.h, f.t) and a not in (f.h, f.t) for f in doc.facts))
    moved = sorted((a if f.h == b else f.h - (f.h > b), a if f.t == b else f.t - (f.t > b), f.r) for f in doc.facts)
    _entity_widget(at, "selectbox", "merge_a", doc_ids[0]).set_value(a)
    _entity_widget(at, "selectbox", "merge_b", doc_ids[0]).set_value(b)
    _entity_widget(at, "button", "merge_go", doc_ids[0]).click().run()
    assert not at.exception and not at.error
    assert (f"merged entity {b} ({doc.entities[b].name}) into entity {a} ({doc.entities[a].name}); its labels and "
            "suggestions followed") in texts(at)
    after = services.documents.document(doc_ids[0])
    assert after.num_entities == doc.num_entities - 1
    assert sorted((f.h, f.t, f.r) for f in after.facts) == sorted(set(moved))  # the labels followed


def test_a_split_flags_the_labels_of_the_split_entity(seeded: Path) -> None:
    _, doc_ids = seed_ids()
    docs = [services.documents.document(i) for i in doc_ids]
    k, e = next((k, e) for k, d in enumerate(docs) for e in range(d.num_entities)
                if len(d.entities[e].mentions) > 1 and any(e in (f.h, f.t) for f in d.facts or ()))
    doc_id = doc_ids[k]
    at = _document_page(doc_id)
    _entity_widget(at, "selectbox", "split_entity", doc_id).set_value(e).run()
    at.multiselect(key=f"{Keys.ENTITY_EDIT}.split_mentions.{e}.{doc_id}.0").set_value([0]).run()
    _entity_widget(at, "button", "split_go", doc_id).click().run()
    assert not at.exception and not at.error
    assert any(_plain(w.value).startswith(f"Check these: they were on entity {e} and stay there") for w in at.warning)
    assert services.documents.document(doc_id).num_entities == docs[k].num_entities + 1


def test_the_panels_escape_entity_names(seeded: Path) -> None:
    _, doc_ids = seed_ids()
    hostile = doc_ids[-1]  # the seeded hostile document: names that are HTML and Markdown
    at = _document_page(hostile, (1, 3))
    shown = "\n".join(m.value for m in at.markdown)
    assert "**1 · &lt;script&gt;window.\\_\\_pwned=1&lt;/script&gt; (PER)** → **3 · &lt;img" in shown
    assert "<script>" not in shown and "<img" not in shown
