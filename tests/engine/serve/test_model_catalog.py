"""One checkpoint catalog for the CLI and the app: sound directories listed with method and dev F1, a broken
one skipped with its reason."""
from __future__ import annotations

import shutil

from engine.serve.model_catalog import scan_checkpoints


def test_scan_lists_sound_checkpoints_and_skips_a_broken_one(tiny_models_dir, tmp_path) -> None:
    root = tmp_path / "models"
    shutil.copytree(tiny_models_dir, root)
    (root / "broken").mkdir()
    (root / "broken" / "config.json").write_text("[]", encoding="utf-8")
    (root / "broken" / "model.safetensors").write_bytes(b"")
    (root / "notes").mkdir()  # no config.json: not a checkpoint, not reported
    scan = scan_checkpoints(root)
    assert [c.name for c in scan.found] == ["tiny", "tiny2"]
    assert [round(c.dev_f1, 2) for c in scan.found] == [0.1, 0.2] and scan.found[0].method == "atlop.v1"
    assert len(scan.skipped) == 1 and scan.skipped[0].startswith("broken: ")
