"""Evaluate: each model run's metrics on the labelled documents, F1 per relation, agreement between
annotators (Cohen's kappa on the items both decided), each relation's acceptance rate in review, the review's
yield per 100 items with the stopping threshold; for curators in team mode, recent log-in attempts."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app import services, ui
from app.components import evaluation
from app.components.text import markdown_text
from app.state import Keys

ui.page_title("Evaluate")
ui.login_audit()
dataset_id = ui.require_dataset()
names = services.relation_names()

st.subheader("Models on the gold labels")
n_labelled = services.evaluation.labelled_count(dataset_id)
if not n_labelled:
    st.info("This dataset has no documents with gold labels, so there is nothing to score models against.")
else:
    reviewed = st.toggle("Gold includes review (accepted added, rejected removed)", value=False)
    reports = services.evaluation.evaluations(dataset_id, reviewed_gold=reviewed)
    if not reports:
        st.info(f"{n_labelled} labelled document(s), but no model has scored them yet.")
    else:
        st.dataframe(evaluation.metric_table(reports), hide_index=True)
        st.caption("Micro precision, recall and F1 in percent over (head, tail, relation) triples, as DocRED's "
                   "script counts them; intra/inter: pairs with/without a sentence mentioning both; pair F1: "
                   "whether a pair has any relation.")
        st.plotly_chart(evaluation.per_relation_figure(reports, names), key=Keys.PER_RELATION)
        with st.expander("Per-relation table"):
            st.dataframe(evaluation.per_relation_table(reports, names), hide_index=True)

st.subheader("Agreement between annotators")
agreement = services.evaluation.agreement(dataset_id)
if not agreement:
    st.info("Agreement needs two annotators who both accepted or rejected the same suggestions.")
else:
    st.dataframe(pd.DataFrame([{"annotator A": a.annotator_a, "annotator B": a.annotator_b, "items both decided": a.items,
                                "observed agreement": round(a.observed, 3), "Cohen's kappa": round(a.kappa, 3)}
                               for a in agreement]), hide_index=True)
    st.caption("Labels compared: the relation accepted (a correction counts as a different answer) or “reject”; "
               "skips are left out.")
    few = [a for a in agreement if a.items < services.evaluation.MIN_KAPPA_ITEMS]
    if few:
        st.warning(markdown_text(
            "Too few shared items for a meaningful kappa: " + ", ".join(
                f"{a.annotator_a} and {a.annotator_b} ({a.items} item{'s' if a.items != 1 else ''})" for a in few)
            + f". Kappa over fewer than {services.evaluation.MIN_KAPPA_ITEMS} items both decided swings wildly "
              "(over a single item it is 1 or 0 by construction); read it as anecdote."))

st.subheader("Acceptance in review")
rates = services.review.relation_rates(dataset_id)
decided = [r for r in rates if r.accepted + r.rejected]
if not rates:
    st.info("No suggestions yet.")
else:
    rows = [{"relation": r.relation, "name": names.get(r.relation, r.relation), "suggested": r.total,
             "accepted": r.accepted, "rejected": r.rejected, "conflict": r.conflict,
             "acceptance rate": None if r.acceptance_rate is None else round(r.acceptance_rate, 3)} for r in rates]
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    if decided:
        st.plotly_chart(evaluation.acceptance_figure([row for row in rows if row["accepted"] + row["rejected"]]),
                        key=Keys.ACCEPTANCE)

st.subheader("Yield of the review")
ui.stop_message(dataset_id)
ui.refit_status(dataset_id)
ui.yield_chart(dataset_id, names, "evaluate")
with st.expander("Re-ranking and stopping settings"):
    ui.review_settings_form(dataset_id, "evaluate")
