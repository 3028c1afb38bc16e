"""`predict` over a stream: the .json format is unchanged byte for byte, .jsonl is written window by window,
and a run killed with -9 then rerun with --resume ends with exactly the output of an uninterrupted run,
recomputing at most the window that was in flight."""
from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.cli.line_log import LineLog, read_titles
from engine.cli.predict import json_array_text, result_list_text
from tests.engine.cli.stream_support import single_thread_env, write_corpus
from tests.paths import ROOT

WINDOW = 2


@pytest.fixture(scope="module")
def corpus(redocred_docs, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("stream") / "corpus.jsonl"
    write_corpus([d for d in redocred_docs if len(d.entities) <= 12][:20], path, 300)
    return path


def predict_cmd(model: Path, corpus: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "engine", "--quiet", "predict", "--checkpoint", str(model), "--input", str(corpus),
            "--output", str(out), "--window", str(WINDOW), "--device", "cpu", *extra]


def test_json_writers_match_json_dumps():
    rows = [{"title": "Zürich \"x\"\n", "h_idx": 0, "t_idx": 1, "r": "P17", "score": 1.5},
            {"title": "b", "h_idx": 2, "t_idx": 0, "r": "P131", "score": 0.25}]
    for part in (rows, rows[:1], []):
        assert "".join(result_list_text(iter(part))) == json.dumps(part, indent=1, ensure_ascii=False)
        assert "".join(json_array_text(json.dumps(r) for r in part)) == json.dumps(part)


def test_torn_last_line_is_dropped_and_cut(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_bytes(b'{"title": "a"}\n{"title": "b"}\n{"title": "c", "predic')
    titles, ends = read_titles(path)
    assert titles == ["a", "b"]
    log = LineLog(path, 1, ends)  # keep the first line only
    log.append(['{"title": "z"}'])
    log.close()
    assert path.read_text() == '{"title": "a"}\n{"title": "z"}\n'


def test_kill_then_resume_equals_an_uninterrupted_run(tiny_models_dir, corpus, tmp_path):
    model, env = tiny_models_dir / "tiny", single_thread_env()
    full = tmp_path / "full.jsonl"
    subprocess.run(predict_cmd(model, corpus, full), cwd=ROOT, env=env, check=True, timeout=300)
    total = sum(1 for _ in corpus.open())
    assert len(full.read_text().splitlines()) == total

    out = tmp_path / "out.jsonl"
    proc = subprocess.Popen(predict_cmd(model, corpus, out), cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if out.is_file() and out.stat().st_size and out.read_bytes().count(b"\n") >= 6:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    complete = out.read_bytes().count(b"\n")
    assert 6 <= complete < total, f"the run was not caught mid-way ({complete} of {total} lines)"

    done = subprocess.run(predict_cmd(model, corpus, out, "--resume"), cwd=ROOT, env=env, check=True, timeout=300,
                          capture_output=True, text=True)
    assert out.read_bytes() == full.read_bytes()
    scored = int(re.search(r"process 0/1 scored (\d+) documents", done.stderr).group(1))
    kept = complete // WINDOW * WINDOW
    assert scored == total - kept and complete - kept < WINDOW  # only the in-flight window is redone


def test_resume_of_a_json_output_and_a_finished_jsonl(tiny_models_dir, corpus, tmp_path):
    """A .json output is built from a hidden part that --resume continues; a finished .jsonl rescoring nothing."""
    from engine.cli.main import main

    model = tiny_models_dir / "tiny"
    small = tmp_path / "small.jsonl"
    small.write_text("".join(corpus.read_text(encoding="utf-8").splitlines(keepends=True)[:7]), encoding="utf-8")
    args = ["--quiet", "predict", "--checkpoint", str(model), "--input", str(small), "--window", str(WINDOW)]
    assert main(args + ["--output", str(tmp_path / "a.json")]) == 0
    part = tmp_path / ".b.json.part0-of-1.jsonl"
    assert main(args + ["--output", str(tmp_path / "b.jsonl")]) == 0
    lines = (tmp_path / "b.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    part.write_text("".join(lines[:3]) + lines[3][:10], encoding="utf-8")  # as a crash would leave it
    assert main(args + ["--output", str(tmp_path / "b.json"), "--resume"]) == 0
    assert (tmp_path / "b.json").read_bytes() == (tmp_path / "a.json").read_bytes() and not part.exists()
    before = (tmp_path / "b.jsonl").read_bytes()
    assert main(args + ["--output", str(tmp_path / "b.jsonl"), "--resume"]) == 0
    assert (tmp_path / "b.jsonl").read_bytes() == before


def test_resume_refuses_an_output_of_another_input(tiny_models_dir, corpus, tmp_path, capsys):
    from engine.cli.main import main

    out = tmp_path / "o.jsonl"
    out.write_text('{"title": "not in the corpus", "predictions": []}\n' * 4, encoding="utf-8")
    code = main(["--quiet", "predict", "--checkpoint", str(tiny_models_dir / "tiny"), "--input", str(corpus),
                 "--output", str(out), "--window", str(WINDOW), "--resume"])
    assert code == 2 and "line 1 holds 'not in the corpus'" in capsys.readouterr().err
