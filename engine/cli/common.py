"""Helpers every command shares: documents from a file (DocRED JSON or text), split selection, `--option`
parsing and the progress bar. Imports nothing from the other CLI modules, so none imports it back."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Callable, Iterator, Sequence

from engine.data.documents import Document, read_documents
from engine.errors import ConfigError, InputFileError

log = logging.getLogger("engine")
PRECISION_HELP = ("inference precision (default: DOCRE_PRECISION, else auto: the fastest the CPU or GPU runs natively, "
                  "int8 = bf16 with an int8 classifier, CPU only)")


def split_titles(split: str | None) -> set[str] | None:
    """The titles `SPLIT.json:part` lists under `part` (None without --split)."""
    if not split:
        return None
    path, _, part = split.rpartition(":")
    if not path:
        raise InputFileError(f"--split expects FILE.json:PART (for example split.json:train), got {split!r}")
    try:
        return set(json.loads(Path(path).read_text(encoding="utf-8"))[part])
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise InputFileError(f"cannot read part {part!r} of split file {path}: {exc}") from exc


def select_titles(documents: Sequence[Document], split: str | None) -> list[Document]:
    """`SPLIT.json:part` keeps the documents whose titles that JSON lists under `part`."""
    titles = split_titles(split)
    if titles is None:
        return list(documents)
    chosen = [d for d in documents if d.title in titles]
    if not chosen:
        raise InputFileError(f"no document title matches part {split.rpartition(':')[2]!r} of "
                             f"{split.rpartition(':')[0]}")
    return chosen


def load_docs(path: str, split: str | None = None, schema=None) -> list[Document]:
    """Documents of a DocRED JSON file (invalid ones reported and skipped) or, for .txt, one ingested text."""
    p = Path(path)
    if p.suffix.lower() == ".txt":
        from engine.data.ingest import ingest_bytes  # noqa: PLC0415 - spaCy only when ingesting

        try:
            return [ingest_bytes(p.read_bytes(), filename=p.name)]
        except OSError as exc:
            raise InputFileError(f"cannot read {p}: {exc}") from exc
    result = read_documents(p, schema)
    for problem in result.problems:
        log.warning("skipped: %s", problem)
    if not result.documents:
        raise InputFileError(f"{p}: no valid document ({len(result.problems)} rejected)")
    return select_titles(result.documents, split)


def stream_documents(path: str, split: str | None = None, schema=None,
                     labelled_only: bool = False) -> Iterator[Document]:
    """The documents of a DocRED JSON or JSON Lines file one at a time (engine.data.streaming), so a corpus of
    any size is read in constant memory; a .txt file is one ingested document. Invalid documents are logged and
    skipped; a file that yields none is an error (raised once the file is read through)."""
    if Path(path).suffix.lower() == ".txt":
        yield from load_docs(path, split, schema)
        return
    from engine.data.streaming import iter_documents  # noqa: PLC0415

    titles = split_titles(split)
    kept = 0
    for doc in iter_documents(path, schema):
        if (titles is None or doc.title in titles) and (doc.has_labels or not labelled_only):
            kept += 1
            yield doc
    if not kept:
        what = "has labels" if labelled_only else "is valid"
        raise InputFileError(f"{path}: no document {what}" + (f" among the titles of --split {split}" if split else ""))


def parse_options(pairs: Sequence[str]) -> dict:
    """`key=value` pairs; values parsed as JSON when they parse (numbers, booleans), else kept as text."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise InputFileError(f"--option expects key=value, got {pair!r}")
        try:
            out[key.replace("-", "_")] = json.loads(value)
        except json.JSONDecodeError:
            out[key.replace("-", "_")] = value
    return out


def check_output_file(path: str | None, flag: str = "--output") -> None:
    """Refuse, before any work, an output file path that is a directory or whose directory does not exist:
    otherwise the error comes only after scoring, and the scores are lost."""
    if path is None:
        return
    target = Path(path)
    if target.is_dir():
        raise ConfigError(f"{flag} {path} is a directory; give a file name, e.g. {target / 'predictions.json'}")
    parent = target.parent
    if not parent.is_dir():
        raise ConfigError(f"{flag} {path}: its directory {parent} does not exist; "
                          "create it first or choose another path")


def at_least_one(value: int | None, flag: str) -> None:
    """A count option that may be absent but, when given, is >= 1 (0 must not silently mean "all")."""
    if value is not None and value < 1:
        raise ConfigError(f"{flag} must be at least 1, got {value}")


def progress_bar(desc: str, quiet: bool) -> Callable[[int, int], None]:
    """A (done, total) callback that draws a tqdm bar on stderr (none with --quiet)."""
    from tqdm.auto import tqdm  # noqa: PLC0415

    bar = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc=desc, disable=quiet)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()
    return update


def count_bar(desc: str, quiet: bool):
    """A tqdm bar counting documents of a stream whose length is unknown (use as a context manager)."""
    from tqdm.auto import tqdm  # noqa: PLC0415

    return tqdm(desc=desc, unit="doc", disable=quiet)
