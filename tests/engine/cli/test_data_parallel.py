"""`accelerate launch --num_processes 2 -m engine predict|suggest` for real on CPU: two processes, each scoring
its share of the windows and logging it, and one merged output equal byte for byte to a one-process run's.

Why `--multi_gpu` on a CPU machine: Accelerate 1.15's `--cpu` takes its simple launcher, which starts one
process whatever `--num_processes` says (several CPU processes need mpirun); `--multi_gpu` starts them with
torchrun, and engine.serve.shards asks Accelerate for the gloo (CPU) backend when there is no CUDA."""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.cli.stream_support import single_thread_env, write_corpus
from tests.paths import ROOT

ACCELERATE = Path(sys.executable).with_name("accelerate")
pytestmark = pytest.mark.skipif(not ACCELERATE.is_file() and shutil.which("accelerate") is None,
                                reason="accelerate is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(n: int, *engine_args: str) -> subprocess.CompletedProcess:
    """`python -m engine ...` alone (n = 1) or under `accelerate launch` with n processes."""
    if n == 1:
        cmd = [sys.executable, "-m", "engine", *engine_args]
    else:
        cmd = [str(ACCELERATE if ACCELERATE.is_file() else shutil.which("accelerate")), "launch", "--multi_gpu",
               "--num_processes", str(n), "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
               "--num_cpu_threads_per_process", "1", "--main_process_port", str(free_port()), "-m", "engine",
               *engine_args]
    done = subprocess.run(cmd, cwd=ROOT, env=single_thread_env(), capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def corpus(redocred_docs, tmp_path_factory) -> Path:
    """11 labelled documents: with --window 2 the last window is short and the two processes' shares differ."""
    path = tmp_path_factory.mktemp("parallel") / "corpus.jsonl"
    write_corpus([d for d in redocred_docs if len(d.entities) <= 12][:11], path, 11)
    return path


def test_predict_on_two_processes_equals_one(tiny_models_dir, corpus, tmp_path):
    outputs = {}
    for n in (1, 2):
        out, scores = tmp_path / f"p{n}.json", tmp_path / f"s{n}.jsonl"
        done = launch(n, "--quiet", "predict", "--checkpoint", str(tiny_models_dir / "tiny"), "--input", str(corpus),
                      "--output", str(out), "--scores-output", str(scores), "--window", "2", "--device", "cpu")
        outputs[n] = (out.read_bytes(), scores.read_bytes())
        if n == 2:  # windows 0, 2, 4 (6 documents) and 1, 3, 5 (5): each process says what it did
            assert "process 0/2 scored 6 documents" in done.stderr and "process 1/2 scored 5 documents" in done.stderr
    assert outputs[2] == outputs[1] and json.loads(outputs[1][0])
    assert not list(tmp_path.glob(".*part*"))  # the parts are merged and removed


def test_suggest_on_two_processes_equals_one(tiny_models_dir, corpus, tmp_path):
    outputs = {}
    for n in (1, 2):
        out = tmp_path / f"sugg{n}.json"
        done = launch(n, "--quiet", "suggest", "--checkpoint", str(tiny_models_dir / "tiny"),
                      str(tiny_models_dir / "tiny2"), "--input", str(corpus), "--output", str(out), "--no-ranker",
                      "--window", "2", "--limit", "40", "--device", "cpu")
        outputs[n] = out.read_bytes()
        if n == 2:
            assert "process 0/2 scored 6 documents" in done.stderr and "process 1/2 scored 5 documents" in done.stderr
    assert outputs[2] == outputs[1] and len(json.loads(outputs[1])) == 40
    assert not list(tmp_path.glob(".*part*"))
