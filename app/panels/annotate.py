"""Annotation where the model is wrong: add a triple on the pair the Document page has open (picked by a matrix
click, the head/tail pickers, or mentions of the text), flag a gold label of that pair, move a Review item's
relation to another head or tail, and the curators' list of flagged gold labels (Adjudicate). Each stores an
insert-only review with who and when (services.annotation); a refused one says why and keeps what was typed."""
from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from app import services, state, ui
from app.components.text import entity_label, markdown_text
from app.state import Keys

PANEL = "annotate"
# the Add a relation panel's fields in Tab order, by label: the Document page's keys step through them
# (app/components/keyboard.py)
HEAD, TAIL, RELATION, EVIDENCE, NOTE, ADD = ("Head from a mention", "Tail from a mention", "Relation",
                                             "Evidence sentences", "Note (optional)", "Add relation")
FIELDS = (HEAD, TAIL, RELATION, EVIDENCE, NOTE, ADD)


def _rel(names: Mapping[str, str], r: str | None) -> str:
    return f"{names.get(r, r)} ({r})"


def show_messages(panel: str) -> None:
    """The panel's own messages from before the last rerun (the page's flash is a screen further up)."""
    for kind, message in state.pop_panel_flash(panel):
        {"success": st.success, "warning": st.warning, "error": st.error}.get(kind, st.info)(message)


def _done(message: str, panel: str | None = None) -> None:
    """A stored annotation: say so in the panel (it sits a screen below the page's top) or, without one, at the
    page's top; then draw the page again."""
    if panel is None:
        state.push_flash(markdown_text(message))
    else:
        state.push_panel_flash(panel, markdown_text(message))
    st.rerun()


def _take_mention(key: str, role: str) -> None:
    """on_change of a mention picker: its entity becomes the head or tail of the open pair (callbacks run before
    the Head/Tail pickers are drawn again, so they move too)."""
    picked = state.widget_value(key)
    if picked is None:
        return
    h, t = state.selected_pair() or (0, 1)
    state.set_selected_pair((int(picked[0]), t) if role == "head" else (h, int(picked[0])))


def add_triple(doc_id: int, doc, names: Mapping[str, str]) -> None:
    """Add a relation on any pair: the pair open on the page, the relation typed to filter (type-fit first and
    marked), evidence sentences marked; saved as an accepted positive with who and when."""
    st.subheader("Add a relation")
    show_messages(PANEL)
    annotator = state.annotator()
    pair = state.selected_pair()
    if annotator is None:
        st.info("Enter your name in the sidebar to add relations: each is saved with who added it and when.")
        return
    if doc.num_entities < 2 or pair is None:
        st.info("Open a pair first: click a matrix cell or use the Head and Tail pickers.")
        return
    h, t = pair
    st.markdown(f"**{markdown_text(entity_label(doc, h, 60))}** → **{markdown_text(entity_label(doc, t, 60))}**")
    labels = services.annotation.labels_text(services.annotation.pair_labels(doc_id, h, t), names)
    st.caption("Pick the pair by clicking a matrix cell, with the Head and Tail pickers, or from mentions in the "
               "text below. Its labels now: " + (markdown_text("; ".join(labels)) if labels else "none"))
    mentions = services.annotation.mentions_in_text_order(doc)
    cols = st.columns(2)
    for col, role in zip(cols, ("head", "tail")):
        key = f"{Keys.ANNOTATE}.{role}.{doc_id}.{h}.{t}"  # follows the pair: a pick shows in the pair above
        col.selectbox(HEAD if role == "head" else TAIL, mentions, index=None, key=key,
                      format_func=lambda m: services.annotation.mention_label(doc, m),
                      placeholder="Find a mention", on_change=_take_mention, args=(key, role))
    options, compatible = services.review.relation_options(doc, h, t, names)
    relation = st.selectbox(
        RELATION, options, index=None, key=f"{Keys.ANNOTATE}.relation.{doc_id}.{h}.{t}",
        format_func=lambda r: _rel(names, r) + (" ✓ types fit" if r in compatible else ""),
        placeholder="Type to filter relations",
        help="Relations seen in training with this pair's entity types "
             f"({doc.entities[h].type} → {doc.entities[t].type}) come first, marked ✓.")
    shared = services.documents.pair_sentences(doc, h, t).shared
    evidence = st.multiselect(EVIDENCE, list(range(len(doc.sents))), default=list(shared),
                              key=f"{Keys.ANNOTATE}.evidence.{doc_id}.{h}.{t}",
                              format_func=lambda i: services.annotation.sentence_label(doc, i),
                              help="The sentences that state the relation (those naming both are marked already).")
    note = st.text_input(NOTE, max_chars=500, key=f"{Keys.ANNOTATE}.note.{doc_id}.{h}.{t}")
    if not st.button(ADD, type="primary", key=f"{Keys.ANNOTATE}.add.{doc_id}"):
        return
    if relation is None:
        st.error("Choose the relation first: nothing was added.")
        return
    try:
        stored = services.annotation.add_triple(doc_id, h, t, relation, annotator, evidence=evidence, note=note)
    except services.review.AccountError as err:  # local mode: the name became a team account meanwhile
        ui.drop_identity(str(err))
    except services.annotation.StoreError as err:
        st.error(markdown_text(f"Not added: {err}."))
    else:
        _done(services.annotation.added_message(doc, h, t, relation, evidence, stored, names), PANEL)


def flag_gold(doc_id: int, doc, names: Mapping[str, str]) -> None:
    """Flag a gold label of the open pair as wrong (DocRED has those too); a curator confirms the removal."""
    annotator, pair = state.annotator(), state.selected_pair()
    if annotator is None or pair is None or doc.num_entities < 2:
        return
    h, t = pair
    gold = sorted(services.documents.gold_relations(doc, h, t))
    if not gold:
        st.caption("This pair has no gold label to flag.")
        return
    with st.expander("Flag a gold label of this pair as wrong"), st.form(f"{Keys.FLAG_FORM}.{doc_id}.{h}.{t}"):
        relation = st.selectbox("Gold label", gold, format_func=lambda r: _rel(names, r))
        note = st.text_input("Why (optional)", max_chars=500)
        submitted = st.form_submit_button("Flag as wrong")
    if not submitted:
        return
    try:
        stored = services.annotation.flag_gold(doc_id, h, t, relation, annotator, note=note)
    except services.review.AccountError as err:
        ui.drop_identity(str(err))
    except services.annotation.StoreError as err:
        st.error(markdown_text(f"Not flagged: {err}."))
    else:
        _done(services.annotation.flagged_message(doc, h, t, relation, stored, names, ui.is_curator()), PANEL)


def edit_pair(item, doc, annotator: str, names: Mapping[str, str], *, blind: bool = False) -> None:
    """Review: the item's relation holds between another head or tail (University of Michigan → Florida): the
    suggestion is rejected and the moved triple accepted, in one step. Blind: the suggested relation stays
    hidden, so the annotator names the relation."""
    first = item.relations[0]
    with st.expander("Edit pair: the relation holds between other entities"), st.form(
            f"{Keys.EDIT_PAIR_FORM}.{first.id}.{int(blind)}"):
        views = {v.id: v for v in item.relations}
        which = first.id if blind else st.selectbox("Suggested relation to move", list(views),
                                                    format_func=lambda i: _rel(names, views[i].relation))
        entities = list(range(doc.num_entities))
        cols = st.columns(2)
        h = cols[0].selectbox("Head", entities, index=item.h, format_func=lambda e: entity_label(doc, e))
        t = cols[1].selectbox("Tail", entities, index=item.t, format_func=lambda e: entity_label(doc, e))
        options, compatible = services.review.relation_options(doc, item.h, item.t, names)
        # labels never start "Relation": the review keys find the page's own relation picker by that label
        relation = st.selectbox("New pair's relation" if blind else "New pair's relation (empty: the one moved)",
                                options,
                                index=None, placeholder="Type to filter relations",
                                format_func=lambda r: _rel(names, r) + (" ✓ types fit" if r in compatible else ""))
        note = st.text_input("Note (optional)", max_chars=500)
        submitted = st.form_submit_button("Move to this pair")
    if not submitted:
        return
    if blind and relation is None:
        st.error("Choose the relation first: nothing was changed.")
        return
    try:
        stored = services.annotation.change_pair(which, annotator, h=h, t=t, relation=relation, note=note)
    except services.review.AccountError as err:
        ui.drop_identity(str(err))
    except services.annotation.StoreError as err:
        st.error(markdown_text(f"Not changed: {err}."))
    else:
        state.clear_pair_marks()
        state.set_current_suggestion(None)
        services.learning.after_decision(first.dataset_id)  # two reviews: they count towards the next refit
        _done(services.annotation.moved_message(doc, views[which], h, t, relation or views[which].relation, stored,
                                                names))


def flag_list(dataset_id: int, curator: str | None, names: Mapping[str, str]) -> None:
    """Adjudicate: gold labels flagged wrong that no curator has decided; a curator removes or keeps each."""
    st.subheader("Flagged gold labels")
    show_messages("flags")
    flags = services.annotation.open_flags(dataset_id)
    if not flags:
        st.caption("No gold label is flagged as wrong.")
        return
    st.caption(f"{len(flags)} gold label(s) flagged as wrong, oldest first. The export drops a label once a curator "
               "confirms its removal.")
    for view in flags:
        with st.container(border=True):
            st.markdown(markdown_text(f"{view.head_name} → {view.tail_name} · {_rel(names, view.relation)} · "
                                      f"“{view.document_title}”"))
            st.caption("Flagged by " + markdown_text(services.annotation.flagged_by(view)))
            if curator is None:
                continue
            cols = st.columns(2)
            remove = cols[0].button("Remove the label", type="primary", key=f"{Keys.FLAG_VERDICT}.remove.{view.id}")
            keep = cols[1].button("Keep the label", key=f"{Keys.FLAG_VERDICT}.keep.{view.id}")
            if not (remove or keep):
                continue
            try:
                services.annotation.confirm_flag(view.id, curator, remove=remove)
            except services.annotation.StoreError as err:
                st.error(markdown_text(f"Not decided: {err}."))
            else:
                state.push_panel_flash("flags", markdown_text(
                    f"{'Removed' if remove else 'Kept'}: {view.head_name} → {view.tail_name}, "
                    f"{_rel(names, view.relation)} in “{view.document_title}”."))
                st.rerun()
