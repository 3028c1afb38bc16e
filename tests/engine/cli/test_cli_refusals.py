"""The CLI refuses bad arguments and over-limit documents with one line and exit code 2, before any work and
without writing output: a directory or parentless --output, a malformed --option, a missing CUDA device,
--max-train-docs 0, an 1,800-entity document."""
from __future__ import annotations

import pytest

from engine.cli.main import main
from engine.data.documents import write_documents
from tests.app_support import build_models_dir
from tests.model_helpers import synthetic_document


@pytest.fixture(scope="module")
def model(tiny_encoder_dir, tmp_path_factory):
    return build_models_dir(tiny_encoder_dir, tmp_path_factory.mktemp("models")) / "tiny"


@pytest.fixture(scope="module")
def docs_file(redocred_docs, tmp_path_factory):
    path = tmp_path_factory.mktemp("docs") / "two.json"
    write_documents([d for d in redocred_docs if len(d.entities) <= 8][:2], path)
    return path


@pytest.fixture
def no_scoring(monkeypatch):
    """Any scoring fails the test: refusals must come first."""
    from engine.serve.predictor import Predictor

    def fail(*args, **kwargs):
        raise AssertionError("scored before refusing")
    monkeypatch.setattr(Predictor, "predict_features", fail)


def refused(argv: list[str], capsys) -> str:
    """Run the CLI, expect exit code 2 and one error line without a traceback; return that line."""
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in err, err
    return errors[0]


def test_predict_output_that_is_a_directory_or_has_no_parent(model, docs_file, tmp_path, capsys, no_scoring):
    base = ["--quiet", "predict", "--checkpoint", str(model), "--input", str(docs_file)]
    assert "is a directory" in refused(base + ["--output", str(tmp_path)], capsys)
    missing = tmp_path / "no" / "such" / "p.json"
    assert "does not exist" in refused(base + ["--output", str(missing)], capsys)
    line = refused(base + ["--output", str(tmp_path / "p.json"), "--scores-output", str(tmp_path / "x" / "s.json")],
                   capsys)
    assert "--scores-output" in line
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_evaluate_and_suggest_refuse_a_bad_output_before_scoring(model, docs_file, tmp_path, capsys, no_scoring):
    assert "is a directory" in refused(["--quiet", "evaluate", "--checkpoint", str(model), "--input", str(docs_file),
                                        "--output", str(tmp_path)], capsys)
    line = refused(["--quiet", "suggest", "--checkpoint", str(model), "--input", str(docs_file), "--output",
                    str(tmp_path / "none" / "s.json")], capsys)
    assert "does not exist" in line and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("option, expected", [
    ("emb_size=abc", "emb_size must be a whole number"),
    ("top_k=1.5", "top_k must be a whole number"),
    ("emb_size=", "emb_size must be a whole number"),
    ("no_such_option=1", "unknown keys ['no_such_option']"),
    ("emb_size", "--option expects key=value"),
])
def test_train_malformed_option_is_one_line(option, expected, docs_file, tiny_encoder_dir, tmp_path, capsys):
    out = tmp_path / "model"
    line = refused(["--quiet", "train", "--method", "atlop", "--train", str(docs_file), "--output", str(out),
                    "--encoder", str(tiny_encoder_dir), "--epochs", "1", "--option", option], capsys)
    assert expected in line and not out.exists()


def test_train_max_train_docs_zero_and_missing_cuda(docs_file, tiny_encoder_dir, tmp_path, capsys):
    import torch

    out = tmp_path / "model"
    base = ["--quiet", "train", "--method", "atlop", "--train", str(docs_file), "--output", str(out), "--encoder",
            str(tiny_encoder_dir), "--epochs", "1"]
    assert "--max-train-docs must be at least 1, got 0" in refused(base + ["--max-train-docs", "0"], capsys)
    assert "unknown device 'gpu'" in refused(base + ["--device", "gpu"], capsys)
    if not torch.cuda.is_available():
        assert "no CUDA GPU" in refused(base + ["--device", "cuda"], capsys)
    assert "cuda:64" in refused(base + ["--device", "cuda:64"], capsys)  # no GPU at all, or not that many
    assert not out.exists()


def test_predict_refuses_an_1800_entity_document(model, tmp_path, capsys, no_scoring):
    big = tmp_path / "big.json"
    write_documents([synthetic_document(1800, "long text")], big)
    out = tmp_path / "p.json"
    line = refused(["--quiet", "predict", "--checkpoint", str(model), "--input", str(big), "--output", str(out)],
                   capsys)
    assert "document 0 ('long text') has 1,800 entities" in line and "DOCRE_MAX_ENTITIES" in line
    assert not out.exists()
