"""`python -m db import FILE --dataset NAME [--score]` and `python -m db export --dataset NAME --output FILE`."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from db.__main__ import main
from tests.paths import ROOT

SAMPLE = ROOT / "assets" / "samples" / "redocred_heldout_sample.json"


def test_import_then_export_round_trips_the_sample(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    caplog.set_level(logging.INFO)
    assert main(["--url", url, "import", str(SAMPLE), "--dataset", "held-out"]) == 0
    n = len(json.loads(SAMPLE.read_bytes()))
    assert f"{n} valid document(s), 0 invalid." in caplog.text
    assert f"Stored {n} document(s) in “held-out”." in caplog.text
    out = tmp_path / "out.json"
    assert main(["--url", url, "export", "--dataset", "held-out", "--output", str(out)]) == 0
    assert json.loads(out.read_bytes()) == json.loads(SAMPLE.read_bytes())
    assert main(["--url", url, "import", str(SAMPLE), "--dataset", "held-out"]) == 0
    assert f"{n} already stored (same text and entities) were skipped." in caplog.text
    first = json.loads(SAMPLE.read_bytes())[0]["title"]
    assert f"skipped document 0 “{first}”: the dataset already holds it as document 1" in caplog.text


def test_import_lists_invalid_documents_and_refuses_an_empty_file(tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    caplog.set_level(logging.INFO)
    docs = json.loads(SAMPLE.read_bytes())[:1]
    broken = {**docs[0], "title": "broken one", "labels": [{"h": 999, "t": 0, "r": "P17", "evidence": []}]}
    bad = tmp_path / "mixed.json"
    bad.write_text(json.dumps([docs[0], broken]), encoding="utf-8")
    assert main(["--url", url, "import", str(bad), "--dataset", "d"]) == 0
    assert "1 valid document(s), 1 invalid." in caplog.text and "“broken one”" in caplog.text and "999" in caplog.text
    empty = tmp_path / "empty.json"
    empty.write_text("[]", encoding="utf-8")
    assert main(["--url", url, "import", str(empty), "--dataset", "d"]) == 2
    assert "the file holds no documents" in caplog.text
    assert main(["--url", url, "export", "--dataset", "nope", "--output", str(tmp_path / "x.json")]) == 2


def test_import_with_score_uses_the_default_model(tmp_path: Path, tiny_models_dir: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("DOCRE_MODELS_DIR", str(tiny_models_dir))
    from engine import settings

    if hasattr(settings.get_settings, "cache_clear"):
        settings.get_settings.cache_clear()
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    caplog.set_level(logging.INFO)
    try:
        assert main(["--url", url, "import", str(SAMPLE), "--dataset", "s", "--score"]) == 0
    finally:
        if hasattr(settings.get_settings, "cache_clear"):
            settings.get_settings.cache_clear()
    assert "Scored with tiny (run 1)" in caplog.text
