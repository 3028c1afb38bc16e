"""An append-only JSON Lines file, one line per document with its title, that a rerun can resume.

Why one write per window and a flush after it: a process killed with -9 leaves whole windows and at most
one torn line (the last, without its newline); `read_titles` drops that line and `LineLog.keep` cuts the
file back to the lines that are kept, so the rerun appends after them."""
from __future__ import annotations

import json
import os
from pathlib import Path

from engine.errors import InputFileError


def read_titles(path: Path) -> tuple[list[str], list[int]]:
    """Titles of the complete lines of `path` and the byte offset after each ([] when the file is absent).
    A last line without its newline is torn (a crash mid-write) and left out; any other bad line is an error."""
    titles: list[str] = []
    ends: list[int] = []
    if not path.is_file():
        return titles, ends
    offset = 0
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            if not raw.endswith(b"\n"):
                break  # torn: truncated by LineLog.keep
            offset += len(raw)
            try:
                titles.append(json.loads(raw)["title"])
            except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:
                raise InputFileError(f"{path}: line {lineno} is not a line this command wrote ({exc}); "
                                     "remove the file or drop --resume") from None
            ends.append(offset)
    return titles, ends


class LineLog:
    """Appends lines to `path`, keeping the first `keep` complete lines already there (0: start afresh)."""

    def __init__(self, path: Path, keep: int = 0, ends: list[int] | None = None) -> None:
        self.path = path
        size = ends[keep - 1] if keep else 0
        self._fh = path.open("r+b" if keep else "wb")
        self._fh.truncate(size)
        self._fh.seek(size)

    def append(self, lines: list[str]) -> None:
        """One write for the whole window, flushed to the OS so a killed process loses nothing written."""
        if lines:
            self._fh.write("".join(line + "\n" for line in lines).encode("utf-8"))
            self._fh.flush()

    def close(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()


__all__ = ["LineLog", "read_titles"]
