"""Read DocRED JSON (a top-level list) or JSON Lines one document at a time, so corpus size never sets memory.

A JSON array is decoded incrementally with `json.JSONDecoder.raw_decode` over buffered chunks (stdlib only);
a bad document is reported with file, document index and field and skipped, as `parse_documents` does.
"""
from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from engine.data import json_input
from engine.data.documents import Document, document_from_json, loads_documents
from engine.data.schema import RelationSchema, default_schema
from engine.errors import DocumentError, InputFileError

logger = logging.getLogger(__name__)
CHUNK = 1 << 16
_WS = " \t\r\n"


def iter_json_objects(path: str | Path) -> Iterator[tuple[int, Any]]:
    """(index, parsed object) for each document of a .jsonl file or a JSON array, reading in chunks."""
    p = Path(path)
    try:
        fh = p.open("r", encoding="utf-8")
    except OSError as exc:
        raise InputFileError(f"cannot read {p}: {exc}") from exc
    with fh:
        if p.suffix.lower() == ".jsonl":
            yield from _iter_lines(fh, p)
        else:
            yield from _iter_array(fh, p)


def iter_json_bytes(data: bytes, name: str) -> Iterator[tuple[int, Any]]:
    """(index, parsed object) for each document of a JSON array held as bytes (an upload), decoded chunk by
    chunk, so memory holds the bytes and one document, not the whole file as Python objects (about 50x its
    size). Bytes that are not UTF-8 give loads_documents' message (line and column)."""
    fh = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig")
    try:
        yield from _iter_array(fh, name)
    except UnicodeDecodeError:
        loads_documents(data, file=name)  # raises InputFileError naming line, column and byte
        raise


def _iter_lines(fh: IO[str], p: Path) -> Iterator[tuple[int, Any]]:
    index = 0
    for lineno, line in enumerate(fh, 1):
        if not line.strip():
            continue
        try:
            yield index, json_input.loads(line, f"{p}: document {index} (line {lineno})")
        except json.JSONDecodeError as exc:
            raise InputFileError(f"{p}: document {index} (line {lineno}) is not valid JSON: {exc.msg}") from exc
        index += 1


def _iter_array(fh: IO[str], p: Path | str) -> Iterator[tuple[int, Any]]:
    buf, pos, eof = "", 0, False

    def fill() -> bool:
        nonlocal buf, pos, eof
        chunk = fh.read(CHUNK)
        buf, pos = buf[pos:] + chunk, 0
        eof = not chunk
        return bool(chunk)

    def skip_ws() -> None:
        nonlocal pos
        while True:
            while pos < len(buf) and buf[pos] in _WS:
                pos += 1
            if pos < len(buf) or not fill():
                return

    skip_ws()
    if pos >= len(buf) or buf[pos] != "[":
        raise InputFileError(f"{p}: expected a JSON list of documents ([ {{document}}, ... ]) or a .jsonl file")
    pos += 1
    index = 0
    while True:
        skip_ws()
        if pos >= len(buf):
            raise InputFileError(f"{p}: unexpected end of file after document {index - 1}")
        if buf[pos] == "]":
            return
        if index:
            if buf[pos] != ",":
                raise InputFileError(f"{p}: expected ',' or ']' after document {index - 1}")
            pos += 1
            skip_ws()
        while True:
            try:
                obj, end = json_input.raw_decode(buf, pos, f"{p}: document {index}")
                # a number or literal cut at the chunk edge would decode short; only objects are documents
                break
            except json.JSONDecodeError as exc:
                if eof or not fill():
                    raise InputFileError(f"{p}: document {index} is not valid JSON: {exc.msg}") from exc
        pos = end
        yield index, obj
        index += 1


def iter_documents(path: str | Path, schema: RelationSchema | None = None) -> Iterator[Document]:
    """Valid documents of a file in order; invalid ones logged (file, document index, field) and skipped."""
    schema = schema if schema is not None else default_schema()
    rejected = 0
    for index, obj in iter_json_objects(path):
        try:
            yield document_from_json(obj, file=str(path), doc_index=index, schema=schema)
        except DocumentError as err:
            rejected += 1
            logger.warning("skipped: %s", err.problem)
    if rejected:
        logger.warning("%s: %d invalid documents were skipped", path, rejected)
