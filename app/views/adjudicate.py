"""Adjudicate: conflicts (annotators disagree) with both decisions, notes and who/when; a curator resolves
each into the final decision the export uses. A resolution is one more review: the log keeps everything."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app import panels, services, state, ui
from app.components import colors
from app.components.text import highlight_html, markdown_text

ui.page_title("Adjudicate")
curator = state.annotator() if state.role() == "curator" else None
if curator is None:
    st.info("Only curators resolve conflicts; you can read them here. "
            + ("Ask an administrator for a curator account." if services.review.team_mode() else
               "Local mode: `python -m db set-role NAME --role curator` makes a name a curator (enter it again)."))
dataset_id = ui.require_dataset()
names = services.relation_names()


def rel_label(r: str) -> str:
    return f"{names.get(r, r)} ({r})"


include_resolved = st.toggle("Show resolved conflicts too", value=False)
page = services.adjudication.conflicts(dataset_id, include_resolved=include_resolved, limit=20)
st.caption(f"{page.total} conflict(s)" + (" (open and resolved)" if include_resolved else " to resolve")
           + (f"; the first {len(page.items)} are shown, best score first." if page.total > len(page.items) else "."))
if not page.items:
    st.success("No conflicts: the annotators agree on everything decided so far.")

for item in page.items:
    doc = services.documents.document(item.document_id)
    title = f"{item.head_name} → {item.tail_name} · {rel_label(item.relation)} · “{item.document_title}” · {item.state}"
    with st.expander(markdown_text(title), expanded=item.state == "conflict"):
        st.dataframe(pd.DataFrame(services.adjudication.decision_rows(item, names)), hide_index=True)
        labels = services.review.pair_labels(item)
        st.caption("The pair's labels now: " + (", ".join(markdown_text(rel_label(r)) for r in sorted(labels.all()))
                                                or "none"))
        st.html(highlight_html(doc, entity_colors={item.h: colors.HEAD_COLOR, item.t: colors.TAIL_COLOR},
                               sentences=services.review.item_sentences(doc, item, blind=True), only_colored=True))
        if curator is not None and item.state == "conflict":
            with st.form(f"docre.f.adjudicate.{item.id}"):
                proposed = services.adjudication.proposed_relations(item)
                options = proposed + sorted((r for r in names if r not in proposed), key=lambda r: names[r])
                relation = st.selectbox("Relation, if accepted", options, format_func=rel_label,
                                        help="The annotators' answers first.")
                note = st.text_input("Note (why)", max_chars=500)
                cols = st.columns(2)
                accept = cols[0].form_submit_button("Resolve: accept", type="primary")
                reject = cols[1].form_submit_button("Resolve: reject")
            if accept or reject:
                decision = "accept" if accept else "reject"
                try:
                    services.adjudication.resolve(item.id, curator, decision,
                                                  relation=relation if accept else None, note=note)
                except services.review.ReviewError as err:
                    st.error(markdown_text(f"Not resolved: {err}."))
                else:
                    state.push_flash(markdown_text("Resolved: " + services.review.decision_message(
                        decision, item, relation if accept else None, names)))
                    st.rerun()
        with st.popover("Full review log of this item"):
            st.dataframe(pd.DataFrame(services.adjudication.trail_rows(services.adjudication.trail(item.id))),
                         hide_index=True)

panels.annotate.flag_list(dataset_id, curator, names)  # gold labels annotators flagged wrong
