"""Upload: DocRED JSON (many documents; invalid ones listed with the reason) or raw text (entities found by
the engine, fixed in a table), stored into a dataset and scored by the chosen models with a progress bar."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app import services, state, ui
from app.components.text import markdown_text
from app.services.documents import ENTITY_TYPES, UploadError
from app.state import Keys

ui.page_title("Upload documents")


def choose_models(key: str) -> list[str]:
    for line in services.resources.skipped_models():  # a broken model directory is named, the others still work
        st.warning(markdown_text(f"Model directory skipped, it cannot be used: {line}"))
    models = services.available_models()
    if not models:
        st.warning(markdown_text(f"No model found under {services.resources.settings().models_dir}: documents are "
                                 "stored unscored. Put a checkpoint directory there (or set DOCRE_MODELS_DIR)."))
        return []
    default = services.resources.default_model_path() or models[0].path
    by_path = {m.path: m for m in models}
    return st.multiselect("Score with", list(by_path), default=[default], format_func=lambda p: by_path[p].label,
                          help="Several models rank the review queue together.", key=key)


def start_scoring(dataset_id: int, doc_ids: list[int], model_paths: list[str]) -> None:
    try:
        with st.spinner("Loading models…"):
            state.set_scoring_job(services.jobs.start_scoring(dataset_id, doc_ids, model_paths,
                                                               state.annotator() or "local"))
    except services.resources.ModelError as err:
        state.push_flash(markdown_text(f"A model could not be loaded, nothing was scored: {err}"), "error")


def store_and_score(dataset: str, docs: list, model_paths: list[str], sources: list | None = None,
                    upload: tuple[bytes, str] | None = None) -> None:
    """Store `docs` (or, streamed, the DocRED JSON `upload` as (bytes, file name)) and start scoring them."""
    try:
        dataset_id, result = (services.documents.store_docred(dataset, *upload) if upload is not None
                              else services.documents.store_upload(dataset, docs, sources))
    except (UploadError, ValueError) as err:
        st.error(markdown_text(f"Nothing was stored: {err}"))
        return
    state.set_dataset_id(dataset_id)
    state.next_upload_round()
    if result.added:
        state.set_document_id(result.added[0])
    message = f"Stored {len(result.added)} document(s) in “{markdown_text(dataset)}”."
    if result.skipped:
        message += f" {len(result.skipped)} skipped:\n" + "\n".join(f"- {markdown_text(s.reason)}"
                                                                  for s in result.skipped) + "\n\n"
    if result.skipped and not result.added:
        message += " To score them with other models, use “Score stored documents” below."
    state.push_flash(message)
    if result.added and model_paths:
        start_scoring(dataset_id, list(result.added), model_paths)
    st.rerun()


@st.fragment(run_every=1.0 if state.scoring_job() else None)  # polls only while a job runs
def scoring_progress() -> None:
    job_id = state.scoring_job()
    job = services.jobs.get(job_id) if job_id is not None else None
    if job is None:
        state.set_scoring_job(None)
        return
    if job.status not in services.jobs.FINISHED:
        st.progress(job.fraction, text=services.jobs.progress_text(job))
        return
    services.scoring.clear_caches()
    services.documents.clear_caches()
    state.set_scoring_job(None)
    if job.status == "failed":
        state.push_flash(markdown_text(f"Scoring failed: {job.error}"), "error")
    else:
        state.push_flash(f"Scored with {len(job.run_ids)} model(s); {job.suggestions or 0} suggestion(s) in the "
                         "review queue. Open the Document or Review page.")
        problem = services.scoring.type_stats_warning()
        if problem:
            state.push_flash(markdown_text(problem), "warning")
    st.rerun(scope="app")


def _jobs_running() -> bool:
    current = state.dataset_id()
    return current is not None and any(j.status in ("queued", "running") for j in services.jobs.jobs(current))


@st.fragment(run_every=2.0 if _jobs_running() else None)  # refreshes only while a job is queued or running
def jobs_table() -> None:
    current = state.dataset_id()
    listed = services.jobs.jobs(current) if current is not None else []
    if not listed:
        return
    st.subheader("Scoring jobs")
    st.dataframe(pd.DataFrame(services.jobs.job_rows(listed)), hide_index=True, column_config={
        "progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0, format="percent")})


scoring_progress()
jobs_table()
dataset_name = st.text_input("Dataset", value="default", max_chars=200,
                             help="Documents go into this dataset (created when new).")
# keyed and state-tracking, so storing a text (a rerun) stays on the Text tab instead of jumping to the first
json_tab, text_tab = st.tabs(["DocRED JSON", "Text"], key=Keys.UPLOAD_TAB, on_change="rerun")

with json_tab:
    upload = st.file_uploader("DocRED JSON file (a list of documents)", type=["json"],
                              key=f"{Keys.JSON_UPLOAD}.{state.upload_round()}")
    if upload is not None:
        try:
            loaded = services.documents.scan_docred(upload.getvalue(), upload.name)
        except UploadError as err:
            st.error(markdown_text(f"Nothing was stored. {err}"))
            loaded = None
        if loaded is not None:
            st.write(f"**{loaded.valid}** valid document(s), **{len(loaded.problems)}** invalid.")
            if loaded.warnings:  # stored all the same: the model reads the tokens, reviewers read the names
                with st.expander(f"{len(loaded.warnings)} mention(s) whose name differs from its tokens "
                                 "(stored as is)"):
                    st.dataframe(pd.DataFrame([{"document": w.doc_index, "title": w.title, "problem": w.message}
                                               for w in loaded.warnings]), hide_index=True)
            if loaded.problems:
                st.warning("Invalid documents are listed below and will not be stored.")
                st.dataframe(pd.DataFrame([{"document": p.doc_index, "title": p.title, "field": p.field,
                                            "index": p.index, "problem": p.message} for p in loaded.problems]),
                             hide_index=True)
            if loaded.valid:
                paths = choose_models(Keys.MODELS_JSON)
                if st.button(f"Store {loaded.valid} document(s)" + (" and score" if paths else ""),
                             type="primary", key=Keys.STORE_JSON):
                    store_and_score(dataset_name, [], paths, upload=(upload.getvalue(), upload.name))

with text_tab:
    text_file = st.file_uploader("Text file (.txt, UTF-8)", type=["txt"],
                                 key=f"{Keys.TEXT_UPLOAD}.{state.upload_round()}")
    pasted = st.text_area("…or paste text", height=160, key=Keys.PASTED)
    title = st.text_input("Title", value=text_file.name.rsplit(".", 1)[0] if text_file else "pasted text")
    if st.button("Find entities", key=Keys.INGEST):
        problem = services.documents.text_input_problem(text_file is not None, pasted)
        data, name = ((text_file.getvalue(), text_file.name) if text_file is not None
                      else (pasted.encode("utf-8"), "pasted.txt"))
        if problem:
            st.error(problem)
            state.set_pending_text(None)
        else:
            try:
                with st.spinner("Finding sentences and entities…"):
                    state.set_pending_text(services.documents.ingest(data, name))
            except UploadError as err:
                state.set_pending_text(None)
                st.error(markdown_text(f"Nothing was stored. {err}"))
    pending = state.pending_text()
    if pending is not None:
        st.subheader("Entities found: fix them before scoring")
        st.caption("One row per mention. Rows with the same entity number are one entity; change a type, delete "
                   "a wrong mention, or add one by sentence and token span (end exclusive).")
        with st.expander("Sentences with token numbers"):
            st.dataframe(pd.DataFrame({"sentence": range(len(pending.sents)), "tokens": [
                " ".join(f"{i}:{tok}" for i, tok in enumerate(sent)) for sent in pending.sents]}), hide_index=True)
        edited = st.data_editor(
            services.documents.mention_table(pending), num_rows="dynamic", hide_index=True, key=Keys.MENTIONS,
            column_config={
                "entity": st.column_config.NumberColumn("entity", min_value=0, step=1, required=True),
                "name": st.column_config.TextColumn("name (from tokens)", disabled=True),
                "type": st.column_config.SelectboxColumn("type", options=list(ENTITY_TYPES), required=True),
                "sentence": st.column_config.NumberColumn("sentence", min_value=0, step=1, required=True),
                "start": st.column_config.NumberColumn("start", min_value=0, step=1, required=True),
                "end": st.column_config.NumberColumn("end", min_value=1, step=1, required=True)})
        paths = choose_models(Keys.MODELS_TEXT)
        if st.button("Store" + (" and score" if paths else ""), type="primary", key=Keys.STORE_TEXT):
            try:
                doc = services.documents.document_from_table(pending, edited.to_dict("records"), title.strip() or None)
            except UploadError as err:
                st.error(markdown_text(f"Nothing was stored. {err}"))
            else:
                state.set_pending_text(None)
                store_and_score(dataset_name, [doc], paths)
        st.caption(f"{pending.num_entities} entities in {len(pending.sents)} sentences.")

with st.expander("Score stored documents"):
    stored = services.documents.datasets()
    if not stored:
        st.caption("Nothing stored yet.")
    else:
        names = {d.id: f"{d.name} ({d.n_documents} docs)" for d in stored}
        chosen = st.selectbox("Dataset to score", list(names), format_func=names.__getitem__, key=Keys.SCORE_DATASET)
        paths = choose_models(Keys.MODELS_STORED)
        if paths and st.button("Score every document of the dataset", key=Keys.SCORE_STORED):
            state.set_dataset_id(chosen)
            start_scoring(chosen, [d.id for d in services.documents.documents(chosen)], paths)
            st.rerun()
