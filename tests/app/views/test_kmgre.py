"""The Document page's one-click way to KMGRE's key mention pairs, on real scoring runs of tiny models: when the
run on screen is not KMGRE and a KMGRE run scored the document, a button opens that run and its mention grid;
without a KMGRE run there is no button, only the note that key mention pairs come from KMGRE models."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

pytest.importorskip("streamlit")

from app import services  # noqa: E402
from app.state import Keys  # noqa: E402
from db.workflows.scoring import score_documents  # noqa: E402
from tests.app.page_support import app, figures, texts
from tests.app_support import build_models_dir  # noqa: E402
from tests.db_support import tiny_document

NOT_KMGRE = "Key mention pairs come from KMGRE models"


@pytest.fixture(scope="module")
def kmgre_models(tiny_encoder_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny ATLOP (the default model) and a tiny KMGRE beside it."""
    return build_models_dir(tiny_encoder_dir, tmp_path_factory.mktemp("kmgre-models"), ("tiny", "tiny_kmgre"),
                            {"tiny_kmgre": "kmgre"})


@pytest.fixture
def scored_with(kmgre_models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., dict]:
    """A new store holding one document, scored by the named models (real runs, as the Upload page stores them)."""
    monkeypatch.setenv("DOCRE_DATABASE_URL", f"sqlite:///{tmp_path / 'app.sqlite'}")
    monkeypatch.setenv("DOCRE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DOCRE_MODELS_DIR", str(kmgre_models))
    monkeypatch.delenv("DOCRE_AUTH", raising=False)

    def score(*names: str) -> dict:
        dataset_id, result = services.documents.store_upload("kmgre", [tiny_document()])
        models = [(str(kmgre_models / n), services.resources.predictor(str(kmgre_models / n))) for n in names]
        run_ids, _ = score_documents(services.resources.factory(), dataset_id, list(result.added),
                                                      models)
        return {"dataset": dataset_id, "doc": result.added[0], "runs": dict(zip(names, run_ids))}

    return score


def _document_page(ids: dict):
    return app("document", **{"docre.dataset_id": ids["dataset"], "docre.document_id": ids["doc"]})


def _grid_shown(at) -> bool:
    return any(f["layout"].get("xaxis", {}).get("title", {}).get("text") == "tail mentions" for f in figures(at))


def test_the_button_opens_the_kmgre_run_and_its_key_mention_pairs(scored_with: Callable[..., dict]) -> None:
    ids = scored_with("tiny", "tiny_kmgre")
    at = _document_page(ids)
    assert at.selectbox(key=Keys.RUN).value == ids["runs"]["tiny"]  # the default model's run, not KMGRE
    assert NOT_KMGRE in texts(at) and not _grid_shown(at)
    button = at.button(key=Keys.OPEN_KMGRE)
    assert f"#{ids['runs']['tiny_kmgre']} kmgre.v2" in button.label
    button.click().run()
    assert not at.exception
    assert at.selectbox(key=Keys.RUN).value == ids["runs"]["tiny_kmgre"]
    assert _grid_shown(at) and NOT_KMGRE not in texts(at)
    assert not [b for b in at.button if b.key == Keys.OPEN_KMGRE]  # on the KMGRE run: nothing to offer


def test_no_button_without_a_kmgre_run(scored_with: Callable[..., dict]) -> None:
    at = _document_page(scored_with("tiny"))
    assert NOT_KMGRE in texts(at)
    assert not [b for b in at.button if b.key == Keys.OPEN_KMGRE]
