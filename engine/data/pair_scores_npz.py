"""`PairScores` as a compressed NumPy archive: the arrays stay arrays, exactly, and the method's extras and the
calibration travel in a JSON `meta` entry (their own serialisation, engine.data.pair_extras). No pickle: read
with `allow_pickle=False`.

Shared by the CLI's score cache (a file per document) and the store (a blob per run and document). The JSON
form (PairScores.to_json) turns every value into a Python float first: about 84 million of them for a
540-entity document (290,700 pairs x 97 logits and probabilities), gigabytes where the arrays take 250 MB."""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import BinaryIO

import numpy as np

from engine.data.margin_calibration import MarginCalibration
from engine.data.pair_extras import extras_from_json, extras_to_json
from engine.data.pair_scores import PairScores

NPZ_MAGIC = b"PK"  # a zip archive's first bytes: tells this form from the store's older zlib-compressed JSON


def write_scores_npz(ps: PairScores, target: str | Path | BinaryIO) -> None:
    """One document's scores into `target` (a path or a binary file)."""
    meta = {"title": ps.title, "method": ps.method, "relation_ids": list(ps.relation_ids),
            "extras": extras_to_json(ps.extras),
            "calibration": None if ps.calibration is None else ps.calibration.to_json()}
    np.savez_compressed(target, meta=np.array(json.dumps(meta)), heads=ps.heads, tails=ps.tails, logits=ps.logits,
                        probabilities=ps.probabilities, decoded=ps.decoded)


def read_scores_npz(source: str | Path | BinaryIO, where: str) -> PairScores:
    """Scores written by write_scores_npz; `where` names the file or row in a calibration error."""
    with np.load(source, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        calibration = meta.get("calibration")
        return PairScores(meta["title"], meta["method"], tuple(meta["relation_ids"]), z["heads"], z["tails"],
                          z["logits"], z["probabilities"], z["decoded"], extras=extras_from_json(meta),
                          calibration=None if calibration is None else MarginCalibration.from_json(calibration, where))


def scores_to_bytes(ps: PairScores) -> bytes:
    buffer = io.BytesIO()
    write_scores_npz(ps, buffer)
    return buffer.getvalue()


def scores_from_bytes(payload: bytes, where: str) -> PairScores:
    return read_scores_npz(io.BytesIO(payload), where)


__all__ = ["NPZ_MAGIC", "read_scores_npz", "scores_from_bytes", "scores_to_bytes", "write_scores_npz"]
