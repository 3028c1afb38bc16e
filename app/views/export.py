"""Export: the dataset as DocRED JSON with review applied (accepted triples added, with the corrected relation
and provenance: annotator, time, score) and the review log as CSV."""
from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from app import services, ui
from app.state import Keys

ui.page_title("Export")
dataset_id = ui.require_dataset()

info = next(d for d in services.documents.datasets() if d.id == dataset_id)
stem = re.sub(r"[^A-Za-z0-9._-]+", "_", info.name).strip("._") or "dataset"
docs = services.export.reviewed_dataset(dataset_id)
summary = services.export.summary(docs)
cols = st.columns(3)
cols[0].metric("Documents", summary.documents)
cols[1].metric("Labels", summary.labels)
cols[2].metric("Added by review", summary.added_by_review)

st.download_button("Download DocRED JSON", services.export.dataset_json(dataset_id), file_name=f"{stem}.reviewed.json",
                   mime="application/json", type="primary", icon=":material/download:", key=Keys.DL_JSON)
st.caption("Gold labels plus every accepted suggestion (with the corrected relation where the reviewer corrected "
           "it) and minus gold triples a review rejected. Each added label carries a `provenance` key: annotator, "
           "role, time, score, models, and `evidence`: the sentences naming both entities. Every key of the uploaded "
           "file is kept (documents, labels and mentions alike): a document review did not touch comes out as "
           "uploaded.")
st.download_button("Download review log (CSV)", services.export.review_log_csv(dataset_id),
                   file_name=f"{stem}.review-log.csv", mime="text/csv", icon=":material/table:", key=Keys.DL_CSV)
st.caption("Every decision and undo, oldest first: who, when (UTC), decision, relation, note, score.")
added = services.export.added_rows(docs, services.relation_names())
st.subheader("Labels added by review")
if added:
    st.dataframe(pd.DataFrame(added), hide_index=True)
else:
    st.caption("None yet: accept suggestions on the Review page.")
