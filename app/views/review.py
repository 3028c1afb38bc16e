"""Review: the queue of suspected false negatives grouped by entity pair (one item per pair, its relations best
first; pairs below the dataset's minimum probability in a long tail), filtered by relation, document, model and
state; documents without labels are verified instead. Mark relations with 1-9, accept the marked ones (with a
correction) and reject the rest in one decision (A), reject all (X) or skip (S) with the keyboard; U undoes the
whole decision. The annotator's recent decisions, progress, and a blind mode. Every N decisions the
ranker refits on them in the background and the queue re-orders; the yield curve and the stopping threshold
say when review stops paying."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app import panels, services, state, ui
from app.components import colors, keyboard
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
# E, Escape, "?", focus after choices: a same-origin component frame whose script listens on the page itself
ui.install_keys(keyboard.review_script("Relation"))


def rel_label(r: str | None) -> str:
    return "any" if r is None else f"{names.get(r, r)} ({r})"


# ------------------------------------------------------------------ filters (known fields only)
with st.sidebar:
    st.subheader("Queue")
    current = state.review_filters()
    relations = [None] + [rate.relation for rate in services.review.relation_rates(dataset_id, include_controls=True)]
    docs = {d.id: d.title for d in services.documents.documents(dataset_id)}
    runs = {r.id: services.scoring.run_label(r) for r in services.scoring.runs(dataset_id)}
    blind_default, blind_locked = (services.team.blind_default(state.role()),
                                   services.team.blind_locked(dataset_id, state.role()))
    blind = st.toggle("Blind mode", value=blind_locked or state.blind_mode(blind_default), disabled=blind_locked,
                      help=services.review.BLIND_HELP + (services.team.BLIND_LOCKED_HELP if blind_locked else ""))
    filters = ReviewFilters(
        relation=None if blind else st.selectbox("Relation", relations, format_func=rel_label,
                                                 index=relations.index(current.relation)
                                                 if current.relation in relations else 0),
        document_id=st.selectbox("Document", [None, *docs], format_func=lambda i: "any" if i is None else docs[i],
                                 index=([None, *docs].index(current.document_id) if current.document_id in docs
                                        else 0)),
        run_id=st.selectbox("Run", [None, *runs], format_func=lambda i: "any" if i is None else runs[i],
                            index=([None, *runs].index(current.run_id) if current.run_id in runs else 0),
                            help="Items suggested by this model run (a checkpoint scoring this dataset once)."),
        search=st.text_input("Search entity or title", value=current.search, max_chars=200,
                             help="Items whose document title or head or tail name contains this text."),
        state=None if blind else st.selectbox(
            "State", [None, *services.review.STATES], format_func=lambda s: s or "any",
            index=([None, *services.review.STATES].index(current.state) if current.state else 0)),
        # keyed: without a key its identity follows `value`, so a re-tick made a new box that came back unticked
        open_for_me=st.checkbox("Only items I have not decided", value=current.open_for_me, key=Keys.OPEN_FOR_ME),
        long_tail=st.checkbox("Long tail", value=current.long_tail, key=Keys.LONG_TAIL,
                              help="The pairs whose best probability is below this dataset's minimum (a review "
                                   "setting): not counted as pending, opened here."),
        only_my_share=st.checkbox("Only my share", value=current.only_my_share,
                                  help="A curator split this queue between annotators; untick to ask for more "
                                       "(the whole queue).") if services.review.queue_is_split(dataset_id) else True)
    if filters != current or blind != state.blind_mode(blind_default):
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

# ------------------------------------------------------------------ the pair on screen
offset = state.review_offset()
page = services.review.pair_queue(dataset_id, filters, annotator, long_tail=filters.long_tail, limit=1, offset=offset)
if page.total and offset >= page.total:
    offset = page.total - 1
    state.set_review_offset(offset)
    page = services.review.pair_queue(dataset_id, filters, annotator, long_tail=filters.long_tail, limit=1,
                                      offset=offset)
st.caption(f"Queue: {page.queued} pair(s) · long tail: {page.long_tail} pair(s) whose best probability is below "
           f"{page.min_probability:g}, not counted as pending (tick “Long tail” to open them; the expected "
           "yields below include them)")
pinned = state.current_suggestion()
item = services.review.pair_of(pinned) if pinned is not None else (page.items[0] if page.items else None)

if item is None:
    st.success("Nothing to review here: the queue is empty for these filters."
               + (" Untick “Only my share” to ask for more." if filters.only_my_share
                  and services.review.queue_is_split(dataset_id) else "")
               + (f" {page.long_tail} pair(s) wait in the long tail." if page.long_tail and not filters.long_tail
                  else "") if progress.total else
               "No suggestions yet: upload labelled documents and score them on the Upload page.")
    undo = st.button("Undo last", shortcut="U", key=Keys.UNDO)
else:
    doc = services.documents.document(item.document_id)
    h, t = item.h, item.t
    first = item.relations[0]
    pair_key = (item.document_id, h, t)
    marked = state.pair_marks(pair_key)
    where = ("(opened from the queue or brought back by undo)" if pinned is not None
             else f"{offset + 1} of {page.total}" + (" in the long tail" if filters.long_tail else ""))
    st.markdown(f"#### {markdown_text(doc.entities[h].name)} → {markdown_text(doc.entities[t].name)}")
    st.caption(f"Pair {where} · document “{markdown_text(doc.title)}”"
               + ("" if blind else f" · best probability {item.best_score:.3f} · state {first.state}"))
    if item.mode == "verify":
        st.info("Verify predictions: this document came without labels, so these relations are the models' "
                "predictions, not suspected missing labels. Confirm each one the text states; the rest are rejected.")
    labels = services.review.pair_labels(first)
    have = list(labels.gold) + ([] if blind else [r for r, _ in labels.accepted if r not in labels.gold])
    st.markdown("This pair already has: " + (", ".join(
        f"**{markdown_text(rel_label(r))}** ({'gold' if r in labels.gold else 'accepted by review'})" for r in have)
        or "no label yet"))
    st.html(highlight_html(doc, entity_colors={h: colors.HEAD_COLOR, t: colors.TAIL_COLOR},
                           key_mentions=set() if blind else services.review.key_mentions(first),
                           sentences=services.review.item_sentences(doc, first, blind=blind), only_colored=True))
    st.caption("Head in amber, tail in green." if blind else "Head in amber, tail in green; KMGRE key mentions "
               "outlined in red.")

    if not blind:  # the models' candidates, best first; a digit marks one for acceptance
        verb = "confirm" if item.mode == "verify" else "accept"
        st.markdown(f"Suggested relations (press a number to mark one to {verb}):")
        for i, view in enumerate(item.relations):
            mark = f"✓ {verb}" if view.id in marked else "·"
            label = (f"{i + 1} · {rel_label(view.relation)} · p {view.score:.3f} · {mark}"
                     + ("" if view.state == "pending" else f" · {view.state}"))
            if st.button(label, key=f"{Keys.MARK}.{i}"):  # keys 1-9: app/components/keyboard.py
                state.toggle_pair_mark(pair_key, view.id)
                st.rerun()

    # type-compatible relations first; blind: nothing is put first, so no suggestion is given away
    options, compatible = services.review.relation_options(doc, h, t, names)
    relation = st.selectbox("Relation the text states instead (a correction)" if not blind else "Relation", options,
                            format_func=lambda r: rel_label(r) + (" ✓ types fit" if r in compatible else ""),
                            help="A relation listed above is accepted as suggested; any other corrects the first "
                                 "relation you did not mark. Relations seen in training with this pair's entity "
                                 f"types ({doc.entities[h].type} → {doc.entities[t].type}) come first, marked ✓.",
                            index=None, key=f"{Keys.RELATION}.{first.id}.{int(blind)}",
                            placeholder="Choose the relation the text states")
    note = st.text_input("Note (optional)", key=f"{Keys.NOTE}.{first.id}", max_chars=500)
    cols = st.columns(5)
    decision = None
    if cols[0].button("Accept", shortcut="A", type="primary", key=Keys.ACCEPT,
                      help="Accept the marked relations (the first when none is marked) and the chosen correction; "
                           "the other relations of the pair are rejected"):
        decision = "accept"
    if cols[1].button("Reject", shortcut="X", key=Keys.REJECT, help="Reject every relation of the pair"):
        decision = "reject"
    if cols[2].button("Skip", shortcut="S", key=Keys.SKIP):
        decision = "skip"
    undo = cols[3].button("Undo last", shortcut="U", key=Keys.UNDO)
    if cols[4].button("Next", shortcut="N", key=Keys.NEXT, help="Leave this pair for later"):
        state.set_current_suggestion(None)
        state.clear_pair_marks()
        state.set_review_offset(offset + 1)
        st.rerun()
    st.caption("Keys: 1–9 mark a relation · A accept · E correct · X reject all · S skip · U undo · N next · "
               "? all keys")
    panels.annotate.edit_pair(item, doc, annotator, names, blind=blind)  # a wrong head or tail: move the relation

    if decision == "accept" and blind and relation is None:
        st.error("Choose the relation before accepting.")
    elif decision is not None:
        try:
            accept = services.review.plan_pair(item, marked, relation) if decision == "accept" else {}
            services.review.decide_pair(item, annotator, accept=accept, skip=decision == "skip", note=note)
        except services.review.AccountError as err:  # local mode: the name became a team account meanwhile
            ui.drop_identity(str(err))
        except (services.review.DuplicateLabelError, services.review.ReviewError) as err:
            st.error(markdown_text(f"Not recorded: {err}."))
        else:
            state.push_flash(markdown_text(services.review.pair_decision_message(item, accept, decision == "skip",
                                                                                 names)))
            state.set_last_pair_decision(tuple(v.id for v in item.relations))
            state.clear_pair_marks()
            services.learning.after_decision(dataset_id)  # every N decisions: refit in the background
            state.set_current_suggestion(None)
            if pinned is None:
                state.set_review_offset(services.review.next_pair_offset(dataset_id, filters, annotator, offset, item))
            st.rerun()

    with st.expander("Every mention of head and tail"):
        st.dataframe(pd.DataFrame(mention_rows(doc, [h, t], ["head", "tail"])), hide_index=True)
    with st.expander("Evidence", expanded=not blind):
        # As the text above numbers them ([0], [1], ...): a bare "0" read as a count of zero sentences.
        if blind:  # from the text alone, not the models' evidence
            shared = services.review.shared_sentences(doc, first)
            st.write("Sentences naming both: "
                     + (" ".join(f"[{i}]" for i in shared) or "none (an inter-sentence pair)"))
        else:
            st.caption(f"For {markdown_text(rel_label(first.relation))}, the first relation listed.")
            summary = services.review.evidence_summary(first)
            sentences = services.review.evidence_sentences(first)
            st.write("Sentences naming both: " + (" ".join(f"[{i}]" for i in sentences)
                                                  or "none (an inter-sentence pair)"))
            st.write(f"Models above their threshold: {summary['agreeing_models']} · type fit: {summary['type_fit']}"
                     + (" · rules: " + markdown_text(", ".join(summary["rules"])) if summary["rules"] else ""))
            if summary["rules"]:
                st.caption(markdown_text(services.review.RULES_HELP))
            votes = services.review.model_votes(first)
            st.dataframe(pd.DataFrame(votes), hide_index=True,
                         column_config={"margin": st.column_config.NumberColumn(format="%+.3f"),
                                        "probability": st.column_config.NumberColumn(format="%.3f")})
            others = services.review.decided_by(first, annotator)
            if others:
                st.caption("Also decided by: " + markdown_text(", ".join(others)))
            key_rows = services.review.key_mention_rows(first, doc)
            if key_rows:
                st.caption("KMGRE key mention pairs: the mentions the model weighs most for this pair.")
                st.dataframe(pd.DataFrame(key_rows), hide_index=True)

if undo:
    try:  # the latest pair decision is taken back whole; after that, one decision at a time
        last = state.last_pair_decision()
        records = (services.review.undo_pair(annotator, dataset_id, last) if last
                   else [services.review.undo(annotator, dataset_id, expected_id=state.undo_target())])
    except services.review.AccountError as err:
        ui.drop_identity(str(err))
    except services.review.ReviewError as err:
        state.push_flash(markdown_text(str(err)), "warning")
    else:
        shown = next((r for r in records if r.decision == "accept"), records[0])
        state.push_flash(markdown_text(services.review.undo_message(shown)
                                       + (f" ({len(records)} relations of the pair)" if len(records) > 1 else "")),
                         "success")
        state.set_current_suggestion(records[0].suggestion_id)
    state.set_last_pair_decision(())
    state.clear_pair_marks()
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
page_no = st.number_input(f"Page (of {n_pages}, {PAGE} pairs each)", 1, n_pages, value=min(offset // PAGE + 1, n_pages),
                          key=f"{Keys.QUEUE_PAGE}.{dataset_id}")
upcoming = services.review.pair_queue(dataset_id, filters, annotator, long_tail=filters.long_tail, limit=PAGE,
                                     offset=(page_no - 1) * PAGE)
rows = [{"document": p.document_title, "head": p.head_name, "tail": p.tail_name}
        | ({} if blind else {"relations": ", ".join(rel_label(v.relation) for v in p.relations),
                             "probability": round(p.best_score, 3)})
        for p in upcoming.items]
table_key = f"{Keys.QUEUE_TABLE}.{dataset_id}.{page_no}"
st.dataframe(pd.DataFrame(rows), hide_index=True, on_select="rerun", selection_mode="single-row", key=table_key)
st.caption("One row per entity pair, best probability first. Click a row to open that pair.")
clicked_row = state.take_new_table_row(table_key)
if clicked_row is not None and clicked_row < len(upcoming.items):
    state.set_current_suggestion(upcoming.items[clicked_row].relations[0].id)
    state.clear_pair_marks()
    st.rerun()

with st.expander("Yield, re-ranking and when to stop"):
    if not blind:  # the curve shows what the team accepted
        ui.yield_chart(dataset_id, names, "review")
    ui.review_settings_form(dataset_id, "review")
