"""New files get the mode open() would give them (0o666 less the umask, 0o644 usually): safetensors writes its
files 0o600, so a checkpoint's model.safetensors and config.json had different modes (issue 27)."""
from __future__ import annotations

import os
from pathlib import Path


def umask() -> int:
    """The process umask, read without changing it where Linux reports it (os.umask alone must set one)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def like_open(path: str | Path) -> None:
    """Give `path` the mode a file created by open() would have."""
    os.chmod(path, 0o666 & ~umask())
