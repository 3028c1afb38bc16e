"""One checkpoint catalog for the CLI and the app: sound directories listed with method and dev F1, a broken
one skipped with its reason."""
from __future__ import annotations

import os
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


def _secret(tmp_path) -> tuple:
    """A file outside the models folder whose bytes must never reach a page (a stand-in for /etc/shadow)."""
    secret = tmp_path / "shadow"
    secret.write_bytes(b"root:*:20000:0:99999:7:::\n" * 40)
    return secret, str(secret.stat().st_size)


def test_hostile_model_directories_are_skipped_and_leak_nothing(tiny_models_dir, tmp_path) -> None:
    """Issue 27: a model.safetensors linked to a secret file showed its size and first 8 bytes; a nested
    config.json raised RecursionError and broke the Upload page for everyone."""
    root = tmp_path / "models"
    shutil.copytree(tiny_models_dir, root)
    secret, size = _secret(tmp_path)
    linked = root / "linked"
    linked.mkdir()
    shutil.copy(root / "tiny" / "config.json", linked / "config.json")
    (linked / "model.safetensors").symlink_to(secret)
    (root / "linked_config").mkdir()
    (root / "linked_config" / "config.json").symlink_to(secret)
    shutil.copy(root / "tiny" / "model.safetensors", root / "linked_config" / "model.safetensors")
    outside = tmp_path / "elsewhere"
    shutil.copytree(tiny_models_dir / "tiny", outside)
    (root / "linked_dir").symlink_to(outside, target_is_directory=True)
    (root / "nested").mkdir()
    (root / "nested" / "config.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    shutil.copy(root / "tiny" / "model.safetensors", root / "nested" / "model.safetensors")
    (root / "fifo").mkdir()
    shutil.copy(root / "tiny" / "config.json", root / "fifo" / "config.json")
    os.mkfifo(root / "fifo" / "model.safetensors")  # opening it would block the page for ever
    scan = scan_checkpoints(root)
    assert [c.name for c in scan.found] == ["tiny", "tiny2"]
    why = dict(line.split(": ", 1) for line in scan.skipped)
    assert set(why) == {"linked", "linked_config", "linked_dir", "nested", "fifo"}
    assert "outside its checkpoint directory" in why["linked"] and "outside its" in why["linked_config"]
    assert "outside the models folder" in why["linked_dir"]
    assert "nested too deeply" in why["nested"] and "not a regular file" in why["fifo"]
    for line in scan.skipped:
        assert "root" not in line.replace(str(root), "") and size not in line and "shadow" not in line


def test_a_header_that_is_not_safetensors_quotes_none_of_its_bytes(tiny_models_dir, tmp_path) -> None:
    root = tmp_path / "models"
    shutil.copytree(tiny_models_dir, root)
    (root / "tiny" / "model.safetensors").write_bytes(b"root:*:2" + b"x" * 500)
    (root / "tiny2" / "model.safetensors").write_bytes((30).to_bytes(8, "little") + b"\xffroot:*:20000" + b"x" * 50)
    scan = scan_checkpoints(root)
    assert scan.found == () and len(scan.skipped) == 2
    for line in scan.skipped:
        assert "root" not in line.replace(str(root), "") and "508" not in line and "0x" not in line, line
