"""A disk cache of model scores, so re-ranking with feedback or re-running a benchmark never rescores.

Scoring is the slow step of `suggest` (seconds per document per model on CPU); ranking and refitting the
ranker take well under a second. One `.npz` per (model, document) (engine.data.pair_scores_npz, the store's
form too), keyed by a hash of the checkpoint (config.json bytes, weight file
size, inference precision) and of the document's text and entities (labels do not change scores)."""
from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from engine.data.documents import Document, document_to_json
from engine.data.pair_scores import PairScores
from engine.data.pair_scores_npz import read_scores_npz, write_scores_npz
from engine.settings import get_settings

log = logging.getLogger(__name__)
CACHE_FORMAT = 2


def document_key(doc: Document) -> str:
    """Hash of what a model reads: title, tokens and entity mentions (not the labels)."""
    obj = document_to_json(doc)
    payload = json.dumps([obj["title"], obj["sents"], obj["vertexSet"]], ensure_ascii=False, sort_keys=True)
    return hashlib.sha1(payload.encode("utf-8")).hexdigest()[:20]


def model_key(checkpoint: Path) -> str:
    """Hash of a checkpoint as far as its scores go: its config, weight size and the inference precision."""
    h = hashlib.sha1((checkpoint / "config.json").read_bytes())
    weights = checkpoint / "model.safetensors"
    h.update(str(weights.stat().st_size if weights.is_file() else -1).encode())
    h.update(f"precision={get_settings().precision or 'auto'};format={CACHE_FORMAT}".encode())
    return h.hexdigest()[:12]


def save_scores(ps: PairScores, path: Path) -> None:
    """One document's scores as a compressed .npz (engine.data.pair_scores_npz), written beside and renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.npz")
    write_scores_npz(ps, tmp)
    os.replace(tmp, path)


def load_scores(path: Path) -> PairScores:
    """Scores written by save_scores."""
    return read_scores_npz(path, str(path))


def cached_scores(checkpoints: Sequence[Path], docs: Sequence[Document], cache_dir: Path, device: str | None = None,
                  quiet: bool = False) -> dict[str, list[PairScores]]:
    """Each checkpoint's scores for every document, from `cache_dir` where present; the rest scored and saved."""
    from engine.cli.scoring import model_names, score_documents  # noqa: PLC0415

    out: dict[str, list[PairScores]] = {}
    doc_keys = [document_key(d) for d in docs]
    for name, path in zip(model_names(checkpoints), checkpoints):
        folder = cache_dir / f"{path.name}-{model_key(path)}"
        files = [folder / f"{k}.npz" for k in doc_keys]
        missing = [i for i, f in enumerate(files) if not f.is_file()]
        if missing:
            log.info("%s: scoring %d of %d documents (the rest from %s)", name, len(missing), len(docs), folder)
            fresh = score_documents([path], [docs[i] for i in missing], device, quiet).popitem()[1]
            for i, ps in zip(missing, fresh):
                save_scores(ps, files[i])
        out[name] = [load_scores(f) for f in files]
    return out
