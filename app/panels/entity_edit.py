"""The Document page's entity editing: change a type, add a mention from a text selection (a sentence and a token
span, previewed), remove a mention, merge two entities, split one, and the version log. Each edit is a version
with who and when; only the pairs it touched are rescored, and the panel says what followed, what was flagged
and what was rescored (services.entities). Widget keys carry the version, so a stored edit starts them afresh
and a refused one keeps every choice."""
from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from app import services, state, ui
from app.components.text import entity_label, markdown_text
from app.panels.annotate import show_messages
from app.state import Keys

PANEL = "entity_edit"


def _apply(doc, action: Callable[[], object]) -> None:
    """Run an edit; a refused one is shown here (nothing changed), a stored one is reported after the rerun."""
    try:
        with st.spinner("Saving the edit and rescoring the pairs it touched…"):
            outcome = action()
    except services.review.AccountError as err:  # local mode: the name became a team account meanwhile
        ui.drop_identity(str(err))
    except services.annotation.StoreError as err:
        st.error(markdown_text(f"Not changed: {err}."))
        return
    said, warnings = services.entities.outcome_messages(outcome, doc)
    for kind, message in [("success", said), *(("warning", w) for w in warnings)]:
        state.push_panel_flash(PANEL, markdown_text(message), kind)
    st.rerun()


def panel(doc_id: int, doc) -> None:
    """The entity-edit panel: five edits in tabs and the version log."""
    st.subheader("Edit entities")
    show_messages(PANEL)
    log = services.entities.edit_log(doc_id)
    version = log[-1].version if log else 0
    st.caption(f"Entity set version {version}: " + (markdown_text(
        f"last edited by {log[-1].annotator} at {log[-1].created_at:%Y-%m-%d %H:%M:%S} UTC") if log else "as uploaded"))
    annotator = state.annotator()
    tabs = st.tabs(["Type", "Add mention", "Remove mention", "Merge", "Split", f"History ({len(log)})"])
    with tabs[5]:
        _history(doc_id, log)
    if annotator is None:
        for tab in tabs[:5]:
            tab.info("Enter your name in the sidebar to edit entities: each edit is saved with who and when.")
        return

    def key(what: str) -> str:
        return f"{Keys.ENTITY_EDIT}.{what}.{doc_id}.{version}"

    entities = list(range(doc.num_entities))

    def label(e: int) -> str:
        return entity_label(doc, e, 40)

    with tabs[0]:
        e = st.selectbox("Entity", entities, format_func=label, key=key("type_entity"))
        types = list(services.entities.ENTITY_TYPES)
        current = doc.entities[e].type
        kind = st.selectbox("Type", types, index=types.index(current) if current in types else 0,
                            key=key(f"type.{e}"))
        if st.button("Change type", key=key("type_go"), disabled=kind == current):
            _apply(doc, lambda: services.entities.set_type(doc_id, annotator, entity=e, entity_type=kind))
    with tabs[1]:
        _add_mention(doc_id, doc, annotator, key, label)
    with tabs[2]:
        e = st.selectbox("Entity", entities, format_func=label, key=key("remove_entity"))
        mentions = doc.entities[e].mentions
        i = st.selectbox("Mention", list(range(len(mentions))), key=key(f"remove_mention.{e}"),
                         format_func=lambda i: f"[{mentions[i].sent_id}] {mentions[i].name} "
                                               f"(tokens {mentions[i].start}:{mentions[i].end})")
        if st.button("Remove mention", key=key("remove_go")):
            _apply(doc, lambda: services.entities.remove_mention(doc_id, annotator, entity=e, mention=i))
    with tabs[3]:
        cols = st.columns(2)
        a = cols[0].selectbox("Entity", entities, format_func=label, key=key("merge_a"))
        b = cols[1].selectbox("Same entity as", entities, index=min(1, len(entities) - 1), format_func=label,
                              key=key("merge_b"))
        st.caption("The higher-numbered entity joins the lower one (its first mention and type stay); its labels "
                   "and suggestions follow, and the entities after it move down one. A merge that would make a "
                   "label or reviewed suggestion point from an entity to itself is refused.")
        if st.button("Merge", key=key("merge_go"), disabled=a == b):
            _apply(doc, lambda: services.entities.merge(doc_id, annotator, a=a, b=b))
    with tabs[4]:
        several = [x for x in entities if len(doc.entities[x].mentions) > 1]
        if not several:
            st.caption("Every entity has one mention: there is nothing to split.")
        else:
            e = st.selectbox("Entity", several, format_func=label, key=key("split_entity"))
            mentions = doc.entities[e].mentions
            moved = st.multiselect("Mentions that are another entity", list(range(len(mentions))),
                                   key=key(f"split_mentions.{e}"),
                                   format_func=lambda i: f"[{mentions[i].sent_id}] {mentions[i].name}")
            st.caption("They become a new last entity. Labels and reviewed suggestions on this entity stay and are "
                       "listed for you to check.")
            if st.button("Split", key=key("split_go"), disabled=not moved or len(moved) == len(mentions)):
                _apply(doc, lambda: services.entities.split(doc_id, annotator, entity=e, mentions=moved))


def _add_mention(doc_id: int, doc, annotator: str, key: Callable[[str], str], label: Callable[[int], str]) -> None:
    """A text selection as a sentence and a token span, previewed with the chosen tokens in bold."""
    sent = st.selectbox("Sentence", list(range(len(doc.sents))), key=key("add_sentence"),
                        format_func=lambda i: services.annotation.sentence_label(doc, i))
    tokens = doc.sents[sent]
    if len(tokens) > 1:
        first, last = st.select_slider("Tokens (drag both ends over the selection)", list(range(len(tokens))),
                                       value=(0, 0), key=key(f"add_span.{sent}"),
                                       format_func=lambda i: f"{i}: {tokens[i]}")
    else:
        first = last = 0
    start, end = min(first, last), max(first, last) + 1
    st.markdown("Selected: " + " ".join(markdown_text(x) for x in tokens[:start])
                + f" **{markdown_text(services.entities.span_text(doc, sent, start, end))}** "
                + " ".join(markdown_text(x) for x in tokens[end:]))
    target = st.selectbox("Add it to", [None, *range(doc.num_entities)], key=key("add_target"),
                          format_func=lambda e: "a new entity" if e is None else label(e))
    kind = st.selectbox("Type of the new entity", list(services.entities.ENTITY_TYPES), key=key("add_type"),
                        disabled=target is not None)
    if st.button("Add mention", key=key("add_go")):
        _apply(doc, lambda: services.entities.add_mention(doc_id, annotator, sent_id=sent, start=start, end=end,
                                                          entity=target, entity_type=kind))


def _history(doc_id: int, log) -> None:
    """The versions, newest first, and the entity set at any of them."""
    if not log:
        st.caption("No edit yet: the entities are as uploaded (version 0).")
        return
    st.dataframe(pd.DataFrame([{"version": x.version, "edit": services.entities.edit_summary(x), "by": x.annotator,
                                "time (UTC)": x.created_at.strftime("%Y-%m-%d %H:%M:%S")} for x in reversed(log)]),
                 hide_index=True)
    version = st.selectbox("Entities at version", list(range(log[-1].version, -1, -1)),
                           key=f"{Keys.ENTITY_EDIT}.history.{doc_id}")
    st.dataframe(pd.DataFrame(services.entities.entities_at(doc_id, version)), hide_index=True)
