"""The ledger: one small JSON per finished grid run, committed when the run ends, so that a session that
stops (or a machine that goes away) loses at most the run in flight.

A record splits in two: `result` is what the run computed (deterministic for one commit, data and CPU
family: an interrupted and resumed run writes the same), `provenance` is how and where it ran (commit,
CPU, wall time, peak memory), which differs from one session to the next."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
FORMAT = 1


def read_record(path: Path) -> dict[str, Any] | None:
    """The record at `path`, or None when there is none; a record of another format is refused by name."""
    if not path.is_file():
        return None
    record = json.loads(path.read_text(encoding="utf-8"))
    if record.get("format") != FORMAT:
        raise ValueError(f"{path}: ledger format {record.get('format')!r}, this script reads {FORMAT}; "
                         "move the record aside or convert it")
    return record


def read_ledger(directory: Path) -> list[dict[str, Any]]:
    """Every record of a ledger directory, in file-name order."""
    records = []
    for path in sorted(directory.glob("*.json")):
        record = read_record(path)
        if record is not None:
            records.append(record)
    return records


def write_record(path: Path, record: dict[str, Any]) -> None:
    """Written whole under a temporary name and renamed, so a kill never leaves half a record."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps({"format": FORMAT, **record}, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(partial, path)


def commit(paths: list[Path], message: str, root: Path, attempts: int = 30) -> bool:
    """Commit exactly `paths` (whatever else is staged stays staged), retrying while another git command
    holds the index lock; False (and a warning) when git refuses, so the grid goes on with the record on disk."""
    relative = [str(p.resolve().relative_to(root.resolve())) for p in paths]
    for attempt in range(attempts):
        added = subprocess.run(["git", "-C", str(root), "add", "--", *relative], capture_output=True, text=True)
        done = added if added.returncode else subprocess.run(
            ["git", "-C", str(root), "commit", "-q", "-m", message, "--only", "--", *relative],
            capture_output=True, text=True)
        if done.returncode == 0:
            return True
        if "index.lock" not in done.stderr or attempt == attempts - 1:
            log.warning("could not commit %s: %s", ", ".join(relative), done.stderr.strip())
            return False
        time.sleep(2)
    return False
