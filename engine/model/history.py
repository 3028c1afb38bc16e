"""Files that left the tree but stay in its git history (weights over the project's size rules: the default's
twin, the grid's half-label warm start), written back where a caller needs them."""
from __future__ import annotations

import logging
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def restore_files(repository: Path, source: Mapping[str, Any], into: Path) -> bool:
    """Write source["files"], as they were under source["path"] at source["commit"], into `into` (git show, run
    in `repository`). False, with `into` left empty and the reason in the log, when this clone lacks that commit
    (a shallow one) or the files."""
    into.mkdir(parents=True, exist_ok=True)
    for name in source["files"]:
        blob = subprocess.run(["git", "-C", str(repository), "show", f"{source['commit']}:{source['path']}/{name}"],
                              capture_output=True)
        if blob.returncode != 0:
            log.warning("%s/%s is not in this clone's history at %s: %s", source["path"], name, source["commit"],
                        blob.stderr.decode(errors="replace").strip())
            for written in into.iterdir():
                written.unlink()
            return False
        (into / name).write_bytes(blob.stdout)
    return True
