"""engine.serve.shards: a plain run is process 0 of 1 and owns every window; under Accelerate a process owns
every N-th window and a bare `--device cuda` means its own GPU."""
from __future__ import annotations

from types import SimpleNamespace

from engine.serve.shards import Shard, current_shard


def test_a_plain_run_is_one_process(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    shard = current_shard()
    assert (shard.rank, shard.world, shard.is_main) == (0, 1, True)
    assert all(shard.owns(k) for k in range(5)) and shard.device(None) is None and shard.device("cuda") == "cuda"


def test_windows_and_devices_under_accelerate():
    gpu = type("Device", (), {"type": "cuda", "__str__": lambda self: "cuda:1"})()
    state = SimpleNamespace(device=gpu)  # what PartialState gives process 1
    shard = Shard(1, 3, state)
    assert [k for k in range(7) if shard.owns(k)] == [1, 4] and not shard.is_main
    assert shard.device(None) == "cuda:1" and shard.device("cuda") == "cuda:1" and shard.device("cuda:0") == "cuda:0"
