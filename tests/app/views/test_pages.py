"""Every page under streamlit.testing's AppTest: no exception, the expected elements and values.

A database is seeded once per module (three real documents plus a hostile one, scored by two tiny random
models); each test works on its own copy of it, so reviews in one test never leak into another."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest

from app import services
from app.state import Keys
from db import accounts
from tests.app.page_support import APP_DIR, MAIN, TIMEOUT, app, figures, seed_ids, texts
from tests.app_support import EVIL_SCRIPT, FakeBrowser, docred_bytes, hostile_document

VIEWS = sorted(p.stem for p in (APP_DIR / "views").glob("*.py"))
ACCOUNT_PASSWORD = "a long enough passphrase"


# ------------------------------------------------------------------ Upload

def test_upload_docred_lists_invalid_and_stores_valid(env: Path, sample_docs: list) -> None:
    at = app()
    assert at.title[0].value == "Upload documents"
    at.file_uploader(key=f"{Keys.JSON_UPLOAD}.0").upload("docs.json", docred_bytes(sample_docs[:2], extra_invalid=True),
                                                     "application/json").run()
    assert "**2** valid document(s), **1** invalid." in texts(at)
    problems = at.dataframe[0].value
    assert list(problems["title"]) == ["broken one"] and "999" in problems["problem"][0]
    assert [Path(p).name for p in at.multiselect[0].value] == ["tiny"]  # the DEFAULT model, preselected
    at.button(key=Keys.STORE_JSON).click().run()
    assert "Stored 2 document(s)" in texts(at)
    job = services.jobs.wait(at.session_state["docre.scoring_job"])
    assert job is not None and job.error is None and job.run_ids
    at.run()
    assert f"Scored with 1 model(s); {job.suggestions} suggestion(s) in the review queue" in texts(at)
    assert job.suggestions is not None and job.suggestions > 0  # read from the job's row, the one mechanism
    assert at.file_uploader(key=f"{Keys.JSON_UPLOAD}.1").value is None  # the uploader starts empty again
    dataset_id, doc_ids = seed_ids()
    assert len(doc_ids) == 2 and services.review.progress(dataset_id).total > 0


def test_upload_malformed_json_stores_nothing(env: Path) -> None:
    at = app()
    at.file_uploader(key=f"{Keys.JSON_UPLOAD}.0").upload("bad.json", b'[{"title": "x",', "application/json").run()
    assert not at.exception
    assert "not valid JSON" in at.error[0].value and "Nothing was stored" in at.error[0].value
    assert not [b for b in at.button if b.key == Keys.STORE_JSON]
    assert services.documents.datasets() == []


def test_upload_over_the_size_limit(env: Path, sample_docs: list, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services.documents, "upload_limit_mb", lambda: 0)
    at = app()
    at.file_uploader(key=f"{Keys.JSON_UPLOAD}.0").upload("docs.json", docred_bytes(sample_docs[:1]),
                                                         "application/json").run()
    assert "over the 0 MB upload limit" in at.error[0].value
    assert services.documents.datasets() == []


def test_upload_text_in_unknown_encoding(env: Path) -> None:
    at = app()
    at.file_uploader(key=f"{Keys.TEXT_UPLOAD}.0").upload("latin.txt", "Café in Zürich".encode("latin-1"), "text/plain")
    at.button(key=Keys.INGEST).click().run()
    assert "UTF-8" in at.error[0].value and "Nothing was stored" in at.error[0].value
    assert services.documents.datasets() == []


def test_upload_text_shows_editable_entities_then_stores(env: Path) -> None:
    pytest.importorskip("spacy")
    at = app()
    at.text_area(key=Keys.PASTED).input("Barack Obama was born in Hawaii. Obama later lived in Chicago.")
    at.button(key=Keys.INGEST).click().run()
    assert not at.exception
    table = at.data_editor[0].value
    assert {"entity", "name", "type", "sentence", "start", "end"} <= set(table.columns)
    assert "Obama" in " ".join(table["name"])
    at.button(key=Keys.STORE_TEXT).click().run()
    job = services.jobs.wait(at.session_state["docre.scoring_job"])
    assert job is not None and job.error is None
    dataset_id, doc_ids = seed_ids()
    doc = services.documents.document(doc_ids[0])
    assert doc.facts is None and doc.num_entities >= 2


def test_scoring_stored_documents_again_adds_to_the_models_run(seeded: Path, models_dir: Path) -> None:
    # one run per model and dataset: rescoring with a model that scored the dataset fills its run, no new one
    dataset_id, _ = seed_ids()
    path = str((models_dir / "tiny2").resolve())
    before = {run.id: run.checkpoint for run in services.scoring.runs(dataset_id)}
    at = app()
    at.multiselect(key=Keys.MODELS_STORED).set_value([path])
    at.button(key=Keys.SCORE_STORED).click().run()
    job = services.jobs.wait(at.session_state["docre.scoring_job"])
    assert job is not None and job.error is None
    assert [before[run_id] for run_id in job.run_ids] == [path]
    at.run()
    services.scoring.clear_caches()
    assert {run.id: run.checkpoint for run in services.scoring.runs(dataset_id)} == before


def test_a_broken_model_directory_is_skipped_with_a_warning(seeded: Path, models_dir: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """One tampered checkpoint among the models: the page warns about it, the good models stay usable."""
    mixed = tmp_path / "mixed_models"
    mixed.mkdir()
    shutil.copytree(models_dir / "tiny", mixed / "tiny")  # a copy: a link out of the models folder is refused
    (mixed / "DEFAULT").write_text("tiny", encoding="utf-8")
    (mixed / "broken").mkdir()
    (mixed / "broken" / "config.json").write_text("[1, 2]", encoding="utf-8")  # list-shaped
    (mixed / "broken" / "model.safetensors").write_bytes(b"")
    monkeypatch.setenv("DOCRE_MODELS_DIR", str(mixed))
    at = app()
    warnings = [w.value for w in at.warning]
    assert any("broken" in w and "config.json" in w for w in warnings), warnings
    chooser = at.multiselect(key=Keys.MODELS_STORED)
    assert len(chooser.options) == 1 and [Path(p).name for p in chooser.value] == ["tiny"]
    for page in ("document", "review", "evaluate"):  # pages that read the models' relation names
        assert not app(page).exception


def test_scoring_refuses_an_over_limit_document_and_keeps_what_is_stored(seeded: Path, models_dir: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.serve.predictor import Predictor

    dataset_id, doc_ids = seed_ids()
    before = len(services.scoring.runs(dataset_id))
    limited = Predictor.from_checkpoint(models_dir / "tiny", "cpu", max_entities=3)
    monkeypatch.setattr(services.jobs, "predictor", lambda path: limited)
    job = services.jobs.wait(services.jobs.start_scoring(dataset_id, doc_ids, [str(models_dir / "tiny")]))
    assert job is not None and job.status == "failed" and not job.run_ids
    assert job.error.startswith("nothing was scored, the stored documents are kept.")
    assert "entities, over the limit of 3 per document" in job.error and "DOCRE_MAX_ENTITIES" in job.error
    assert "Error:" not in job.error  # a message, not an exception's class name
    services.scoring.clear_caches()
    assert len(services.scoring.runs(dataset_id)) == before
    assert [d.id for d in services.documents.documents(dataset_id)] == doc_ids


@pytest.mark.parametrize("content", [None, "{not json"])
def test_scoring_survives_missing_or_corrupt_type_statistics(seeded: Path, models_dir: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch, content) -> None:
    """The job used to die on the InputFileError after its runs were saved; now the type rule is neutral,
    the suggestions are stored, and the page says why (the CLI does the same: tests/engine/curate)."""
    from engine.curate import type_stats

    path = tmp_path / "type_stats.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    monkeypatch.setattr(type_stats, "DEFAULT_TYPE_STATS", path)
    monkeypatch.setattr(type_stats.load_default_type_stats, "__defaults__", (path,))
    dataset_id, doc_ids = seed_ids()
    job = services.jobs.wait(services.jobs.start_scoring(dataset_id, doc_ids, [str(models_dir / "tiny")]))
    assert job is not None and job.status == "done" and job.error is None and job.run_ids
    assert "the type rule is neutral" in services.scoring.type_stats_warning()


def test_app_scoring_ranks_with_the_shipped_ranker(seeded: Path) -> None:
    """Like `python -m engine suggest`, the app's scoring orders the queue by the shipped learned ranker: each
    item's score is its calibrated probability and its evidence names the ranker."""
    dataset_id, _ = seed_ids()
    items = services.review.queue(dataset_id, services.review.ReviewFilters(), None, limit=5).items
    assert items and all(0.0 <= item.score <= 1.0 for item in items)
    assert all(sp.ranking is not None for item in items for sp in item.supports.values())


def test_entity_table_edits_are_validated() -> None:
    doc = hostile_document()
    rows = services.documents.mention_table(doc).to_dict("records")
    rows[1]["entity"] = 0  # merge the second entity into the first
    rows[2]["type"] = "org"
    edited = services.documents.document_from_table(doc, rows, "t")
    assert edited.num_entities == doc.num_entities - 1 and edited.title == "t"
    assert [m.name for m in edited.entities[0].mentions] == ["Alice", EVIL_SCRIPT]
    assert edited.entities[1].type == "ORG"
    rows[0]["end"] = 99
    with pytest.raises(services.documents.UploadError, match="row 1: tokens"):
        services.documents.document_from_table(doc, rows)
    with pytest.raises(services.documents.UploadError, match="at least one entity"):
        services.documents.document_from_table(doc, [])


# ------------------------------------------------------------------ Document and Compare

def test_document_page_matrix_and_pair(seeded: Path) -> None:
    dataset_id, doc_ids = seed_ids()
    at = app("document", **{"docre.dataset_id": dataset_id, "docre.document_id": doc_ids[0]})
    doc = services.documents.document(doc_ids[0])
    assert at.subheader[0].value  # the title
    assert "scored by 2 model run(s)" in at.caption[0].value
    assert "<mark" in at.html[0].value
    figs = figures(at)
    matrix_fig = figs[0]
    assert matrix_fig["data"][0]["type"] == "heatmap"
    assert len(matrix_fig["data"][-1]["x"]) == doc.num_entities * (doc.num_entities - 1)
    logits = figs[1]
    assert any(s.get("type") == "line" and s.get("line", {}).get("dash") == "dash" for s in logits["layout"]["shapes"])
    assert at.selectbox(key=Keys.HEAD).value == 0 and at.selectbox(key=Keys.TAIL).value == 1
    # another pair, then the gold view
    at.selectbox(key=Keys.TAIL).set_value(2).run()
    assert not at.exception
    assert figures(at)[0]["layout"]["shapes"][0]["x0"] == pytest.approx(1.5)
    mode_key = f"{Keys.MATRIX_MODE}.4"
    at.button_group(key=mode_key).set_value("gold").run()
    assert not at.exception
    at.button_group(key=mode_key).set_value("potential").run()
    assert "This run has no per-pair values (PAEE's pair potential)" in texts(at)
    at.button_group(key=mode_key).set_value("disagreement").run()
    assert not at.exception


def test_document_page_without_scores_shows_gold(env: Path, sample_docs: list) -> None:
    dataset_id, result = services.documents.store_upload("unscored", sample_docs[:1])
    at = app("document", **{"docre.dataset_id": dataset_id, "docre.document_id": result.added[0]})
    assert "No model has scored this document yet" in texts(at)
    assert at.button_group(key=f"{Keys.MATRIX_MODE}.1").value == "gold"
    gold = figures(at)[0]
    assert gold["data"][0]["type"] == "heatmap" and len(figures(at)) == 1  # the matrix, no logits without scores


def test_document_page_escapes_hostile_text(seeded: Path) -> None:
    dataset_id, doc_ids = seed_ids()
    hostile = doc_ids[-1]
    at = app("document", **{"docre.dataset_id": dataset_id, "docre.document_id": hostile})
    body = at.html[0].value
    assert "<script" not in body and "<img" not in body
    assert "&lt;script&gt;" in body
    assert at.subheader[0].value == "&lt;b&gt;Hostile&lt;/b&gt; \\*doc\\*"
    matrix_fig = figures(at)[0]
    assert not any("<script" in t or "<img" in t for t in matrix_fig["layout"]["yaxis"]["ticktext"])
    at.selectbox(key=Keys.HEAD).set_value(4).run()
    assert not at.exception
    pair_line = next(m.value for m in at.markdown if "→" in m.value)
    assert pair_line.startswith("**\\[ACME\\](javascript\\:alert(1))**")


def test_compare_page(seeded: Path) -> None:
    dataset_id, doc_ids = seed_ids()
    at = app("compare", **{"docre.dataset_id": dataset_id, "docre.document_id": doc_ids[0]})
    assert "ordered pairs are decoded differently" in texts(at)
    figs = figures(at)
    assert len(figs) == 3  # difference matrix, logits of A, logits of B
    assert figs[1]["layout"]["title"]["text"].startswith("A #") and figs[2]["layout"]["title"]["text"].startswith("B #")
    assert at.selectbox(key=Keys.RUN_A).value != at.selectbox(key=Keys.RUN_B).value


def test_compare_needs_two_runs(env: Path, sample_docs: list) -> None:
    dataset_id, result = services.documents.store_upload("one", sample_docs[:1])
    at = app("compare", **{"docre.dataset_id": dataset_id})
    assert "needs two model runs" in texts(at)


# ------------------------------------------------------------------ Review

def test_review_asks_name_once(seeded: Path) -> None:
    at = app("review")
    assert "Enter your name once" in texts(at)
    at.form_submit_button[-1].click().run()
    assert "Enter a name." in texts(at)
    at.text_input[-1].input("ada")
    at.form_submit_button[-1].click().run()
    assert not at.exception and at.session_state["docre.annotator"] == "ada"
    assert "Enter your name once" not in texts(at) and "Suggested relations" in texts(at)
    at = app(None, **{"docre.annotator": "ada"})  # the entry page shows who is annotating in the sidebar
    assert "Annotating as **ada**" in texts(at)


def test_review_accept_undo_reject_and_blind(seeded: Path) -> None:
    dataset_id, _ = seed_ids()
    services.review.ensure_annotator("ada")
    at = app("review", **{"docre.annotator": "ada", "docre.dataset_id": dataset_id})
    total = services.review.progress(dataset_id).total
    assert total > 0 and f"0 of {total} suggestions reviewed" in at.get("progress")[0].proto.text
    assert "Suggested relations" in texts(at) and "<mark" in at.html[0].value
    pair = services.review.pair_queue(dataset_id, services.review.ReviewFilters(), "ada").items[0]
    first = pair.relations[0]
    named = " ".join(f"[{i}]" for i in services.review.evidence_sentences(first)) or "none (an inter-sentence pair)"
    assert f"Sentences naming both: {named}" in texts(at)  # numbered as in the text, not read as a count
    at.button(key=Keys.ACCEPT).click().run()  # nothing marked: the first relation, the rest of the pair rejected
    assert f"Accepted: {first.head_name} → {first.tail_name}" in texts(at).replace("&lt;", "<").replace("&gt;", ">")
    assert [services.review.suggestion(v.id).state for v in pair.relations] == ["accepted"] + ["rejected"] * (
        len(pair.relations) - 1)
    newest_first = ["reject"] * (len(pair.relations) - 1) + ["accept"]  # one review per relation, in item order
    assert list(at.dataframe[-2].value["decision"]) == newest_first[:10]
    at.button(key=Keys.UNDO).click().run()  # the whole pair decision comes back
    assert "Undid your accept" in texts(at) and "brought back by undo" in texts(at)
    assert {services.review.suggestion(v.id).state for v in pair.relations} == {"pending"}
    # correct the relation and accept the item undo brought back
    taken = services.review.pair_labels(first).all() | {v.relation for v in pair.relations}  # one the pair lacks
    other = next(r for r in ("P131", "P17", "P150", "P27", "P19") if r not in taken)
    at.selectbox(key=f"{Keys.RELATION}.{first.id}.0").set_value(other).run()
    at.button(key=Keys.ACCEPT).click().run()
    view = services.review.suggestion(first.id)
    assert view.state == "accepted" and view.accepted_relation == other
    at.button(key=Keys.REJECT).click().run()
    assert "Rejected" in texts(at)
    second = services.review.pair_queue(dataset_id, services.review.ReviewFilters(), None, limit=2).items
    assert services.review.progress(dataset_id).reviewed == len(pair.relations) + len(second[0].relations)
    # blind mode hides scores and proposals, and accept needs a chosen relation
    at.toggle[0].set_value(True).run()
    assert "Suggested relations" not in texts(at)
    relation_boxes = [s for s in at.selectbox if s.key and s.key.startswith(Keys.RELATION)]
    assert relation_boxes[0].value is None
    at.button(key=Keys.ACCEPT).click().run()
    assert "Choose the relation before accepting." in texts(at)


def test_review_marks_several_relations_of_a_pair_and_accepts_them_in_one_decision(seeded: Path) -> None:
    dataset_id, _ = seed_ids()
    services.review.ensure_annotator("ada")
    services.learning.save_settings(dataset_id, "ada", refit_every=25, stop_below=10, min_probability=0.0)
    queue = services.review.pair_queue(dataset_id, services.review.ReviewFilters(), "ada", limit=200)
    offset, pair = next((i, p) for i, p in enumerate(queue.items) if len(p.relations) >= 3)
    at = app("review", **{"docre.annotator": "ada", "docre.dataset_id": dataset_id, "docre.review_offset": offset})
    assert f"{pair.head_name} → {pair.tail_name}" in texts(at).replace("&lt;", "<").replace("&gt;", ">")
    at.button(key=f"{Keys.MARK}.1").click().run()  # the keys 2 and 3
    at.button(key=f"{Keys.MARK}.2").click().run()
    assert "✓ accept" in at.button(key=f"{Keys.MARK}.1").label and "✓" not in at.button(key=f"{Keys.MARK}.0").label
    at.button(key=Keys.ACCEPT).click().run()
    assert not at.exception
    states = [services.review.suggestion(v.id).state for v in pair.relations]
    assert states[:3] == ["rejected", "accepted", "accepted"] and set(states[3:]) <= {"rejected"}
    assert [services.review.suggestion(v.id).decisions[0].annotator for v in pair.relations] == ["ada"] * len(states)


def test_review_long_tail_is_apart_from_the_queue_and_opens(seeded: Path) -> None:
    dataset_id, _ = seed_ids()
    services.review.ensure_annotator("ada")
    services.learning.save_settings(dataset_id, "ada", refit_every=25, stop_below=10, min_probability=0.5)
    queue = services.review.pair_queue(dataset_id, services.review.ReviewFilters(), "ada")
    assert queue.long_tail > 0
    at = app("review", **{"docre.annotator": "ada", "docre.dataset_id": dataset_id})
    assert f"Queue: {queue.queued} pair(s) · long tail: {queue.long_tail} pair(s)" in texts(at)
    at.checkbox(key=Keys.LONG_TAIL).check().run()
    tail = services.review.pair_queue(dataset_id, services.review.ReviewFilters(), "ada", long_tail=True)
    assert "in the long tail" in texts(at) and tail.items[0].best_score < 0.5
    assert f"{tail.items[0].head_name} → {tail.items[0].tail_name}" in texts(at).replace("&lt;", "<").replace(
        "&gt;", ">")


def test_review_filters_by_relation_and_state(seeded: Path) -> None:
    dataset_id, _ = seed_ids()
    at = app("review", **{"docre.annotator": "ada", "docre.dataset_id": dataset_id})
    queue = services.review.pair_queue(dataset_id, services.review.ReviewFilters(), "ada")
    relation = queue.items[0].relations[0].relation
    next(s for s in at.selectbox if s.label == "Relation").set_value(relation).run()
    assert not at.exception
    queue = at.dataframe[-1].value  # one row per pair, listing only the relations that match
    assert len(queue) and {label.rsplit("(", 1)[1] for label in queue["relations"]} == {relation + ")"}
    next(s for s in at.selectbox if s.label == "State").set_value("accepted").run()
    assert "queue is empty" in texts(at)


# ------------------------------------------------------------------ Evaluate and Export

def test_evaluate_page_metrics_agreement_acceptance(seeded: Path) -> None:
    dataset_id, _ = seed_ids()
    items = services.review.queue(dataset_id, services.review.ReviewFilters(), None, limit=3).items
    for name, decisions in (("ada", ("accept", "reject", "accept")), ("bob", ("accept", "reject", "reject"))):
        services.review.ensure_annotator(name)
        for item, decision in zip(items, decisions):
            services.review.decide(item.id, name, decision)
    at = app("evaluate", **{"docre.dataset_id": dataset_id})
    metrics = at.dataframe[0].value
    assert len(metrics) == 2 and {"precision", "recall", "F1"} <= set(metrics.columns)
    assert all(0 <= f <= 100 for f in metrics["F1"])
    kappa = next(d.value for d in at.dataframe if "Cohen's kappa" in d.value.columns)
    assert kappa["items both decided"][0] == 3
    assert kappa["Cohen's kappa"][0] == pytest.approx(services.evaluation.agreement(dataset_id)[0].kappa, abs=1e-3)
    rates = next(d.value for d in at.dataframe if "acceptance rate" in d.value.columns)
    assert rates["accepted"].sum() >= 1


def test_export_page_and_round_trip(seeded: Path) -> None:
    from engine.data.documents import loads_documents

    dataset_id, _ = seed_ids()
    services.review.ensure_annotator("ada")
    item = services.review.queue(dataset_id, services.review.ReviewFilters(), None, limit=1).items[0]
    services.review.decide(item.id, "ada", "accept", relation="P27")
    at = app("export", **{"docre.dataset_id": dataset_id})
    assert [m.value for m in at.metric][2] == "1"
    assert [b.proto.label for b in at.get("download_button")] == ["Download DocRED JSON", "Download review log (CSV)"]
    docs = services.export.reviewed_dataset(dataset_id)
    payload = services.export.docred_json(docs)
    back = loads_documents(payload, file="export.json").documents
    assert back == tuple(docs)
    assert [d.extra for d in back] == [d.extra for d in docs]
    added = [f for d in back for f in d.facts or () if "provenance" in f.extra]
    assert len(added) == 1 and (added[0].h, added[0].t, added[0].r) == (item.h, item.t, "P27")
    prov = added[0].extra["provenance"]
    assert prov["annotator"] == "ada" and prov["corrected"] is True
    assert prov["score"] == pytest.approx(item.score, abs=1e-4)
    assert services.export.docred_json(list(back)) == payload  # lossless both ways
    csv_text = services.export.review_log_csv(dataset_id).decode("utf-8")
    assert csv_text.splitlines()[0].startswith("review_id,time_utc,annotator") and "ada" in csv_text


def test_csv_guards_formulas(seeded: Path) -> None:
    dataset_id, _ = seed_ids()
    services.review.ensure_annotator("=cmd")
    item = services.review.queue(dataset_id, services.review.ReviewFilters(), None, limit=1).items[0]
    services.review.decide(item.id, "=cmd", "skip", note="+1")
    csv_text = services.export.review_log_csv(dataset_id).decode("utf-8")
    assert "'=cmd" in csv_text and "'+1" in csv_text


# ------------------------------------------------------------------ Team mode

@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The login back-off, recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr(services.auth, "sleep", slept.append)
    return slept


def attempts() -> list:
    with services.resources.session() as s:
        return accounts.list_login_attempts(s)[0]


def test_team_mode_requires_login(seeded: Path, monkeypatch: pytest.MonkeyPatch, waits: list[float],
                                  browser: FakeBrowser) -> None:

    with services.resources.session() as s:
        accounts.create_user(s, "carol", "curator", ACCOUNT_PASSWORD)
    monkeypatch.setenv("DOCRE_AUTH", "on")
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT).run()
    assert at.title[0].value == "DocRE Studio" and not at.get("plotly_chart")
    with pytest.raises(ValueError, match=r"Known pages: \[.Log in."):
        at.switch_page("views/review.py")  # before the login no other page is even registered
    at.text_input[0].input("carol")
    at.text_input[1].input("wrong password")
    at.form_submit_button[0].click().run()
    assert "Unknown user name or wrong password." in texts(at)
    at.text_input[1].input(ACCOUNT_PASSWORD)
    at.form_submit_button[0].click().run()
    assert browser.cookie is not None and "Signing in" in texts(at)  # the cookie first, then the reload
    at.run()
    assert at.session_state["docre.annotator"] == "carol" and at.session_state["docre.role"] == "curator"
    assert at.title[0].value == "Upload documents"


def test_every_page_runs_on_an_empty_database(env: Path) -> None:
    for page in ("upload", "document", "compare", "review", "adjudicate", "assign", "evaluate", "export"):
        at = app(page, **{"docre.annotator": "ada"})
        assert not at.exception, page


def test_views_are_not_a_streamlit_pages_folder() -> None:
    """Streamlit runs a `pages/` folder beside main.py by URL, without main.py's login: there must be none."""
    assert not (APP_DIR / "pages").exists()
    listed = re.findall(r'"(views/\w+\.py)"', Path(MAIN).read_text(encoding="utf-8"))
    assert sorted(listed) == [f"views/{v}.py" for v in VIEWS] and len(VIEWS) == 9


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_run_alone_in_team_mode_shows_only_the_login(seeded: Path, monkeypatch: pytest.MonkeyPatch,
                                                               view: str) -> None:
    """Whatever runs a page script (a URL, a stale navigation), in team mode it stops at the login form."""

    with services.resources.session() as s:
        accounts.create_user(s, "carol", "curator", ACCOUNT_PASSWORD)
    monkeypatch.setenv("DOCRE_AUTH", "on")
    at = AppTest.from_file(str(APP_DIR / "views" / f"{view}.py"), default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["DocRE Studio"]
    assert [t.label for t in at.text_input] == ["User name", "Password"]  # no "Your name"
    assert [b.label for b in at.form_submit_button] == ["Log in"]
    assert not at.subheader and not at.dataframe and not at.html and not at.get("plotly_chart")
    assert "seed" not in texts(at)


def test_team_mode_takes_no_bare_name(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCRE_AUTH", "on")
    with pytest.raises(services.review.AccountError, match="log in"):
        services.review.ensure_annotator("carol")


def test_local_mode_refuses_a_team_accounts_name(seeded: Path) -> None:

    with services.resources.session() as s:
        accounts.create_user(s, "carol", "curator", ACCOUNT_PASSWORD)
    at = app("review")
    at.text_input[-1].input("carol")
    at.form_submit_button[-1].click().run()
    assert not at.exception
    assert "belongs to a team account with a password" in texts(at)
    assert "docre.annotator" not in at.session_state or at.session_state["docre.annotator"] is None
    assert "Suggested:" not in texts(at)


def test_local_name_that_became_an_account_is_dropped_at_the_next_decision(seeded: Path) -> None:

    dataset_id, _ = seed_ids()
    services.review.ensure_annotator("dave")
    at = app("review", **{"docre.annotator": "dave", "docre.dataset_id": dataset_id})
    with services.resources.session() as s:  # meanwhile an administrator makes "dave" a curator account
        accounts.create_user(s, "dave", "curator", ACCOUNT_PASSWORD)
    at.button(key=Keys.ACCEPT).click().run()
    assert not at.exception
    assert "belongs to a team account" in texts(at)
    assert at.session_state["docre.annotator"] is None
    assert services.review.progress(dataset_id).reviewed == 0


def _login_attempt(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input[0].input(name)
    at.text_input[1].input(password)
    at.form_submit_button[0].click().run()
    assert not at.exception, at.exception
    return at


def test_failed_logins_back_off_then_lock(seeded: Path, monkeypatch: pytest.MonkeyPatch, waits: list[float]) -> None:

    with services.resources.session() as s:
        accounts.create_user(s, "carol", "curator", ACCOUNT_PASSWORD)
    monkeypatch.setenv("DOCRE_AUTH", "on")
    monkeypatch.setenv("DOCRE_LOGIN_MAX_FAILURES", "3")
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT).run()
    for _ in range(2):
        _login_attempt(at, "carol", "not the password")
        assert "Unknown user name or wrong password." in texts(at)
    assert waits == [1.0, 2.0]  # the answer came only after a growing wait
    _login_attempt(at, "carol", "not the password")
    assert "log-in is locked until" in texts(at) and waits == [1.0, 2.0, 4.0]
    _login_attempt(at, "carol", ACCOUNT_PASSWORD)  # even the right password, during the lock
    assert "log-in is locked until" in texts(at) and at.session_state["docre.annotator"] is None
    assert [a.outcome for a in attempts()] == ["locked", "failure", "failure", "failure"]
    _login_attempt(at, "", "")
    assert "Enter your user name and password." in texts(at) and len(attempts()) == 4


def test_curators_see_login_attempts_on_the_evaluate_page(seeded: Path, monkeypatch: pytest.MonkeyPatch,
                                                          waits: list[float], browser: FakeBrowser) -> None:

    dataset_id, _ = seed_ids()
    with services.resources.session() as s:
        accounts.create_user(s, "carol", "curator", ACCOUNT_PASSWORD)
        accounts.create_user(s, "ann", "annotator", ACCOUNT_PASSWORD + "!")
    monkeypatch.setenv("DOCRE_AUTH", "on")
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT).run()
    _login_attempt(at, "*mallory*", "guess guess guess")
    _login_attempt(at, "carol", ACCOUNT_PASSWORD)
    at.run()  # the reload after the cookie is set
    at.switch_page("views/evaluate.py").run()
    assert not at.exception
    audit = next(e for e in at.expander if e.label.startswith("Log-in attempts"))
    assert "2 attempt(s) match; page 1 of 1" in texts(at)
    table = audit.dataframe[0].value
    assert list(table["user name"]) == ["carol", "*mallory*"] and list(table["outcome"]) == ["success", "failure"]
    assert all(c.startswith(("ip:", "session:")) for c in table["client"]) and list(table.columns) == [
        "time (UTC)", "user name", "outcome", "client"]  # no browser session id
    at.selectbox(key=Keys.AUDIT_OUTCOME).set_value("failure").run()
    audit = next(e for e in at.expander if e.label.startswith("Log-in attempts"))
    assert list(audit.dataframe[0].value["user name"]) == ["*mallory*"] and "1 attempt(s) match" in texts(at)
    browser.cookie = None
    annotator = AppTest.from_file(MAIN, default_timeout=TIMEOUT).run()
    _login_attempt(annotator, "ann", ACCOUNT_PASSWORD + "!")
    annotator.run()
    annotator.session_state["docre.dataset_id"] = dataset_id
    annotator.switch_page("views/evaluate.py").run()
    assert annotator.session_state["docre.annotator"] == "ann"
    assert not [e for e in annotator.expander if e.label.startswith("Log-in attempts")]


def test_a_failed_scoring_job_shows_no_internals(seeded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unexpected error in the worker reaches the job's row, which the page shows, as a generic message (the
    log has it all); the app keeps no other copy of the job."""
    dataset_id, doc_ids = seed_ids()

    class Broken:
        method, device = "atlop.v1", "cpu"

        def check_limits(self, docs):
            pass

        def predict(self, docs, progress=None, pair_progress=None):
            raise RuntimeError("cannot open /srv/secret/weights.bin")

    monkeypatch.setattr(services.jobs, "predictor", lambda path: Broken())
    job = services.jobs.wait(services.jobs.start_scoring(dataset_id, doc_ids[:1], ["m"], "ann"))
    assert job.status == "failed" and "/srv/secret" not in job.error and "RuntimeError" not in job.error
    assert "server log" in job.error
    at = app(**{"docre.scoring_job": job.id, "docre.dataset_id": dataset_id})
    assert f"Scoring failed: {job.error}" in texts(at) and "/srv/secret" not in texts(at)


FILTERS_KEY = "docre.review_filters"  # app.state keeps the review filters under this session key


def test_only_items_i_have_not_decided_ticks_again_after_an_untick(seeded: Path) -> None:
    dataset_id, _ = seed_ids()
    at = app("review", **{"docre.annotator": "ada", "docre.dataset_id": dataset_id})

    def box():
        return next(c for c in at.checkbox if c.label == "Only items I have not decided")

    start = box().value
    box().set_value(not start).run()
    assert box().value is (not start) and at.session_state[FILTERS_KEY].open_for_me is (not start)
    box().set_value(start).run()
    assert box().value is start and at.session_state[FILTERS_KEY].open_for_me is start
    box().set_value(not start).run()
    assert box().value is (not start)
