"""The review queue: who is annotating, the filtered queue, decisions with undo, history and progress,
and what an item shows (its sentences, mentions and key mention pairs)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import streamlit as st

from db import store
from db.store.domain import (  # noqa: F401 - STATES re-exported for the pages, which never import db
    STATES,
    AnnotatorInfo,
    PairItem,
    PairPage,
    RelationRate,
    ReviewProgress,
    ReviewRecord,
    SuggestionPage,
    SuggestionView,
)
from db.store.errors import AccountError, DuplicateLabelError, ReviewError  # noqa: F401 - re-exported for the pages
from db.store.queries.labels import PairLabels
from engine.data.documents import Document
from engine.data.support import KeyMentionPair, Support
from engine.settings import get_settings

from .resources import session

BLIND_HELP = ("Blind mode hides every signal that comes from a model or from another annotator, so none can "
              "anchor your decision: the suggested relation and its score, the item's state (accepted, conflict), "
              "the models' votes, fired rules and type fit, the models' evidence sentences and KMGRE key "
              "mentions, other annotators' decisions and labels review added. The text, the pair and its "
              "uploaded gold labels stay.")
RULES_HELP = ("Relation-logic rules over the document's own labels that entail this triple: chain:A>B means the "
              "head has A to some entity that has B to the tail (chain:P131>P17: the head is located in a place "
              "whose country is the tail, so its country is the tail too); inverse:R means the labels hold the "
              "reverse pair with R, this relation's inverse; symmetric:R means the labels hold tail R head.")


def team_mode() -> bool:
    """DOCRE_AUTH=on: everyone logs in (db.accounts.auth); otherwise local mode asks for a name once."""
    return get_settings().team_mode


def ensure_annotator(name: str) -> AnnotatorInfo:
    """Local mode: the annotator of that name, created on first use (no password); a team account's name is
    refused (AccountError). Team mode takes no bare names at all."""
    if team_mode():
        raise AccountError("team mode: log in with your user name and password")
    with session() as s:
        return store.ensure_annotator(s, name)


def _check_acting_as(s: Any, annotator: str) -> None:
    """Local mode: a session's name must still be a local one (an account may have been created since)."""
    if not team_mode():
        store.local_annotator(s, annotator)


@dataclass(frozen=True)
class ReviewFilters:
    """The Review queue's filters, each over a field the store knows; None means any."""

    relation: str | None = None
    document_id: int | None = None
    run_id: int | None = None
    state: str | None = None
    open_for_me: bool = True  # only suggestions this annotator has not decided yet
    only_my_share: bool = True  # when a curator split the queue: only the suggestions assigned to this annotator
    search: str = ""  # text in the document title or in a head or tail mention name
    long_tail: bool = False  # the pairs below the dataset's minimum probability instead of the queue


def store_filters(filters: ReviewFilters, annotator: str | None) -> dict[str, Any]:
    """The page's filters as the store's (a whitelist of known fields)."""
    given: dict[str, Any] = {"relation": filters.relation, "document": filters.document_id, "run": filters.run_id,
                             "state": filters.state, "search": filters.search.strip() or None}
    if filters.open_for_me and annotator:
        given["unreviewed_by"] = annotator
    return {k: v for k, v in given.items() if v is not None}


def queue(dataset_id: int, filters: ReviewFilters, annotator: str | None, *, limit: int = 1,
          offset: int = 0) -> SuggestionPage:
    """One page of the queue, best score first; once a curator has split the queue, only the annotator's share
    unless they asked for more (filters.only_my_share off)."""
    with session() as s:
        given = store_filters(filters, annotator)
        if filters.only_my_share and annotator and store.assignment_counts(s, dataset_id):
            given["assigned_to"] = annotator
        return store.list_suggestions(s, dataset_id, given, limit=limit, offset=offset)


def queue_is_split(dataset_id: int) -> dict[str, int]:
    """Suggestions assigned per annotator (empty when the curator has not split the queue)."""
    with session() as s:
        return store.assignment_counts(s, dataset_id)




def suggestion(suggestion_id: int) -> SuggestionView:
    with session() as s:
        return store.get_suggestion(s, suggestion_id)


def decide(suggestion_id: int, annotator: str, decision: str, *, relation: str | None = None,
           note: str | None = None) -> int:
    """Record accept (optionally with a corrected relation), reject or skip; returns the review id."""
    with session() as s:
        _check_acting_as(s, annotator)
        return store.record_review(s, suggestion_id, annotator, decision, relation=relation, note=note)


def undo(annotator: str, dataset_id: int | None = None, suggestion_id: int | None = None,
         expected_id: int | None = None) -> ReviewRecord:
    """Cancel the annotator's latest decision still in force in this dataset (the Review page always names its
    dataset, so undo never reaches another dataset's decision); None: anywhere. `expected_id`: the decision the
    page showed as latest; an undo pressed in several tabs at once then undoes it once (see undo_last_review)."""
    with session() as s:
        _check_acting_as(s, annotator)
        return store.undo_last_review(s, annotator, suggestion_id, dataset_id=dataset_id, expected_id=expected_id)


def latest_in_force(records: Iterable[ReviewRecord]) -> int | None:
    """The id of the newest decision in `records` (newest first) that an undo would cancel, if listed."""
    return next((r.id for r in records if r.decision != "undo" and not r.undone), None)


@st.cache_data(show_spinner=False)
def _type_counts() -> dict[str, dict[tuple[str, str], int]]:
    from engine.curate.suggestions import SuggestError, TypeStats  # noqa: PLC0415

    try:
        return {r: dict(c) for r, c in TypeStats.load().counts.items()}
    except SuggestError:
        return {}


def relation_options(doc: Document, h: int, t: int, names: Mapping[str, str], *,
                     first: str | None = None) -> tuple[list[str], set[str]]:
    """Relation ids for the picker: `first` (the suggested one) if given, then the relations training saw with
    this pair's (head type, tail type), most often first, then the rest by name. Also returns that compatible set."""
    types = (doc.entities[h].type, doc.entities[t].type)
    counts = {r: c.get(types, 0) for r, c in _type_counts().items()}
    compatible = {r for r, n in counts.items() if n and r in names}
    ordered = sorted(names, key=lambda r: (r != first if first else False, -counts.get(r, 0), names[r]))
    return ordered, compatible


def pair_labels(view: SuggestionView) -> PairLabels:
    """The pair's labels right now: uploaded gold and accepted by review (this item's own acceptance left out)."""
    with session() as s:
        return store.pair_labels(s, view.document_id, view.h, view.t, exclude_suggestion=view.id)


def decision_message(decision: str, view: SuggestionView, relation: str | None, names: Mapping[str, str]) -> str:
    """What the flash says after a decision: the document, the pair and the triple, never internal ids."""
    done = {"accept": "Accepted", "reject": "Rejected", "skip": "Skipped"}[decision]
    r = relation or view.relation
    return (f"{done}: {view.head_name} → {view.tail_name}, {names.get(r, r)} ({r})"
            + (f" (corrected from {view.relation})" if relation and relation != view.relation else "")
            + f", in “{view.document_title}”")


def undo_message(record: ReviewRecord) -> str:
    """The flash after an undo, naming the pair and document of the decision taken back."""
    view = suggestion(record.suggestion_id)
    r = record.relation or view.relation
    return (f"Undid your {record.decision} of {view.head_name} → {view.tail_name}, {r}, "
            f"in “{view.document_title}”.")


def key_mention_rows(view: SuggestionView, doc: Document) -> list[dict[str, Any]]:
    """One row per key mention pair (not one per model): each mention's text and sentence, and every model
    that picked it with its key probability, formatted."""
    grouped: dict[tuple[int, int], dict[str, float]] = {}
    for k in key_mention_pairs(view):
        models = grouped.setdefault((k.head_mention, k.tail_mention), {})
        models[k.model] = max(models.get(k.model, 0.0), float(k.key_probability))

    def mention(entity: int, index: int) -> tuple[str, str]:
        mentions = doc.entities[entity].mentions
        if not 0 <= index < len(mentions):
            return f"mention {index} (not in this document)", ""
        return mentions[index].name, f"[{mentions[index].sent_id}]"

    rows = []
    for (hm, tm), models in sorted(grouped.items(), key=lambda kv: -max(kv[1].values())):
        head, head_sent = mention(view.h, hm)
        tail, tail_sent = mention(view.t, tm)
        rows.append({"head mention": head, "head sentence": head_sent, "tail mention": tail,
                     "tail sentence": tail_sent, "best key probability": f"{max(models.values()):.3f}",
                     "models": ", ".join(f"{name} {p:.3f}" for name, p in sorted(models.items(), key=lambda x: -x[1]))})
    return rows


def shared_sentences(doc: Document, view: SuggestionView) -> list[int]:
    """Sentences naming both head and tail, from the text alone (no model involved)."""
    head, tail = doc.entities[view.h], doc.entities[view.t]
    return sorted({m.sent_id for m in head.mentions} & {m.sent_id for m in tail.mentions})


def history(annotator: str, dataset_id: int, limit: int = 10) -> list[ReviewRecord]:
    with session() as s:
        return store.review_history(s, annotator, dataset_id=dataset_id, limit=limit)


def progress(dataset_id: int) -> ReviewProgress:
    with session() as s:
        return store.review_progress(s, dataset_id)


def relation_rates(dataset_id: int, *, include_controls: bool = False) -> list[RelationRate]:
    """Per suggested relation: totals and decisions of real suggestions (the yield); with include_controls,
    control items too (the Review page's relation filter, so a control's relation is offered like any)."""
    with session() as s:
        return store.relation_acceptance(s, dataset_id, include_controls=include_controls)


def supports(view: SuggestionView) -> list[Support]:
    """The item's support, one per source that recorded one (the store hands it out typed)."""
    return list(view.supports.values())


def key_mention_pairs(view: SuggestionView) -> list[KeyMentionPair]:
    """KMGRE key mention pairs from every source's support, best first."""
    pairs = [k for sp in supports(view) for k in sp.key_mention_pairs]
    return sorted(pairs, key=lambda k: -k.key_probability)


def key_mentions(view: SuggestionView) -> set[tuple[int, int]]:
    """(entity, mention) keys to outline: the mentions of the key mention pairs."""
    keys: set[tuple[int, int]] = set()
    for k in key_mention_pairs(view):
        keys.add((view.h, k.head_mention))
        keys.add((view.t, k.tail_mention))
    return keys


def evidence_sentences(view: SuggestionView) -> list[int]:
    """Sentences the models' support names (shared sentences of head and tail): the Evidence panel's."""
    return sorted({s for sp in supports(view) for s in sp.sentences})


def item_sentences(doc: Document, view: SuggestionView, *, blind: bool = False) -> list[int]:
    """Sentences to show for an item: the evidence and key-mention sentences (not in blind mode: the models
    chose them), else where both entities occur together, else the first mention of each."""
    head, tail = doc.entities[view.h], doc.entities[view.t]
    chosen: set[int] = set()
    if not blind:
        chosen.update(evidence_sentences(view))
        for k in key_mention_pairs(view):
            chosen.update((k.head_sent_id, k.tail_sent_id))
    if not chosen:
        chosen = {m.sent_id for m in head.mentions} & {m.sent_id for m in tail.mentions}
    if not chosen:
        chosen = {head.mentions[0].sent_id, tail.mentions[0].sent_id}
    return sorted(s for s in chosen if 0 <= s < len(doc.sents))


def model_votes(view: SuggestionView) -> list[dict[str, Any]]:
    """One row per model: its margin and probability for the suggested triple."""
    votes: dict[str, dict[str, Any]] = {}
    for sp in supports(view):  # every source carries the votes of all models ranked together
        for name, vote in sp.models.items():
            votes.setdefault(name, {"model": name, "margin": vote.margin, "probability": vote.probability})
    return list(votes.values())


def evidence_summary(view: SuggestionView) -> Mapping[str, Any]:
    """Type fit and the relation-logic rules that fired, over all sources."""
    found = supports(view)
    fits = {sp.type_fit for sp in found}
    rules = sorted({r for sp in found for r in sp.rules})
    agreeing = max((sp.agreeing_models for sp in found), default=0)
    return {"type_fit": None if len(fits) != 1 else next(iter(fits)), "rules": rules, "agreeing_models": agreeing}


def decided_by(view: SuggestionView, annotator: str) -> Iterable[str]:
    """The other annotators who already decided this item (shown only outside blind mode)."""
    return [d.annotator for d in view.decisions if d.annotator != annotator]


def next_pair_offset(dataset_id: int, filters: ReviewFilters, annotator: str, offset: int,
                     decided: PairItem) -> int:
    """`next_offset` for the grouped queue: stay when the decided pair left the queue, else move on."""
    page = pair_queue(dataset_id, filters, annotator, long_tail=filters.long_tail, limit=1, offset=offset)
    same = page.items and (page.items[0].document_id, page.items[0].h, page.items[0].t) == (
        decided.document_id, decided.h, decided.t)
    return offset + 1 if same else offset


def next_offset(dataset_id: int, filters: ReviewFilters, annotator: str, offset: int, decided_id: int) -> int:
    """Where the queue continues after deciding `decided_id`: the same position when the item left the
    queue (it no longer matches the filters), else the next one."""
    page = queue(dataset_id, filters, annotator, limit=1, offset=offset)
    return offset + 1 if page.items and page.items[0].id == decided_id else offset


def history_rows(records: Iterable[ReviewRecord], names: Mapping[str, str]) -> list[dict[str, Any]]:
    """The annotator's recent log as table rows: what was decided on which pair (undo rows say which
    review they cancelled; an accept shows the relation accepted, corrected or as suggested). No suggestion
    id: control items are made after the suggestions they are mixed in with, so their ids would tell."""
    records = list(records)
    with session() as s:
        views = {i: store.get_suggestion(s, i) for i in {r.suggestion_id for r in records}}
    rows = []
    for r in records:
        view = views[r.suggestion_id]
        relation = r.relation or (view.relation if r.decision in ("accept", "reject") else None)
        rows.append({"time (UTC)": r.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                     "decision": f"undo of #{r.undoes_id}" if r.decision == "undo" else r.decision,
                     "pair": f"{view.head_name} → {view.tail_name}",
                     "relation": f"{names.get(relation, relation)} ({relation})" if relation else "",
                     "corrected": r.relation is not None, "document": view.document_title,
                     "review": r.id, "undone": r.undone})
    return rows


# ------------------------------------------------------------------ the queue grouped by entity pair

MAX_KEYED = 9  # relations 1..9 of a pair each have a key


def pair_queue(dataset_id: int, filters: ReviewFilters, annotator: str | None, *, long_tail: bool = False,
               limit: int = 1, offset: int = 0) -> PairPage:
    """One page of the queue grouped by pair (the long tail with `long_tail`), with the same filters and share
    rule as `queue`."""
    with session() as s:
        given = store_filters(filters, annotator)
        if filters.only_my_share and annotator and store.assignment_counts(s, dataset_id):
            given["assigned_to"] = annotator
        return store.list_pairs(s, dataset_id, given, part="tail" if long_tail else "queue", limit=limit,
                                offset=offset)


def pair_of(suggestion_id: int) -> PairItem:
    """The pair a suggestion belongs to (an item opened or brought back), with every relation suggested on it on
    the same side of the dataset's minimum probability (the queue's relations, or the long tail's), that
    suggestion first: it is the one opened, so Accept with nothing marked takes it."""
    with session() as s:
        view = store.get_suggestion(s, suggestion_id)
        minimum = store.review_settings(s, view.dataset_id).min_probability
        item = store.get_pair(s, view.dataset_id, view.document_id, view.h, view.t,
                              part="queue" if view.score >= minimum else "tail")
    ordered = sorted(item.relations, key=lambda v: v.id != suggestion_id)  # stable: the rest stay best first
    return replace(item, relations=tuple(ordered))


def plan_pair(item: PairItem, marked: Iterable[int], picked: str | None) -> dict[int, str | None]:
    """What Accept records on a pair: the marked relations (suggestion ids) as suggested, and the picker's
    relation when it names one not already marked: a listed relation accepts that one; any other corrects the
    first relation left unmarked (its suggestion is wrong, the picked one is right). Nothing marked and nothing
    picked: the first relation, as a one-relation queue accepted its item. Everything not returned is rejected."""
    accept: dict[int, str | None] = {sid: None for sid in marked}
    if picked is None:
        return accept or {item.relations[0].id: None}
    listed = {view.relation: view.id for view in item.relations}
    if picked in listed:
        accept[listed[picked]] = None
        return accept
    free = [view for view in item.relations if view.id not in accept]
    if not free:
        raise ReviewError(f"every relation of the pair is marked; unmark one to correct it to {picked}")
    accept[free[0].id] = picked
    return accept


def decide_pair(item: PairItem, annotator: str, *, accept: Mapping[int, str | None] | None = None,
                skip: bool = False, note: str | None = None) -> list[int]:
    """One decision on the pair: one review per relation (see db.store.queries.pair_queue.decide_pair)."""
    with session() as s:
        _check_acting_as(s, annotator)
        return store.decide_pair(s, item, annotator, accept=accept, skip=skip, note=note)


def undo_pair(annotator: str, dataset_id: int, suggestion_ids: Iterable[int]) -> list[ReviewRecord]:
    """Take back a whole pair decision: the annotator's latest decision on each of its relations, together."""
    with session() as s:
        _check_acting_as(s, annotator)
        return [store.undo_last_review(s, annotator, sid, dataset_id=dataset_id) for sid in suggestion_ids]


def pair_decision_message(item: PairItem, accept: Mapping[int, str | None], skip: bool,
                          names: Mapping[str, str]) -> str:
    """The flash after a pair decision: the pair, what was accepted (corrections named), how many rejected."""
    if skip:
        return f"Skipped: {item.head_name} → {item.tail_name}, in “{item.document_title}”"
    taken = [(accept[v.id] or v.relation, v.relation) for v in item.relations if v.id in accept]
    said = ", ".join(f"{names.get(r, r)} ({r})" + (f" (corrected from {was})" if r != was else "") for r, was in taken)
    rejected = len(item.relations) - len(taken)
    return (f"{'Accepted' if taken else 'Rejected'}: {item.head_name} → {item.tail_name}"
            + (f", {said}" if said else "") + (f"; {rejected} rejected" if taken and rejected else "")
            + f", in “{item.document_title}”")
