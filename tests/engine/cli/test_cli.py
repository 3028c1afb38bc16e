"""The CLI end to end on a two-document file: methods, train (1 epoch), resume, evaluate, predict, ingest."""
import json

import pytest

from engine.cli.main import main
from engine.data.documents import write_documents
from engine.data.pair_scores import PairScores


@pytest.fixture(scope="module")
def two_docs(redocred_docs, tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "two.json"
    docs = [d for d in redocred_docs if len(d.entities) <= 12][:2]
    write_documents(docs, path)
    return path, docs


def test_methods_lists_atlop(capsys):
    assert main(["methods", "--verbose"]) == 0
    out = capsys.readouterr().out
    assert "atlop.v1" in out and "top_k" in out
    # the extras each method declares are listed with their kind
    assert "extra mention_grids (mention_grids)" in out and "extra pair_potential (pair_values)" in out


def test_train_evaluate_predict(two_docs, tiny_encoder_dir, tmp_path, capsys):
    path, docs = two_docs
    out = tmp_path / "model"
    args = ["--quiet", "train", "--method", "atlop", "--train", str(path), "--dev", str(path), "--output", str(out),
            "--encoder", str(tiny_encoder_dir), "--epochs", "1", "--batch-size", "2", "--option", "emb_size=32",
            "--option", "block_size=8"]
    assert main(args) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["method"] == "atlop.v1" and config["epoch"] == 1 and "f1" in config["metrics"]["dev"]
    assert not (out / "last").exists()  # training finished: no resume state left behind

    # a second run with more epochs resumes nothing (finished) but trains afresh into a new dir and resumes there
    out2 = tmp_path / "model2"
    assert main(args[:-14] + ["--output", str(out2), "--encoder", str(tiny_encoder_dir), "--epochs", "2",
                              "--batch-size", "2",
                              "--option", "emb_size=32", "--option", "block_size=8"]) == 0
    assert json.loads((out2 / "config.json").read_text())["train_config"]["epochs"] == 2

    capsys.readouterr()
    assert main(["--quiet", "evaluate", "--checkpoint", str(out), "--input", str(path), "--train", str(path),
                 "--output", str(tmp_path / "m.json")]) == 0
    table = capsys.readouterr().out
    assert "ign" in table and "overall" in table and "pair detection" in table
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert "overall" in metrics

    preds, scores = tmp_path / "p.json", tmp_path / "s.json"
    assert main(["--quiet", "predict", "--checkpoint", str(out), "--input", str(path), "--output", str(preds),
                 "--scores-output", str(scores)]) == 0
    rows = json.loads(preds.read_text())
    assert rows, "the one-epoch model predicts nothing: the content checks below would be vacuous"
    by_title = {d.title: d for d in docs}
    for row in rows:  # every record names its head and tail (the entity's first mention, as DocRED names it)
        assert set(row) == {"title", "h_idx", "t_idx", "h_name", "t_name", "r", "score"}
        doc = by_title[row["title"]]
        assert (row["h_name"], row["t_name"]) == (doc.entities[row["h_idx"]].name, doc.entities[row["t_idx"]].name)
    loaded = [PairScores.from_json(s) for s in json.loads(scores.read_text())]
    assert [s.title for s in loaded] == [d.title for d in docs]
    n = len(docs[0].entities)
    assert loaded[0].logits.shape == (n * (n - 1), 97)
    # the predictions are exactly what the checkpoint's predictor decodes, with its margins as scores
    from engine.serve.predictor import Predictor

    direct = Predictor.from_checkpoint(out, "cpu").predict(docs)
    expected = sorted((s.title, h, t, r, round(m, 4)) for s in direct for h, t, r, m in s.predicted_triples())
    assert sorted((r["title"], r["h_idx"], r["t_idx"], r["r"], r["score"]) for r in rows) == expected
    by_title = {d.title: d for d in docs}
    for row in rows:
        doc = by_title[row["title"]]
        assert 0 <= row["h_idx"] < doc.num_entities and 0 <= row["t_idx"] < doc.num_entities
        assert row["h_idx"] != row["t_idx"] and row["score"] > 0  # decoded means above the learned threshold
    decoded_pairs = {(s.title, h, t, r) for s in loaded for h, t, r, _ in s.predicted_triples()}
    assert decoded_pairs == {(r["title"], r["h_idx"], r["t_idx"], r["r"]) for r in rows}


def test_resume_continues_from_last_epoch(two_docs, tiny_encoder_dir, tmp_path):
    """Stop after epoch 1 of 2 (simulated by a 1-epoch run whose state we keep), then resume to epoch 2."""
    from engine.train.run_directory import RunDirectory

    path, _ = two_docs
    out = tmp_path / "model"
    base = ["--quiet", "train", "--method", "atlop", "--train", str(path), "--output", str(out), "--encoder",
            str(tiny_encoder_dir), "--batch-size", "2", "--option", "emb_size=32", "--option", "block_size=8"]
    original = RunDirectory.finish
    RunDirectory.finish = lambda self: None  # keep output/last as after an interruption
    try:
        assert main(base + ["--epochs", "1"]) == 0
    finally:
        RunDirectory.finish = original
    state = json.loads((out / "last" / "trainer_state.json").read_text())
    assert state["state"]["epoch"] == 1
    assert main(base + ["--epochs", "2"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["epoch"] == 2 and [h["epoch"] for h in config["history"]] == [1, 2]


def test_bad_input_gives_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["predict", "--input", str(bad), "--output", str(tmp_path / "p.json"), "--checkpoint",
                 str(tmp_path)]) == 2
    assert "error:" in capsys.readouterr().err


def test_predict_on_text_file(two_docs, tiny_encoder_dir, tmp_path):
    pytest.importorskip("spacy")
    path, _ = two_docs
    out = tmp_path / "model"
    assert main(["--quiet", "train", "--method", "atlop", "--train", str(path), "--output", str(out), "--encoder",
                 str(tiny_encoder_dir), "--epochs", "1", "--option", "emb_size=32", "--option", "block_size=8"]) == 0
    text = tmp_path / "note.txt"
    text.write_text("Marie Curie was born in Warsaw, Poland. Curie later worked in Paris, France.", encoding="utf-8")
    preds = tmp_path / "p.json"
    assert main(["--quiet", "predict", "--checkpoint", str(out), "--input", str(text), "--output", str(preds)]) == 0
    assert isinstance(json.loads(preds.read_text()), list)
    ingested = json.loads(preds.with_suffix(".docs.json").read_text())
    assert ingested[0]["title"] == "note" and len(ingested[0]["vertexSet"]) >= 3


def test_calibrate_stores_platt_scaling_that_predict_applies(two_docs, tiny_encoder_dir, tmp_path, capsys):
    import numpy as np

    from engine.data.margin_calibration import sigmoid
    from engine.serve.predictor import Predictor

    path, docs = two_docs
    out = tmp_path / "model"
    assert main(["--quiet", "train", "--method", "atlop", "--train", str(path), "--dev", str(path), "--output",
                 str(out),
                 "--encoder", str(tiny_encoder_dir), "--epochs", "1", "--batch-size", "2", "--option", "emb_size=32",
                 "--option", "block_size=8"]) == 0
    trained = json.loads((out / "config.json").read_text())["calibration"]  # train fitted it on --dev
    assert trained["n_fitted"] == sum(d.num_entities * (d.num_entities - 1) for d in docs) * 96
    capsys.readouterr()
    assert main(["--quiet", "calibrate", "--checkpoint", str(out), "--input", str(path)]) == 0
    assert "ECE" in capsys.readouterr().out
    stored = json.loads((out / "config.json").read_text())["calibration"]
    scores = Predictor.from_checkpoint(out, "cpu").predict(docs)
    expected = sigmoid(stored["slope"] * scores[0].margins + stored["intercept"])
    np.testing.assert_allclose(scores[0].calibrated_probabilities(), expected, rtol=1e-5)
    assert PairScores.from_json(scores[0].to_json()).calibration == scores[0].calibration
    assert main(["--quiet", "evaluate", "--checkpoint", str(out), "--input", str(path)]) == 0
    assert "calibrated" in capsys.readouterr().out
