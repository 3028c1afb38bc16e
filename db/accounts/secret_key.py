"""The server's secret key: 32 random bytes in a file outside the repository (default DOCRE_DATA_DIR/secret.key,
mode 0600), made on first start. It signs session tokens (db.accounts.session_tokens) and keys the hashes that
stand in for browser session ids in the login audit, so neither can be forged or reversed without the file.

Several processes (the app, workers) may start at once: the file is written under a temporary name and linked
into place, which fails for all but the first, and everyone then reads the one key."""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from engine.errors import ConfigError

KEY_BYTES = 32


def load_secret_key(path: Path) -> bytes:
    """The key in `path`, created (atomically, readable by the owner only) when the file does not exist yet."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(secrets.token_hex(KEY_BYTES) + "\n")
            try:
                os.link(tmp, path)  # fails if another process got there first: its key wins
            except FileExistsError:
                pass
        finally:
            tmp.unlink(missing_ok=True)
    try:
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError) as err:
        raise ConfigError(f"{path}: the secret key file cannot be read as hex ({err}); delete it to make a new one "
                          "(everyone is signed out) or set DOCRE_SECRET_KEY_FILE") from None
    if len(key) < 16:
        raise ConfigError(f"{path}: the secret key is {len(key)} bytes, expected at least 16; delete the file to "
                          "make a new one")
    return key


def keyed_hash(key: bytes, purpose: str, value: str, length: int = 16) -> str:
    """A short HMAC-SHA256 of `value` (hex): the same value gives the same tag, so audit rows still correlate,
    but the value cannot be recovered or guessed from it without the key."""
    return hmac.new(key, f"{purpose}\0{value}".encode(), hashlib.sha256).hexdigest()[:length]
