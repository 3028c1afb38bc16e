"""Scoring a corpus of any size in windows: shared by `predict` and `suggest`.

Documents stream from the input in windows of consecutive documents; this process (engine.serve.shards)
takes window k when k % N is its rank and has it scored (the predictor sorts a window longest first, so batches pad
little while memory stays bounded by the window, not the corpus) and appends one line per document to each
of its work files. `--resume` keeps the whole windows already in those files and scores the rest: windows
are cut at the same places in every run, so the resumed output equals an uninterrupted one exactly.
Under several processes each writes part files that rank 0 merges in input order (`merged_lines`)."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from engine.cli.common import count_bar
from engine.cli.line_log import LineLog, read_titles
from engine.data.documents import Document
from engine.errors import ConfigError, InputFileError
from engine.serve.native_memory import release_freed_memory
from engine.serve.shards import Shard

log = logging.getLogger("engine")
DEFAULT_WINDOW = 256
# (global indices, documents) of one window -> one list of lines per work file, one line per document
ScoreWindow = Callable[[list[int], list[Document]], list[list[str]]]


def part_path(target: Path, rank: int, world: int) -> Path:
    """The work file of process `rank` of `world` for `target` (hidden beside it)."""
    return target.with_name(f".{target.name}.part{rank}-of-{world}.jsonl")


def work_path(target: Path, shard: Shard) -> Path:
    """Where this process writes for `target`: the target itself when it is JSON Lines and nothing merges."""
    if shard.world == 1 and target.suffix.lower() == ".jsonl":
        return target
    return part_path(target, shard.rank, shard.world)


def check_window(window: int) -> None:
    if window < 1:
        raise ConfigError(f"--window must be at least 1 document, got {window}")


def owned_windows(documents: Iterable[Document], shard: Shard, size: int) -> Iterator[tuple[list[int], list[Document]]]:
    """This process's windows of `size` consecutive documents, with their indices in the whole input."""
    idx: list[int] = []
    docs: list[Document] = []
    for i, doc in enumerate(documents):
        if shard.owns(i // size):
            idx.append(i)
            docs.append(doc)
            if len(docs) == size:
                yield idx, docs
                idx, docs = [], []
    if docs:
        yield idx, docs


def run_windows(documents: Iterable[Document], shard: Shard, paths: Sequence[Path], score: ScoreWindow, *,
                window: int = DEFAULT_WINDOW, resume: bool = False,
                progress: Callable[[int], None] | None = None) -> tuple[int, int]:
    """Score this process's documents window by window into `paths` (one line per document each);
    (documents scored now, documents kept from an earlier run)."""
    read = [read_titles(p) if resume else ([], []) for p in paths]
    kept = min(len(titles) for titles, _ in read) // window * window  # whole windows present in every file
    if resume and kept:
        log.info("resuming: %d documents already in %s", kept, ", ".join(map(str, paths)))
    titles = read[0][0]
    logs = [LineLog(p, kept, ends) for p, (_, ends) in zip(paths, read)]
    scored = position = 0
    try:
        for idx, docs in owned_windows(documents, shard, window):
            if position < kept:
                for k, doc in enumerate(docs):
                    if titles[position + k] != doc.title:
                        raise InputFileError(
                            f"{paths[0]}: line {position + k + 1} holds {titles[position + k]!r} but document "
                            f"{idx[k]} of the input is {doc.title!r}; it was written for another input, --window or "
                            "number of processes: remove it or drop --resume")
                position += len(docs)
                continue
            for log_, lines in zip(logs, score(idx, docs)):
                log_.append(lines)
            scored += len(docs)
            position += len(docs)
            release_freed_memory()  # the window's tensors: without it the heap only grows (native_memory)
            if progress is not None:
                progress(len(docs))
    finally:
        for log_ in logs:
            log_.close()
    if position < kept:
        raise InputFileError(f"{paths[0]} holds {kept} documents but the input gives this process only {position}; "
                             "remove it or drop --resume")
    return scored, kept


def score_corpus(documents: Iterable[Document], shard: Shard, paths: Sequence[Path], score: ScoreWindow, *,
                 window: int, resume: bool, quiet: bool) -> bool:
    """run_windows with a progress bar (rank 0's) and each process's `process R/N scored K documents` line,
    then a wait for every process; True in the process that merges the parts (rank 0)."""
    with count_bar("scoring", quiet or not shard.is_main) as bar:
        scored, kept = run_windows(documents, shard, paths, score, window=window, resume=resume, progress=bar.update)
    log.info("process %d/%d scored %d documents%s", shard.rank, shard.world, scored,
             f" ({kept} kept from the earlier run)" if kept else "")
    shard.wait_for_everyone()
    return shard.is_main


def merged_lines(target: Path, world: int, window: int) -> Iterator[str]:
    """Every process's lines for `target` in input order: part r holds windows r, r + world, ..."""
    handles = [part_path(target, r, world).open("r", encoding="utf-8") for r in range(world)]
    try:
        while True:
            for fh in handles:
                for k in range(window):
                    line = fh.readline()
                    if not line:
                        return  # a short window is the input's last: the later parts are done too
                    yield line.rstrip("\n")
    finally:
        for fh in handles:
            fh.close()


def remove_parts(target: Path, world: int) -> None:
    for r in range(world):
        part_path(target, r, world).unlink(missing_ok=True)


__all__ = ["DEFAULT_WINDOW", "check_window", "merged_lines", "owned_windows", "part_path", "remove_parts",
           "run_windows", "work_path"]
