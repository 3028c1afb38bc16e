"""Text ingestion beside the model load: a forked child before torch is imported, inline after; the same
documents either way, and the child's errors reach the caller unchanged."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli.background_ingest import TextIngestion
from engine.data.documents import document_to_json
from engine.errors import InputFileError

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "assets" / "samples" / "sample.txt"
CHILD = """
import json, sys
from engine.cli.background_ingest import TextIngestion
from engine.data.documents import document_to_json
ingestion = TextIngestion(sys.argv[1]).start()
try:
    docs = ingestion.documents()
    print(json.dumps({"background": ingestion.in_background, "torch": "torch" in sys.modules,
                      "docs": [document_to_json(d) for d in docs]}))
except Exception as exc:
    print(json.dumps({"background": ingestion.in_background, "error": type(exc).__name__, "message": str(exc)}))
"""


def _run(path: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], cwd=ROOT, capture_output=True, text=True,
                         timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_fresh_process_ingests_in_a_child_and_gets_what_inline_ingestion_gives():
    background = _run(SAMPLE)
    assert background["background"] and not background["torch"]
    inline = TextIngestion(str(SAMPLE)).start()  # pytest has imported torch: no fork here
    assert not inline.in_background
    assert background["docs"] == [document_to_json(d) for d in inline.documents()]


def test_the_childs_error_reaches_the_caller(tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("caf\xe9 au lait".encode("latin-1"))
    result = _run(bad)
    assert result["background"] and result["error"] == "InputFileError"
    assert "latin1.txt: the file must be UTF-8 text, but byte 3 (0xe9)" in result["message"]
    with pytest.raises(InputFileError, match="byte 3"):
        TextIngestion(str(bad)).start().documents()


def test_ingestion_runs_without_importing_torch():
    """spaCy's thinc imports torch when it can; the child refuses it, and ingestion needs none of it."""
    code = ("import sys\n"
            "from engine.cli.background_ingest import _WithoutTorch, _ingest\n"
            "sys.meta_path.insert(0, _WithoutTorch())\n"
            "docs = _ingest(sys.argv[1])\n"
            "print(len(docs[0].entities) > 0, 'torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code, str(SAMPLE)], cwd=ROOT, capture_output=True, text=True,
                         timeout=300, check=True)
    assert out.stdout.strip().splitlines()[-1] == "True False"


def test_an_error_that_does_not_pickle_still_reaches_the_caller(tmp_path, monkeypatch):
    """The child's send of an unpicklable exception falls back to its text."""
    import multiprocessing

    from engine.cli import background_ingest

    class Unpicklable(Exception):
        def __reduce__(self):
            raise TypeError("not picklable")

    def failing(path: str):
        raise Unpicklable("spaCy broke")

    monkeypatch.setattr(background_ingest, "_ingest", failing)
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))  # the child's torch guard stays in this test
    receive, send = multiprocessing.Pipe(duplex=False)
    background_ingest._child(str(SAMPLE), send)  # in this process: the child's own code path
    status, error = receive.recv()
    assert status == "error" and isinstance(error, RuntimeError)
    assert "Unpicklable: spaCy broke" in str(error) and str(SAMPLE) in str(error)
