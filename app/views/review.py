"""Review: the queue of suspected false negatives across documents, best score first, filtered by relation,
document, model and state. Accept (optionally correcting the relation), reject or skip with the keyboard
(A, X, S; U undoes), the annotator's recent decisions, progress, and a blind mode. Every N decisions the
ranker refits on them in the background and the queue re-orders; the yield curve and the stopping threshold
say when review stops paying."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app import services, state, ui
from app.components import colors
from app.components.text import highlight_html, markdown_text, mention_rows
from app.services.review import ReviewFilters
from app.state import Keys

ui.page_title("Review")
annotator = state.annotator()
if annotator is None:
    st.info("Enter your name once: every decision is saved with who made it and when.")
    ui.ask_name("main")
    st.stop()
dataset_id = ui.require_dataset()
names = services.relation_names()


def rel_label(r: str | None) -> str:
    return "any" if r is None else f"{names.get(r, r)} ({r})"


# ------------------------------------------------------------------ filters (known fields only)
with st.sidebar:
    st.subheader("Queue")
    current = state.review_filters()
    relations = [None] + [rate.relation for rate in services.review.relation_rates(dataset_id, include_controls=True)]
    docs = {d.id: d.title for d in services.documents.documents(dataset_id)}
    runs = {r.id: services.scoring.run_label(r) for r in services.scoring.runs(dataset_id)}
    blind = st.toggle("Blind mode", value=state.blind_mode(), help=services.review.BLIND_HELP)
    filters = ReviewFilters(
        relation=None if blind else st.selectbox("Relation", relations, format_func=rel_label,
                                                 index=relations.index(current.relation) if current.relation in relations else 0),
        document_id=st.selectbox("Document", [None, *docs], format_func=lambda i: "any" if i is None else docs[i],
                                 index=([None, *docs].index(current.document_id) if current.document_id in docs else 0)),
        run_id=st.selectbox("Run", [None, *runs], format_func=lambda i: "any" if i is None else runs[i],
                            index=([None, *runs].index(current.run_id) if current.run_id in runs else 0),
                            help="Items suggested by this model run (a checkpoint scoring this dataset once)."),
        search=st.text_input("Search entity or title", value=current.search, max_chars=200,
                             help="Items whose document title or head or tail name contains this text."),
        state=None if blind else st.selectbox(
            "State", [None, *services.review.STATES], format_func=lambda s: s or "any",
            index=([None, *services.review.STATES].index(current.state) if current.state else 0)),
        open_for_me=st.checkbox("Only items I have not decided", value=current.open_for_me),
        only_my_share=st.checkbox("Only my share", value=current.only_my_share,
                                  help="A curator split this queue between annotators; untick to ask for more "
                                       "(the whole queue).") if services.review.queue_is_split(dataset_id) else True)
    if filters != current or blind != state.blind_mode():
        state.set_review_filters(filters)
        state.set_blind_mode(blind)
        state.set_review_offset(0)
        state.set_current_suggestion(None)

# ------------------------------------------------------------------ progress
progress = services.review.progress(dataset_id)
if progress.total:
    team = services.team.annotator_progress(dataset_id)
    mine = next((p.decided for p in team if p.annotator == annotator), 0)
    if blind:  # the states say what others decided
        st.progress(mine / progress.total, text=f"You: {mine} of {progress.total} suggestions decided")
    else:
        st.progress(progress.reviewed / progress.total,
                    text=f"Team: {progress.reviewed} of {progress.total} suggestions reviewed · you: {mine} decided")
        st.caption(" · ".join(f"{s}: {n}" for s, n in progress.counts.items())
                   + (" · by annotator: " + markdown_text(", ".join(f"{p.annotator} {p.decided}" for p in team))
                      if team else ""))

ui.refit_status(dataset_id)
ui.stop_message(dataset_id)

# ------------------------------------------------------------------ the item on screen
offset = state.review_offset()
page = services.review.queue(dataset_id, filters, annotator, limit=1, offset=offset)
if page.total and offset >= page.total:
    offset = page.total - 1
    state.set_review_offset(offset)
    page = services.review.queue(dataset_id, filters, annotator, limit=1, offset=offset)
pinned = state.current_suggestion()
item = services.review.suggestion(pinned) if pinned is not None else (page.items[0] if page.items else None)

if item is None:
    st.success("Nothing to review here: the queue is empty for these filters."
               + (" Untick “Only my share” to ask for more." if filters.only_my_share
                  and services.review.queue_is_split(dataset_id) else "") if progress.total else
               "No suggestions yet: upload labelled documents and score them on the Upload page.")
    undo = st.button("Undo last", shortcut="U", key=Keys.UNDO)
else:
    doc = services.documents.document(item.document_id)
    h, t = item.h, item.t
    where = "(opened from the queue or brought back by undo)" if pinned is not None else f"{offset + 1} of {page.total}"
    st.markdown(f"#### {markdown_text(doc.entities[h].name)} → {markdown_text(doc.entities[t].name)}")
    st.caption(f"Item {where} · document “{markdown_text(doc.title)}”"
               + ("" if blind else f" · state {item.state}"))
    if not blind:
        st.markdown(f"Suggested: **{markdown_text(rel_label(item.relation))}** · score {item.score:.3f}")
    labels = services.review.pair_labels(item)
    have = list(labels.gold) + ([] if blind else [r for r, _ in labels.accepted if r not in labels.gold])
    st.markdown("This pair already has: " + (", ".join(
        f"**{markdown_text(rel_label(r))}** ({'gold' if r in labels.gold else 'accepted by review'})" for r in have)
        or "no label yet"))
    st.html(highlight_html(doc, entity_colors={h: colors.HEAD_COLOR, t: colors.TAIL_COLOR},
                           key_mentions=set() if blind else services.review.key_mentions(item),
                           sentences=services.review.item_sentences(doc, item, blind=blind), only_colored=True))
    st.caption("Head in amber, tail in green." if blind else "Head in amber, tail in green; KMGRE key mentions "
               "outlined in red.")

    # type-compatible relations first; blind: the suggested one is not put first, so it is never given away
    options, compatible = services.review.relation_options(doc, h, t, names, first=None if blind else item.relation)
    relation = st.selectbox("Relation (change it to correct the suggestion)", options,
                            format_func=lambda r: rel_label(r) + (" ✓ types fit" if r in compatible else ""),
                            help="Relations seen in training with this pair's entity types "
                                 f"({doc.entities[h].type} → {doc.entities[t].type}) come first, marked ✓.",
                            index=None if blind else 0, key=f"{Keys.RELATION}.{item.id}.{int(blind)}",
                            placeholder="Choose the relation the text states")
    note = st.text_input("Note (optional)", key=f"{Keys.NOTE}.{item.id}", max_chars=500)
    cols = st.columns(5)
    decision = None
    if cols[0].button("Accept", shortcut="A", type="primary", key=Keys.ACCEPT):
        decision = "accept"
    if cols[1].button("Reject", shortcut="X", key=Keys.REJECT):
        decision = "reject"
    if cols[2].button("Skip", shortcut="S", key=Keys.SKIP):
        decision = "skip"
    undo = cols[3].button("Undo last", shortcut="U", key=Keys.UNDO)
    if cols[4].button("Next", shortcut="N", key=Keys.NEXT, help="Leave this item for later"):
        state.set_current_suggestion(None)
        state.set_review_offset(offset + 1)
        st.rerun()
    st.caption("Keys: A accept · X reject · S skip · U undo · N next")

    if decision == "accept" and relation is None:
        st.error("Choose the relation before accepting.")
    elif decision is not None:
        chosen = relation if decision == "accept" else None
        try:
            services.review.decide(item.id, annotator, decision, relation=chosen, note=note)
        except services.review.AccountError as err:  # local mode: the name became a team account meanwhile
            ui.drop_identity(str(err))
        except services.review.DuplicateLabelError as err:
            st.error(markdown_text(f"Not accepted: {err}."))
        else:
            state.push_flash(markdown_text(services.review.decision_message(decision, item, chosen, names)))
            services.learning.after_decision(dataset_id)  # every N decisions: refit in the background
            state.set_current_suggestion(None)
            if pinned is None:
                state.set_review_offset(services.review.next_offset(dataset_id, filters, annotator, offset, item.id))
            st.rerun()

    with st.expander("Every mention of head and tail"):
        st.dataframe(pd.DataFrame(mention_rows(doc, [h, t], ["head", "tail"])), hide_index=True)
    with st.expander("Evidence", expanded=not blind):
        # As the text above numbers them ([0], [1], ...): a bare "0" read as a count of zero sentences.
        if blind:  # from the text alone, not the models' evidence
            shared = services.review.shared_sentences(doc, item)
            st.write("Sentences naming both: " + (" ".join(f"[{i}]" for i in shared) or "none (an inter-sentence pair)"))
        else:
            summary = services.review.evidence_summary(item)
            sentences = services.review.evidence_sentences(item)
            st.write("Sentences naming both: " + (" ".join(f"[{i}]" for i in sentences) or "none (an inter-sentence pair)"))
            st.write(f"Models above their threshold: {summary['agreeing_models']} · type fit: {summary['type_fit']}"
                     + (" · rules: " + markdown_text(", ".join(summary["rules"])) if summary["rules"] else ""))
            if summary["rules"]:
                st.caption(markdown_text(services.review.RULES_HELP))
            votes = services.review.model_votes(item)
            st.dataframe(pd.DataFrame(votes), hide_index=True,
                         column_config={"margin": st.column_config.NumberColumn(format="%+.3f"),
                                        "probability": st.column_config.NumberColumn(format="%.3f")})
            others = services.review.decided_by(item, annotator)
            if others:
                st.caption("Also decided by: " + markdown_text(", ".join(others)))
            key_rows = services.review.key_mention_rows(item, doc)
            if key_rows:
                st.caption("KMGRE key mention pairs: the mentions the model weighs most for this pair.")
                st.dataframe(pd.DataFrame(key_rows), hide_index=True)

if undo:
    try:
        record = services.review.undo(annotator, dataset_id, expected_id=state.undo_target())
    except services.review.AccountError as err:
        ui.drop_identity(str(err))
    except services.review.ReviewError as err:
        state.push_flash(markdown_text(str(err)), "warning")
    else:
        state.push_flash(markdown_text(services.review.undo_message(record)), "success")
        state.set_current_suggestion(record.suggestion_id)
    st.rerun()

# ------------------------------------------------------------------ recent decisions and the queue
st.subheader("Your recent decisions")
recent = services.review.history(annotator, dataset_id, limit=10)
state.set_undo_target(services.review.latest_in_force(recent))
if recent:
    st.dataframe(pd.DataFrame(services.review.history_rows(recent, names)), hide_index=True)
else:
    st.caption("None yet.")
st.subheader("Queue")
PAGE = 20
n_pages = max(1, -(-page.total // PAGE))
page_no = st.number_input(f"Page (of {n_pages}, {PAGE} items each)", 1, n_pages, value=min(offset // PAGE + 1, n_pages),
                          key=f"{Keys.QUEUE_PAGE}.{dataset_id}")
upcoming = services.review.queue(dataset_id, filters, annotator, limit=PAGE, offset=(page_no - 1) * PAGE)
rows = [{"document": s.document_title, "head": s.head_name, "tail": s.tail_name}
        | ({} if blind else {"state": s.state, "relation": rel_label(s.relation), "score": round(s.score, 3)})
        for s in upcoming.items]
table_key = f"{Keys.QUEUE_TABLE}.{dataset_id}.{page_no}"
st.dataframe(pd.DataFrame(rows), hide_index=True, on_select="rerun", selection_mode="single-row", key=table_key)
st.caption("Click a row to open that item.")
clicked_row = state.take_new_table_row(table_key)
if clicked_row is not None and clicked_row < len(upcoming.items):
    state.set_current_suggestion(upcoming.items[clicked_row].id)
    st.rerun()

with st.expander("Yield, re-ranking and when to stop"):
    if not blind:  # the curve shows what the team accepted
        ui.yield_chart(dataset_id, names, "review")
    ui.review_settings_form(dataset_id, "review")
