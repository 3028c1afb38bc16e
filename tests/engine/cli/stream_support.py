"""Helpers for the CLI tests that run `predict` in child processes over a JSON Lines corpus."""
from __future__ import annotations

import json
import os
from pathlib import Path

from engine.data.documents import document_to_json
from tests.paths import ROOT


def single_thread_env() -> dict[str, str]:
    """One thread per process (the machine is shared) and the same numerics as the in-process tests."""
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
            "DOCRE_PRECISION": "float32", "PYTHONPATH": str(ROOT), "TOKENIZERS_PARALLELISM": "false"}


def write_corpus(docs, path: Path, n: int) -> None:
    """n documents as JSON Lines: the given ones repeated under new titles."""
    with path.open("w", encoding="utf-8") as fh:
        for k in range(n):
            obj = document_to_json(docs[k % len(docs)])
            fh.write(json.dumps({**obj, "title": f"{obj['title']} #{k}"}, ensure_ascii=False) + "\n")
