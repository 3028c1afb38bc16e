"""Both command lines, as real processes, on a file of 100k nested lists (a RecursionError traceback before
issue 27) and on an integer of 5,000 digits: one line naming the file (and document and field), exit 2."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.paths import ROOT, SHARED_DATA


def _run(*argv: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCRE_DATA_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    env.pop("DOCRE_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


def test_deeply_nested_json_is_one_clear_line_in_both_clis(tmp_path: Path, tiny_models_dir: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    db_cli = _run("db", "import", str(deep), "--dataset", "d", tmp_path=tmp_path)
    engine_cli = _run("engine", "evaluate", "--checkpoint", str(tiny_models_dir / "tiny"), "--input", str(deep),
                      tmp_path=tmp_path)
    for done in (db_cli, engine_cli):
        assert done.returncode == 2, done.stderr[-2000:]
        assert "RecursionError" not in done.stderr and "Traceback" not in done.stderr
        assert re.search(r"deep.json: (document 0: )?JSON nested too deeply", done.stderr), done.stderr[-1000:]


def test_a_5000_digit_integer_names_file_document_and_field(tmp_path: Path) -> None:
    doc = json.loads((SHARED_DATA / "redocred" / "dev_revised.json").read_text(encoding="utf-8"))[0]
    path = tmp_path / "big.json"
    path.write_text(json.dumps([doc]).replace('"sent_id": 0', '"sent_id": ' + "7" * 5000, 1), encoding="utf-8")
    done = _run("db", "import", str(path), "--dataset", "d", tmp_path=tmp_path)
    assert "Exceeds the limit" not in done.stderr, done.stderr[-2000:]
    assert f"document 0 “{doc['title']}”" in done.stderr
    assert "vertexSet[0][0].sent_id" in done.stderr and "an integer of 5,000 digits" in done.stderr
