"""Evaluate: each model run's metrics on the labelled documents, F1 per relation, agreement between
annotators (Cohen's kappa on the items both decided), control items (their setting, and each annotator's
recall and precision on them), each relation's acceptance rate in review, the review's yield per 100 items
with the stopping threshold; for curators in team mode, recent log-in attempts."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app import services, state, ui
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
    st.dataframe(pd.DataFrame([{"annotator A": a.annotator_a, "annotator B": a.annotator_b,
                                "items both decided": a.items,
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

st.subheader("Control items")
controls = services.controls.settings(dataset_id)
in_queue = services.controls.counts(dataset_id)
if controls.enabled:
    st.caption(f"On: {controls.rate:.0%} of the review queue is control items ({in_queue['gold']} gold labels to "
               f"accept, {in_queue['absent']} absent triples to reject, from {len(controls.fully_labelled)} "
               "document(s) vouched fully labelled). They look like any item; decisions on them never reach the "
               "export.")
else:
    st.info("Control items are off for this dataset. When on, the review queue mixes in triples whose answer is "
            "known (gold labels, and triples a fully labelled document lacks) to measure each annotator; they "
            "never change the export.")
if services.team.may_configure(state.role()):
    labelled = {d.id: d.title for d in services.documents.documents(dataset_id) if d.has_labels}
    with st.expander("Set up control items", expanded=False), st.form(Keys.CONTROL_FORM):
        rate = st.number_input("Share of the queue that is control items (0 = off; 0.05 = one in 20)", 0.0,
                               services.controls.MAX_RATE, value=float(controls.rate), step=0.01, format="%.2f",
                               key=Keys.CONTROL_RATE)
        every = st.checkbox("Every labelled document is fully labelled", key=Keys.CONTROL_ALL,
                            value=bool(labelled) and set(controls.fully_labelled) == set(labelled),
                            help="Vouch that the labels list every true triple: a triple they lack is then known "
                                 "to be absent, the controls precision needs. Without it, controls are gold only.")
        chosen = st.multiselect("Or only these documents are fully labelled", list(labelled),
                                default=[i for i in controls.fully_labelled if i in labelled],
                                format_func=lambda i: labelled[i], key=Keys.CONTROL_DOCS)
        if st.form_submit_button("Save"):
            try:
                sync = services.controls.configure(dataset_id, rate, None if every else chosen,
                                                   by=state.annotator() or "local")
            except (services.review.AccountError, ValueError) as err:
                st.error(markdown_text(str(err)))
            else:
                state.push_flash(f"Control items saved: {sync.added} added, {sync.removed} removed, "
                                 f"{sync.total} in the queue.", "success")
                st.rerun()
scores = services.controls.scores(dataset_id)
if scores:
    st.dataframe(pd.DataFrame(services.controls.score_rows(scores)), hide_index=True)
    st.caption("Each annotator's current decisions on control items. Recall: gold labels accepted (with their "
               "relation) of those accepted or rejected. Precision: of the controls accepted, the gold ones with "
               "their relation. Skips are no judgement.")
    few = services.controls.few(scores)
    if few:
        st.warning(markdown_text(
            "Few control items judged: " + ", ".join(f"{c.annotator} ({c.judged})" for c in few)
            + f". Below {services.controls.MIN_CONTROL_ITEMS} the figures move a lot with each decision; read "
              "them as a first sign, not a measure."))
elif controls.enabled:
    st.caption("No control item decided yet.")

st.subheader("Acceptance in review")
rates = services.review.relation_rates(dataset_id)
decided = [r for r in rates if r.accepted + r.corrected + r.rejected]
if not rates:
    st.info("No suggestions yet.")
else:
    rows = [{"relation": r.relation, "name": names.get(r.relation, r.relation), "suggested": r.total,
             "accepted": r.accepted, "corrected": r.corrected, "rejected": r.rejected, "conflict": r.conflict,
             "acceptance rate": None if r.acceptance_rate is None else round(r.acceptance_rate, 3)} for r in rates]
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    if decided:
        st.plotly_chart(evaluation.acceptance_figure([row for row in rows
                                                      if row["accepted"] + row["corrected"] + row["rejected"]]),
                        key=Keys.ACCEPTANCE)

st.subheader("Yield of the review")
ui.stop_message(dataset_id)
ui.refit_status(dataset_id)
ui.yield_chart(dataset_id, names, "evaluate")
with st.expander("Re-ranking and stopping settings"):
    ui.review_settings_form(dataset_id, "evaluate")

st.subheader("Fine-tune on this dataset")
st.caption("Train the dataset's model a few more epochs on its exported labels (gold + accepted − rejected) in the "
           "background. The new model is listed beside the others with its lineage (base model, dataset, number of "
           "decisions, time); rescore the pending queue with it in one click. Probabilities keep the base model's "
           "calibration.")
st.caption("Besides the labels, the job trains on the base model's own predictions that review did not reject: a "
           "pair without a label trains as “no relation”, and on a partly reviewed dataset that taught the model to "
           "predict fewer (Revisit: held-out F1 56 → 41-44 without them, within 1.2 of 56 with them; "
           "bench/RESULTS.md, “Fine-tuning on reviewed labels”).")
if services.team.may_configure(state.role()):
    models = {m.path: m for m in services.available_models()}
    current = services.finetune.dataset_model(dataset_id)
    if not models or current is None:
        st.info("No model to fine-tune: put a checkpoint in the models directory first.")
    else:
        with st.form(Keys.FINETUNE_FORM):
            base = st.selectbox("Base model", list(models), index=list(models).index(current),
                                format_func=lambda p: models[p].label, key=Keys.FINETUNE_BASE)
            epochs = st.number_input("Epochs", 1, services.finetune.MAX_EPOCHS, services.finetune.DEFAULT_EPOCHS,
                                     key=Keys.FINETUNE_EPOCHS)
            if st.form_submit_button("Fine-tune on this dataset"):
                try:
                    job_id = services.finetune.start(dataset_id, base, int(epochs), state.annotator() or "local")
                except (services.finetune.FinetuneRefused, services.review.AccountError) as err:
                    st.error(markdown_text(f"Not started: {err}"))
                else:
                    state.push_flash(f"Fine-tuning queued as job {job_id}.", "success")
                    st.rerun()
else:
    st.caption("Only curators start fine-tuning.")


@st.fragment(run_every=1.0 if any(j.status not in services.jobs.FINISHED
                                  for j in services.finetune.fine_tune_jobs(dataset_id)) else None)
def finetune_jobs() -> None:
    """The dataset's fine-tune jobs with true progress (epoch and step of all, elapsed); polls while one runs."""
    for job in services.finetune.fine_tune_jobs(dataset_id)[:5]:
        progress = services.finetune.progress(job)
        if job.status == "failed":
            st.error(markdown_text(f"Job {job.id} failed: {job.error}"))
            continue
        st.progress(job.fraction, text=markdown_text(f"Job {job.id} {progress.text}"))
        model_path = services.finetune.finished_model(job)
        if model_path is None:
            continue
        lineage = progress.lineage or {}
        st.caption(markdown_text(
            f"New model {progress.model}: from {lineage.get('base_model')} on {lineage.get('dataset')}, "
            f"{lineage.get('decisions')} decisions, {lineage.get('documents')} documents with "
            f"{lineage.get('labels')} labels, {lineage.get('fine_tuned_at')}."))
        if services.team.may_configure(state.role()) and st.button(
                f"Rescore the pending queue with {progress.model}", key=f"{Keys.FINETUNE_RESCORE}.{job.id}"):
            try:
                scoring = services.finetune.rescore_pending(dataset_id, model_path, state.annotator() or "local")
            except (services.resources.ModelError, services.review.AccountError) as err:
                st.error(markdown_text(f"Not rescored: {err}"))
            else:
                if scoring is None:
                    st.info("Nothing is pending in the queue.")
                else:
                    state.set_scoring_job(scoring)
                    state.push_flash(f"Rescoring the pending queue as job {scoring}; its progress shows on Upload.")
                    st.rerun(scope="app")


finetune_jobs()
