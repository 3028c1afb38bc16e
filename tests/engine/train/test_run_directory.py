"""Crash-safe training checkpoints: a kill at any moment of a save leaves a loadable state or a message that
says how to restart; resuming with other data or settings is refused unless forced."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from engine.config import EncoderConfig, TrainConfig
from engine.data.schema import default_schema
from engine.errors import CheckpointError
from engine.model.checkpoint import build_model, load_checkpoint, save_checkpoint
from engine.model.methods import get_method
from engine.train import run_directory as rd
from engine.train.run_directory import RunDirectory
from engine.train.state import TrainState
from engine.train.trainer import Trainer
from tests.model_helpers import small_docs
from tests.paths import ROOT


@pytest.fixture()
def tiny_run(tiny_encoder_dir, redocred_docs, tmp_path):
    config = get_method("atlop").config_class(emb_size=32, block_size=8)
    loaded = build_model("atlop", config, EncoderConfig(name=str(tiny_encoder_dir), freeze_word_embeddings=False),
                         default_schema())
    feats = [loaded.tokenizer.featurize(d, loaded.schema) for d in small_docs(redocred_docs, 1)]
    trainer = Trainer(loaded, TrainConfig(epochs=1, batch_size=1), feats)
    run = RunDirectory(tmp_path / "run", "hash-a", {"epochs": 2, "lr_encoder": 5e-5})
    return loaded, trainer, run


def _save_last(run: RunDirectory, loaded, trainer, epoch: int) -> None:
    run.save_last(loaded, TrainState(epoch=epoch), {}, trainer.optimizer, trainer.scheduler)


def test_complete_last_resumes_and_other_data_or_settings_are_refused(tiny_run) -> None:
    loaded, trainer, run = tiny_run
    assert run.resumable() is None
    _save_last(run, loaded, trainer, 1)
    assert run.resumable() == run.last
    other_data = RunDirectory(run.output, "hash-b", run.train_config)
    with pytest.raises(CheckpointError, match="other data.*--force-resume"):
        other_data.resumable()
    other_settings = RunDirectory(run.output, "hash-a", {"epochs": 2, "lr_encoder": 1e-4})
    with pytest.raises(CheckpointError, match=r"lr_encoder: 5e-05 -> 0.0001"):
        other_settings.resumable()
    assert other_settings.resumable(force=True) == run.last
    # more epochs is how an interrupted run is extended: allowed
    assert RunDirectory(run.output, "hash-a", {"epochs": 5, "lr_encoder": 5e-5}).resumable() == run.last


def test_interrupted_saves_are_detected_with_a_way_to_restart(tiny_run, monkeypatch) -> None:
    loaded, trainer, run = tiny_run
    _save_last(run, loaded, trainer, 1)

    # a crash before the state file: last/ stays the previous complete one, the partial copy is ignored
    def fail(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(rd, "save_training_state", fail)
    with pytest.raises(KeyboardInterrupt):
        _save_last(run, loaded, trainer, 2)
    monkeypatch.undo()
    assert run.resumable() == run.last and load_checkpoint(run.last).info["epoch"] == 1

    # a crash between the two renames: last/ is gone, last.previous/ holds the state
    original_rename = Path.rename

    def rename_then_die(self, target):
        original_rename(self, target)
        if Path(target).name.endswith(".previous"):
            raise KeyboardInterrupt

    monkeypatch.setattr(Path, "rename", rename_then_die)
    with pytest.raises(KeyboardInterrupt):
        _save_last(run, loaded, trainer, 2)
    monkeypatch.undo()
    with pytest.raises(CheckpointError, match="rename last.previous to last.*--no-resume"):
        run.resumable()

    # a last/ missing a file, or whose weights and state come from different saves
    (run.output / "last.previous").rename(run.last)
    (run.last / "optimizer.safetensors").unlink()
    with pytest.raises(CheckpointError, match="incomplete.*optimizer.safetensors.*--no-resume"):
        run.resumable()


def test_best_checkpoint_pairs_from_different_saves_are_refused(tiny_run, tmp_path) -> None:
    loaded, _, _ = tiny_run
    save_checkpoint(loaded, tmp_path / "a")
    save_checkpoint(loaded, tmp_path / "b")
    (tmp_path / "b" / "model.safetensors").replace(tmp_path / "a" / "model.safetensors")
    with pytest.raises(CheckpointError, match="different saves"):
        load_checkpoint(tmp_path / "a")


KILL_SCRIPT = textwrap.dedent('''
    import sys
    from pathlib import Path
    sys.path.insert(0, {root!r})
    from engine.config import EncoderConfig, TrainConfig
    from engine.data.documents import read_documents
    from engine.data.schema import default_schema
    from engine.model.checkpoint import build_model
    from engine.model.methods import get_method
    from engine.train.run_directory import RunDirectory
    from engine.train.state import TrainState
    from engine.train.trainer import Trainer
    config = get_method("atlop").config_class(emb_size=32, block_size=8)
    loaded = build_model("atlop", config, EncoderConfig(name={encoder!r}, freeze_word_embeddings=False),
                         default_schema())
    doc = read_documents({data!r}).documents[0]
    trainer = Trainer(loaded, TrainConfig(epochs=1, batch_size=1), [loaded.tokenizer.featurize(doc, loaded.schema)])
    run = RunDirectory(Path({out!r}), "h", {{"epochs": 1}})
    epoch = 0
    while True:
        epoch += 1
        run.save_last(loaded, TrainState(epoch=epoch), {{}}, trainer.optimizer, trainer.scheduler)
        run.save_best(loaded, TrainState(epoch=epoch), {{}})
        print(epoch, flush=True)
''')


def test_kill_9_during_saves_never_leaves_a_silently_broken_run(tiny_encoder_dir, shared_data, tmp_path) -> None:
    """A real process saving in a loop is killed with SIGKILL at several moments; each time the run either
    resumes from a complete, loadable last/ or says how to restart, and the best checkpoint loads or says why not."""
    out = tmp_path / "run"
    script = tmp_path / "saver.py"
    script.write_text(KILL_SCRIPT.format(root=str(ROOT), encoder=str(tiny_encoder_dir), out=str(out),
                                         data=str(shared_data / "redocred" / "dev_revised.json")))
    for delay in (0.05, 0.13, 0.21, 0.34):
        proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                                env={**os.environ, "HF_HUB_OFFLINE": "1"})
        assert proc.stdout is not None
        proc.stdout.readline()  # at least one complete save before the kill
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        run = RunDirectory(out, "h", {"epochs": 1})
        try:
            last = run.resumable()
        except CheckpointError as exc:
            assert "--no-resume" in str(exc) or "rename" in str(exc)
            if (out / "last.previous").is_dir() and not run.last.exists():
                (out / "last.previous").rename(run.last)
        else:
            assert last is not None and load_checkpoint(last).info["epoch"] >= 1
        try:
            assert load_checkpoint(out).info["epoch"] >= 1
        except CheckpointError as exc:
            assert "different saves" in str(exc)
