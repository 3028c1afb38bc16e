"""Which documents this process scores when `accelerate launch` starts several: the input is cut into
windows of consecutive documents and window k goes to process k % N, so every process reads the same input
and no one hands documents out. Whole windows rather than single documents, so each batch holds the same
documents as in a one-process run and the merged output equals that run's exactly (batch composition moves
float results in the last bits). A plain run is process 0 of 1 and imports nothing from Accelerate (as the
trainer's `_maybe_accelerator`)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Shard:
    """Process `rank` of `world`; `state` is Accelerate's PartialState when world > 1 (for the barrier)."""

    rank: int = 0
    world: int = 1
    state: Any = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def owns(self, window: int) -> bool:
        return window % self.world == self.rank

    def wait_for_everyone(self) -> None:
        """Block until every process gets here (no-op alone): rank 0 merges only once every part is written."""
        if self.state is not None:
            self.state.wait_for_everyone()

    def device(self, requested: str | None) -> str | None:
        """Under Accelerate, this process's own GPU (cuda:LOCAL_RANK) unless --device names one (plain `cuda`
        would put every process on GPU 0); alone, --device or the default."""
        if self.state is None or (requested and requested != "cuda"):
            return requested
        return "cpu" if self.state.device.type == "cpu" else str(self.state.device)


def current_shard() -> Shard:
    """This process's place under `accelerate launch` / torchrun (WORLD_SIZE > 1), else Shard(0, 1)."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return Shard()
    import torch  # noqa: PLC0415
    from accelerate import PartialState  # noqa: PLC0415 - only when launched with several processes

    # without CUDA, Accelerate sets up gloo only when told the run is on CPU
    state = PartialState(cpu=not torch.cuda.is_available())
    return Shard(state.process_index, state.num_processes, state)


__all__ = ["Shard", "current_shard"]
