"""`python -m engine suggest` with the shipped ranker (the default), `--no-ranker` and `--feedback`; the
models are replaced by hand-made scores so no encoder runs."""
from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

import engine.cli.suggest as suggest_cli
from engine.cli.suggest import add_suggest_command
from engine.curate.ranker import DEFAULT_RANKER
from engine.data.documents import Fact, write_documents
from tests.engine.curate.synthetic import line_document, scores

pytestmark = pytest.mark.skipif(not (DEFAULT_RANKER / "ranker.json").is_file(), reason="no shipped ranker")
N_E = 7


def fake_scores(checkpoints, docs, device=None, quiet=False, allow_download=None):
    """paee and atlop margins spread over every chain pair and its reverse, seeded per title."""
    out = {"paee": [], "atlop": []}
    for doc in docs:
        rng = np.random.default_rng(sum(map(ord, doc.title)))
        margins = {(h, t, r): float(rng.uniform(-4, 3)) for h in range(N_E) for t in range(N_E) if h != t
                   for r in ("P17", "P131", "P150")}
        out["paee"].append(scores(doc.title, N_E, margins, "paee.v1"))
        out["atlop"].append(scores(doc.title, N_E, {k: v + float(rng.normal(0, 0.5)) for k, v in margins.items()},
                                   "atlop.v1"))
    return out


def run(tmp_path, monkeypatch, *extra: str, scorer=fake_scores) -> list[dict]:
    monkeypatch.setattr(suggest_cli, "score_documents", scorer)
    monkeypatch.setattr(suggest_cli, "discover_models", lambda: [tmp_path / "paee", tmp_path / "atlop"])
    docs = [line_document(f"doc{i}", N_E, (Fact(0, 1, "P131"), Fact(2, 3, "P17"))) for i in range(3)]
    write_documents(docs, tmp_path / "in.json")
    p = argparse.ArgumentParser()
    add_suggest_command(p.add_subparsers(dest="command", required=True))
    out = tmp_path / "out.json"
    args = p.parse_args(["suggest", "--input", str(tmp_path / "in.json"), "--output", str(out), *extra])
    assert args.func(args) == 0
    return json.loads(out.read_text())


def test_suggest_uses_the_shipped_ranker_by_default(tmp_path, monkeypatch):
    ranked = run(tmp_path, monkeypatch)
    assert ranked and all(s["evidence"]["ranking"]["by"] == "ranker" for s in ranked)
    assert all(0 <= s["score"] <= 1 for s in ranked)
    assert [s["score"] for s in ranked] == sorted((s["score"] for s in ranked), reverse=True)
    formula = run(tmp_path, monkeypatch, "--no-ranker")
    assert formula[0]["evidence"]["ranking"]["by"] == "formula"


def test_feedback_changes_the_order_and_decided_triples_never_come_back(tmp_path, monkeypatch):
    before = run(tmp_path, monkeypatch)
    key = lambda s: (s["title"], s["h_idx"], s["t_idx"], s["r"])  # noqa: E731
    # reject everything P17 near the top, accept every P131 there: the rest must re-order
    decisions = [{**{k: s[k] for k in ("title", "h_idx", "t_idx", "r")},
                  "decision": "accept" if s["r"] == "P131" else "reject"} for s in before[:40]]
    (tmp_path / "fb.json").write_text(json.dumps(decisions))
    after = run(tmp_path, monkeypatch, "--feedback", str(tmp_path / "fb.json"), "--save-ranker", str(tmp_path / "r"))
    decided = {key(s) for s in before[:40]}
    assert not decided & {key(s) for s in after}
    assert {key(s) for s in after} == {key(s) for s in before} - decided
    rest = [key(s) for s in before if key(s) not in decided]
    assert [key(s) for s in after] != rest  # the order moved
    assert after[0]["evidence"]["ranking"]["decisions"] == 40
    assert (tmp_path / "r" / "ranker.json").is_file()


@pytest.mark.parametrize("extra", [(), ("--no-ranker",), ("--limit", "7")])
def test_windows_of_one_document_rank_as_one_window(tmp_path, monkeypatch, extra):
    """Each window's suggestions carry their sort key, so the merged ranking does not depend on --window."""
    whole = run(tmp_path, monkeypatch, *extra)
    assert whole and run(tmp_path, monkeypatch, "--window", "1", *extra) == whole
    if extra == ("--limit", "7"):
        assert len(whole) == 7
    assert not list(tmp_path.glob(".*part*"))


def test_resume_after_a_crash_scores_only_the_windows_left(tmp_path, monkeypatch):
    whole = run(tmp_path, monkeypatch, "--window", "1")
    calls = []

    def crashing(checkpoints, docs, *args, **kwargs):
        calls.append([d.title for d in docs])
        if len(calls) == 3:
            raise KeyboardInterrupt  # the third window never finishes
        return fake_scores(checkpoints, docs)

    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, monkeypatch, "--window", "1", scorer=crashing)
    assert len(list(tmp_path.glob(".out.json.part0-of-1.jsonl"))) == 1  # the two windows done are kept
    calls.clear()
    assert run(tmp_path, monkeypatch, "--window", "1", "--resume", scorer=crashing) == whole
    assert calls == [["doc2"]]
