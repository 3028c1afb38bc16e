"""Fine-tuning on Evaluate: the button queues a fine-tune job of the dataset's model (curators only in team mode);
a dataset without labels is refused by name; a finished job's model is listed with its lineage and rescoring
the pending queue with it is one click (a scoring job of the documents still pending)."""
from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

pytest.importorskip("streamlit")

from app import services
from app.state import Keys
from tests.app.page_support import app, seed_ids, texts
from tests.app_support import FakeBrowser

BUTTON = "Fine-tune on this dataset"


@pytest.fixture(autouse=True)
def external_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """No in-process worker: the test runs the queued job itself (or leaves it queued)."""
    monkeypatch.setenv(services.jobs.WORKER_ENV, "external")


def _bars(at) -> str:
    """The progress bars' texts (Markdown escapes removed)."""
    return "\n".join(re.sub(r"\\(.)", r"\1", bar.proto.text) for bar in at.get("progress"))


def _submit(at):
    next(b for b in at.button if b.label == BUTTON).click().run()
    assert not at.exception, at.exception
    return at


def test_the_button_queues_a_fine_tune_of_the_datasets_model(seeded: Path, models_dir: Path) -> None:
    dataset_id, doc_ids = seed_ids()
    at = app("evaluate", **{"docre.dataset_id": dataset_id})
    assert at.selectbox(key=Keys.FINETUNE_BASE).value == str((models_dir / "tiny2").resolve())  # scored last
    at.number_input(key=Keys.FINETUNE_EPOCHS).set_value(2)
    _submit(at)
    (job,) = services.finetune.fine_tune_jobs(dataset_id)
    assert f"Fine-tuning queued as job {job.id}" in texts(at)
    labelled = [d.id for d in services.documents.documents(dataset_id) if d.has_labels]
    assert (job.kind, job.status, list(job.document_ids), job.details["epochs"]) == ("finetune", "queued", labelled, 2)
    assert job.details["models_dir"] == str(services.resources.user_models_dir())
    assert f"Job {job.id} queued: epoch 0/2, step 0/{job.total}" in _bars(at)
    _submit(at)  # a second one while the first waits: refused, nothing more queued
    assert "is already being fine-tuned" in texts(at) and len(services.finetune.fine_tune_jobs(dataset_id)) == 1


def test_a_dataset_without_labels_is_refused_by_name(env: Path, redocred_docs) -> None:
    from tests.app_support import small_labelled

    docs = [replace(d, facts=None) for d in small_labelled(list(redocred_docs), 2)]
    dataset_id, _ = services.documents.store_upload("plain texts", docs)
    at = _submit(app("evaluate", **{"docre.dataset_id": dataset_id}))
    shown = re.sub(r"\\(.)", r"\1", "\n".join(e.value for e in at.error))  # Markdown escapes removed
    assert "Not started: dataset 'plain texts' has no labels to fine-tune on" in shown
    assert services.finetune.fine_tune_jobs(dataset_id) == []


def test_in_team_mode_only_curators_fine_tune(team_roles: tuple, browser: FakeBrowser) -> None:
    dataset_id, _ = seed_ids()
    for (name, role), allowed in zip(team_roles, (False, True)):
        browser.sign_in(name)
        at = app("evaluate", **{"docre.annotator": name, "docre.role": role, "docre.dataset_id": dataset_id})
        assert any(b.label == BUTTON for b in at.button) is allowed
    with pytest.raises(services.review.AccountError, match="only curators fine-tune"):
        services.finetune.start(dataset_id, services.finetune.dataset_model(dataset_id), 1, by="dan")
    assert services.finetune.fine_tune_jobs(dataset_id) == []


def test_a_finished_model_is_listed_with_its_lineage_and_rescores_the_queue_in_one_click(seeded: Path) -> None:
    from db.workflows.worker import drain  # noqa: PLC0415

    dataset_id, _ = seed_ids()
    job_id = services.finetune.start(dataset_id, services.finetune.dataset_model(dataset_id), 1, by="local")
    assert drain(services.resources.factory(), "test-worker") == 1
    job = services.jobs.get(job_id)
    assert job.status == "done", job.error
    name = job.details["model"]
    assert services.finetune.finished_model(job) == job.details["model_path"]  # and the model list is re-read
    (listed,) = [m for m in services.available_models() if m.name == name]
    assert Path(listed.path).parent == services.resources.user_models_dir()
    assert f"fine-tuned from tiny2 on seed ({job.details['lineage']['decisions']} decisions)" in listed.label
    at = app("evaluate", **{"docre.dataset_id": dataset_id})
    assert f"New model {name}: from tiny2 on seed" in texts(at)
    assert f"Job {job_id} done: epoch 1/1, step {job.total}/{job.total}" in _bars(at)
    at.button(key=f"{Keys.FINETUNE_RESCORE}.{job_id}").click().run()
    assert not at.exception, at.exception
    rescore = next(j for j in services.jobs.jobs(dataset_id) if j.kind == "score")
    assert list(rescore.checkpoints) == [listed.path] and rescore.status == "queued"
    from db import store  # noqa: PLC0415

    with services.resources.session() as s:
        assert list(rescore.document_ids) == store.undecided_document_ids(s, dataset_id)
    assert f"Rescoring the pending queue as job {rescore.id}" in texts(at)
