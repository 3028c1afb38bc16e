"""The methods grid's ledger: a killed grid resumes to exactly the records of an uninterrupted one, a full
ledger means nothing to do, the table is rendered from the ledger alone (the committed one matches
bench/RESULTS.md), and the paired bootstrap and per-document counts compute what they claim."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.paths import ROOT

BENCH = ROOT / "bench"
sys.path.insert(0, str(BENCH))

from grid.ledger import read_ledger  # noqa: E402
from grid.measure import document_counts  # noqa: E402
from grid.table import bootstrap_contrast, f1_of, paired_bootstrap, render, verdict  # noqa: E402


def grid_command(tiny_encoder_dir: Path, warm: Path, out: Path) -> list[str]:
    return [sys.executable, str(BENCH / "methods.py"), "--encoder", str(tiny_encoder_dir), "--warm-full", str(warm),
            "--max-train-docs", "3", "--max-eval-docs", "2", "--epochs", "3", "--precision", "float32",
            "--settings", "full", "--seeds", "0", "--methods", "atlop,ncrl",
            "--runs-dir", str(out / "runs"), "--ledger", str(out / "ledger")]


def comparable(record: dict) -> dict:
    """A record less its provenance (commit, machine, times), which differs between sessions by design."""
    return {k: v for k, v in record.items() if k != "provenance"}


def test_a_killed_grid_resumes_to_the_records_of_an_uninterrupted_one(tiny_encoder_dir, tiny_models_dir, tmp_path,
                                                                       shared_data):
    env = {**os.environ, "DOCRE_PRECISION": "float32"}
    warm = tiny_models_dir / "tiny"
    whole = tmp_path / "whole"
    subprocess.run(grid_command(tiny_encoder_dir, warm, whole), check=True, env=env, capture_output=True, timeout=600)

    cut = tmp_path / "cut"
    resume_state = cut / "runs" / "full" / "ncrl-s0" / "last" / "optimizer.safetensors"
    proc = subprocess.Popen(grid_command(tiny_encoder_dir, warm, cut), env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while not resume_state.is_file() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert resume_state.is_file(), "the second run never saved a resume state: the grid was not cut mid-run"
    os.killpg(proc.pid, signal.SIGKILL)  # the runner and its training process, as a session's end does
    proc.wait()
    assert sorted(p.name for p in (cut / "ledger").glob("*.json")) == ["full-atlop-s0.json"]

    done = subprocess.run(grid_command(tiny_encoder_dir, warm, cut), check=True, env=env, capture_output=True,
                          text=True, timeout=600)
    assert "resuming" in done.stderr  # ncrl continued from its saved epoch instead of starting again
    whole_records = {r["key"]: comparable(r) for r in read_ledger(whole / "ledger")}
    cut_records = {r["key"]: comparable(r) for r in read_ledger(cut / "ledger")}
    assert set(cut_records) == {"full-atlop-s0", "full-ncrl-s0"}
    for key in cut_records:  # run directories differ, so commands do; the result and identity must not
        assert cut_records[key] == whole_records[key], key
    resumed = json.loads((cut / "ledger" / "full-ncrl-s0.json").read_text())["provenance"]
    assert resumed["training_processes"] == 2  # the killed one is on record too
    uninterrupted = json.loads((whole / "ledger" / "full-ncrl-s0.json").read_text())["provenance"]
    assert uninterrupted["cpu_s"] > 0 and uninterrupted["wall_s"] > 0  # a whole run's cost, in CPU seconds too

    again = subprocess.run(grid_command(tiny_encoder_dir, warm, cut), check=True, env=env, capture_output=True,
                           text=True, timeout=600)
    assert "nothing missing" in again.stdout


def _record(setting: str, method: str, seed: int, counts: list[list[int]]) -> dict:
    counts_array = np.asarray(counts)
    f1 = float(f1_of(counts_array.sum(axis=0)))
    return {"key": f"{setting}-{method}-s{seed}", "setting": setting, "method": method, "seed": seed,
            "method_version": f"{method}.v1",
            "result": {"heldout": {"f1": f1}, "revisit": {"p@200": 0.5, "r@missing": 0.3},
                       "heldout_documents": {"titles": [f"d{i}" for i in range(len(counts))], "counts": counts}},
            "provenance": {"machine": "test CPU", "wall_s": 3600.0, "train_s_per_doc": 0.5, "peak_rss_mb": 2048.0}}


def test_the_bootstrap_interval_holds_zero_for_equal_runs_and_excludes_it_for_a_uniformly_better_one():
    rng = np.random.default_rng(1)
    base = np.stack([rng.integers(0, 10, 40), rng.integers(10, 20, 40), rng.integers(10, 20, 40)], axis=1)
    same = paired_bootstrap([base], [base])
    assert same == (0.0, 0.0, 0.0)
    better = base.copy()
    better[:, 0] += 3  # three more true positives in every document, the rest unchanged
    d, low, high = paired_bootstrap([better], [base])
    assert d == pytest.approx(float(f1_of(better.sum(0)) - f1_of(base.sum(0))))
    assert 0 < low < d < high


def test_a_difference_of_gains_is_paired_and_judged_by_its_interval():
    rng = np.random.default_rng(2)
    base = np.stack([rng.integers(0, 10, 40), rng.integers(10, 20, 40), rng.integers(10, 20, 40)], axis=1)
    better = base.copy()
    better[:, 0] += 3
    # the same gain in both settings: the difference of the gains is exactly 0 on every draw
    assert bootstrap_contrast([(1.0, [better]), (-1.0, [base]), (-1.0, [better]), (1.0, [base])]) == (0.0, 0.0, 0.0)
    # a gain only in the first setting: the difference of gains is that gain, with its interval
    d, low, high = bootstrap_contrast([(1.0, [better]), (-1.0, [base]), (-1.0, [base]), (1.0, [base])])
    assert (d, low, high) == paired_bootstrap([better], [base]) and low > 0
    assert [verdict(0.1, 0.3), verdict(-0.2, 0.1), verdict(-0.3, -0.1)] == ["shown", "inside the noise", "not shown"]


def test_the_table_marks_noise_and_gains_and_says_what_is_missing():
    base = [[5, 10, 10], [2, 4, 6], [7, 9, 12], [1, 2, 3]]
    better = [[8, 10, 10], [4, 4, 6], [10, 10, 12], [3, 3, 3]]
    mixed = [[6, 10, 10], [1, 4, 6], [8, 9, 12], [1, 3, 3]]
    timed = _record("full", "paee", 0, better)
    timed["provenance"]["cpu_s"], timed["budget"] = 1200.0, {"document_steps": 1600}
    table = render([_record("full", "atlop", 0, base), timed, _record("full", "ncrl", 0, mixed)])
    rows = {line.split(" | ")[0].strip("| "): line for line in table.splitlines() if line.startswith("| ")}
    assert rows["paee.v1"].split(" | ")[-2] == "0.75"  # CPU s/doc: 1200 CPU seconds over 1600 document-steps
    assert rows["atlop.v1"].split(" | ")[-2] == "-"  # a record from before CPU time was kept says so
    assert "baseline" in rows["atlop.v1"]
    assert "noise" not in rows["paee.v1"] and "+" in rows["paee.v1"].split(" | ")[3]
    assert "noise" in rows["ncrl.v1"]
    assert "P3M claims" in table and "not measured yet" in table


def test_document_counts_sum_to_the_evaluators_f1(redocred_docs):
    from engine.data.metrics import evaluate

    docs = redocred_docs[:5]
    predicted = [{(f.h, f.t, f.r) for f in doc.facts[::2]} | {(0, 1, "P17")} for doc in docs]
    counts = np.asarray(document_counts(docs, predicted))
    report = evaluate(docs, [sorted(p) for p in predicted])
    assert float(f1_of(counts.sum(axis=0))) == pytest.approx(report.overall.f1)


def test_the_committed_results_table_is_the_ledgers():
    text = (BENCH / "RESULTS.md").read_text(encoding="utf-8")
    begin, end = "<!-- methods-ledger:begin -->\n", "<!-- methods-ledger:end -->"
    assert begin in text, "bench/RESULTS.md has no methods-ledger block: run python bench/methods.py --table"
    block = text[text.index(begin) + len(begin):text.index(end)]
    assert block == render(read_ledger(BENCH / "ledger" / "methods"))


def test_decoding_choices_come_from_their_inner_split_record_or_not_at_all(tmp_path):
    from grid.plan import DECISION_CHOICES, decision_options

    relative, field_name, option = DECISION_CHOICES[("full", "p3m")]
    assert decision_options("full", "p3m", tmp_path) == {}  # no choice made yet: the paper's own rule
    (tmp_path / relative).parent.mkdir(parents=True)
    (tmp_path / relative).write_text(json.dumps({field_name: 0.4, "by_alpha": {}}))
    assert decision_options("full", "p3m", tmp_path) == {option: 0.4}
    assert decision_options("half", "p3m", tmp_path) == {} and decision_options("full", "atlop", tmp_path) == {}


def test_the_half_warm_start_is_held_against_its_committed_identity(tmp_path, monkeypatch, caplog):
    import grid.measure
    import methods
    from grid.plan import Paths, WarmStartRecipe

    warm = tmp_path / "runs" / "warm-half"
    warm.mkdir(parents=True)
    (warm / "model.safetensors").write_bytes(b"present")  # built: nothing is trained
    (warm / "BUILT_BY.txt").write_text("python -m engine train ...\n")
    paths = Paths(tmp_path, tmp_path, tmp_path / "runs", tmp_path / "ledger" / "methods", warm, warm)
    digest = {"value": "aaaa"}
    monkeypatch.setattr(grid.measure, "weights_digest", lambda _d: digest["value"])
    methods.ensure_warm_half(paths, WarmStartRecipe(), do_commit=False)
    identity = json.loads((tmp_path / "ledger" / "warm" / "half-atlop.json").read_text())
    assert identity["weights_digest"] == "aaaa" and identity["recipe"] == "python -m engine train ..."
    digest["value"] = "bbbb"  # a rebuild on another machine
    with caplog.at_level("WARNING"):
        methods.ensure_warm_half(paths, WarmStartRecipe(), do_commit=False)
    assert "is not the one the ledger's half runs continued" in caplog.text
    assert json.loads((tmp_path / "ledger" / "warm" / "half-atlop.json").read_text())["weights_digest"] == "aaaa"


def test_a_record_that_continued_another_warm_start_is_run_again(tmp_path):
    import methods
    from grid.plan import GridRun, Paths

    warm = tmp_path / "warm"
    warm.mkdir()
    (warm / "model.safetensors").write_bytes(b"the warm start as it is now")
    paths = Paths(tmp_path, tmp_path, tmp_path / "runs", tmp_path / "ledger", warm, tmp_path / "not-built")
    run = GridRun("full", "atlop", 0)
    now = methods.file_digest(warm / "model.safetensors")
    assert methods.is_current({"warm_start": {"weights_sha256": now}}, run, paths)
    assert not methods.is_current({"warm_start": {"weights_sha256": "0123456789abcdef"}}, run, paths)
    assert not methods.is_current(None, run, paths)
    # the half warm start is not built yet: nothing to compare with, the record stands
    other = {"warm_start": {"weights_sha256": "0123456789abcdef"}}
    assert methods.is_current(other, GridRun("half", "atlop", 0), paths)


def test_a_record_is_held_to_the_warm_start_tensors_not_its_file(tmp_path, monkeypatch):
    """A rebuilt warm start with the very same tensors has another file sha256 (a fresh checkpoint id in its
    metadata): records that carry the tensor digest stay current, and one whose tensors differ is run again."""
    import grid.measure
    import methods
    from grid.plan import GridRun, Paths

    warm = tmp_path / "warm"
    warm.mkdir()
    (warm / "model.safetensors").write_bytes(b"rebuilt: same tensors, new metadata")
    monkeypatch.setattr(grid.measure, "weights_digest", lambda _d: "ddae02b5c30d349b")
    paths = Paths(tmp_path, tmp_path, tmp_path / "runs", tmp_path / "ledger", warm, warm)
    run = GridRun("half", "ncrl", 0)
    old_file = {"weights_sha256": "4723091ddadb35d6"}
    assert methods.is_current({"warm_start": {**old_file, "weights_digest": "ddae02b5c30d349b"}}, run, paths)
    assert not methods.is_current({"warm_start": {**old_file, "weights_digest": "0123456789abcdef"}}, run, paths)
    assert not methods.is_current({"warm_start": old_file}, run, paths)  # no digest: the file sha decides


def test_a_record_decoded_under_another_choice_is_measured_again(tmp_path):
    """A decoding choice made again on its inner split (P3M's shift) makes the cells it decodes stale, and
    only those: the others keep their records."""
    import methods
    from grid.plan import DECISION_CHOICES, GridRun, Paths

    relative, field_name, option = DECISION_CHOICES[("full", "p3m")]
    (tmp_path / relative).parent.mkdir(parents=True)
    (tmp_path / relative).write_text(json.dumps({field_name: 0.4}))
    paths = Paths(tmp_path, tmp_path, tmp_path / "runs", tmp_path / "ledger", tmp_path / "no-warm", tmp_path / "no")
    p3m, atlop = GridRun("full", "p3m", 0), GridRun("full", "atlop", 0)
    assert methods.is_current({"decision_options": {option: 0.4}}, p3m, paths)
    assert not methods.is_current({"decision_options": {option: 0.2}}, p3m, paths)
    assert not methods.is_current({"decision_options": {}}, p3m, paths)
    assert methods.is_current({"decision_options": {}}, atlop, paths)
    # a record decoded with another choice still continued the current warm start: its checkpoint is kept
    assert methods.continued_current_warm({"decision_options": {option: 0.2}}, p3m, paths)


def test_a_missing_half_warm_start_is_restored_from_the_commit_its_identity_names(tmp_path, monkeypatch):
    """A fresh clone lacks the half warm start (over 5 MB, out of git since): restoring the very tensors from
    history keeps the ledger's half runs current, where a rebuild on another CPU would not."""
    import grid.measure
    import methods
    from grid.plan import Paths, WarmStartRecipe

    repo = tmp_path / "repo"
    stored = repo / "bench" / "ledger" / "warm" / "half-atlop"
    stored.mkdir(parents=True)
    (stored / "model.safetensors").write_bytes(b"int8 tensors")
    (stored / "BUILT_BY.txt").write_text("python -m engine train ...\n")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "warm start"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    subprocess.run([*git, "rm", "-rq", "bench/ledger/warm/half-atlop"], check=True)
    subprocess.run([*git, "commit", "-qm", "out of git"], check=True)
    identity = repo / "bench" / "ledger" / "warm" / "half-atlop.json"
    identity.parent.mkdir(parents=True, exist_ok=True)
    identity.write_text(json.dumps({"weights_digest": "aaaa", "recipe": "python -m engine train ...",
                                    "restore_from": {"commit": commit, "path": "bench/ledger/warm/half-atlop",
                                                     "files": ["model.safetensors", "BUILT_BY.txt"]}}))
    warm = repo / "runs" / "warm-half"
    paths = Paths(repo, repo, repo / "runs", repo / "bench" / "ledger" / "methods", warm, warm)
    monkeypatch.setattr(grid.measure, "weights_digest", lambda d: "aaaa" if (d / "model.safetensors").read_bytes()
                        == b"int8 tensors" else "other")
    monkeypatch.setattr(methods, "train", lambda *a, **k: pytest.fail("a restorable warm start was trained again"))
    methods.ensure_warm_half(paths, WarmStartRecipe(), do_commit=False)
    assert (warm / "model.safetensors").read_bytes() == b"int8 tensors"

    # tensors that are not the recorded ones are not kept: the caller trains (here: fails loudly)
    shutil.rmtree(warm)
    monkeypatch.setattr(grid.measure, "weights_digest", lambda d: "other")
    assert not methods.restore_from_history(json.loads(identity.read_text()), warm, repo)
    assert not warm.exists()
