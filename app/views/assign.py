"""Assign: a curator splits the dataset's review queue between annotators (by document or round-robin, each
item to k of them: the overlap) and follows each one's progress, speed and agreement with the others."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app import services, state, ui
from app.components.text import markdown_text
from app.state import Keys

ui.page_title("Assign")
dataset_id = ui.require_dataset()
is_curator = state.role() == "curator"

shares = services.review.queue_is_split(dataset_id)
team = services.team.annotator_progress(dataset_id)
agreement = services.evaluation.agreement(dataset_id)
names = sorted(set(shares) | {p.annotator for p in team})
rows = []
for name in names:
    done = next((p for p in team if p.annotator == name), None)
    mine = [a for a in agreement if name in (a.annotator_a, a.annotator_b)]
    rows.append({"annotator": name, "assigned": shares.get(name, 0), "decided": done.decided if done else 0,
                 "accepted": done.accepted if done else 0, "rejected": done.rejected if done else 0,
                 "items/hour": None if done is None or done.items_per_hour is None else round(done.items_per_hour, 1),
                 "mean kappa with others": round(sum(a.kappa for a in mine) / len(mine), 3) if mine else None,
                 "items shared with others": sum(a.items for a in mine)})
st.subheader("Progress by annotator")
if rows:
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    st.caption("assigned: suggestions in their share (0 when the queue is not split); decided: their current "
               "decisions; items/hour: decisions between their first and last; kappa: Cohen's, over the items "
               "they and another annotator both accepted or rejected.")
else:
    st.caption("Nobody has decided anything in this dataset yet.")

st.subheader("Split the queue")
if not is_curator:
    st.info("Only curators split the queue.")
    st.stop()
people = st.multiselect("Annotators", services.team.annotator_names(), default=[n for n in shares] or None,
                        help="Names appear once they have entered them (local mode) or have an account (team mode).")
mode = st.radio("Split", services.team.SPLIT_MODES, horizontal=True,
                format_func={"document": "by document (all of a document's items to one person)",
                             "round-robin": "round-robin (entity pairs dealt in queue order)"}.get)
overlap = st.number_input("Annotators per item (overlap)", 1, services.team.MAX_OVERLAP,
                          value=services.team.overlap(dataset_id), step=1, key=Keys.OVERLAP,
                          help="Each document or pair goes to this many annotators: 1 shares the work out, 2 or "
                               "more is an agreement study (kappa over the items they share; annotators review it "
                               "blind in team mode). Saved for the dataset when you split.")
st.caption("Only undecided items (pending or skipped) are dealt out again; decided ones keep their owner. Each "
           "annotator then sees only their share, unless they untick “Only my share” on the Review page.")
if st.button("Split the queue", type="primary", disabled=not people, key=Keys.SPLIT):
    try:
        counts = services.team.split_queue(dataset_id, people, mode, state.annotator(), overlap=int(overlap))
    except (services.review.ReviewError, services.review.AccountError, ValueError, LookupError) as err:
        st.error(markdown_text(f"Not split: {err}."))
    else:
        state.push_flash(markdown_text("Queue split: " + ", ".join(f"{n} {c}" for n, c in counts.items())))
        st.rerun()
