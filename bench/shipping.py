"""What the ship scripts (ship_model.py, ship_retrained.py) share: a staging directory beside the models, so a
half-written model never sits where the app reads them, and the swap of a finished one into place."""
from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from common import machine


@contextmanager
def staging(models: Path) -> Iterator[Path]:
    """A temporary directory on the models' file system (the final move is a rename), removed afterwards."""
    directory = Path(tempfile.mkdtemp(prefix="ship-", dir=models.parent))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def put_in_place(staged: Path, target: Path) -> None:
    """Replace `target` (if any) by the finished `staged` checkpoint directory."""
    if target.exists():
        shutil.rmtree(target)
    shutil.move(str(staged), target)


def shipped_on() -> str:
    """The machine line without its host name, for a shipped model's lineage."""
    return re.sub(r"^[^:]*: ", "", machine())
