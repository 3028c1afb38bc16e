"""Environment settings, read once here: DOCRE_DEVICE, DOCRE_PRECISION, DOCRE_DATA_DIR, DOCRE_DATABASE_URL,
DOCRE_MODELS_DIR, DOCRE_USER_MODELS_DIR, DOCRE_AUTH, DOCRE_MAX_ENTITIES, DOCRE_MAX_TOKENS, DOCRE_PAIR_MEMORY_MB,
DOCRE_ALLOW_DOWNLOAD, DOCRE_SECRET_KEY_FILE, DOCRE_SESSION_HOURS, DOCRE_TRUSTED_PROXIES, and the bounds on user text
and uploads: DOCRE_MAX_TITLE_CHARS, DOCRE_MAX_TOKEN_CHARS, DOCRE_MAX_TEXT_CHARS, DOCRE_MAX_NAME_CHARS,
DOCRE_MAX_NOTE_CHARS, DOCRE_MAX_UPLOAD_MB."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
# Limits on one document at inference. Memory grows with entities squared (every ordered pair is scored and
# its scores kept) and with tokens times mentions (attention rows); bench/memory.py measures peak memory by
# entity count, bench/RESULTS.md has the figures these defaults come from. Re-DocRED's dev set has at most 36
# entities and 631 word pieces per document (DocRED's largest: 42 entities), so real DocRED documents pass
# both limits by far more than ten times.
DEFAULT_MAX_ENTITIES = 1000
DEFAULT_MAX_TOKENS = 16384  # word pieces with entity markers
DEFAULT_PAIR_MEMORY_MB = 256  # what one chunk of pairs may hold at inference (DocREModel.infer)
TRUE_WORDS = ("on", "1", "true", "yes")
FALSE_WORDS = ("off", "0", "false", "no", "")
SECRET_KEY_FILE = "secret.key"  # under the data dir: outside the repository, generated on first start
DEFAULT_SESSION_HOURS = 12.0  # a sign-in lasts one working day
# Bounds on user text, checked at validation so no page ever has to draw a 10 MB title (it froze a browser tab).
# Re-DocRED's dev set has titles of at most 61 characters, tokens of 22 and mention names of 98: each bound is
# over ten times what real documents need.
DEFAULT_MAX_TITLE_CHARS = 1000  # a document's title
DEFAULT_MAX_TOKEN_CHARS = 1000  # one token of a sentence
DEFAULT_MAX_TEXT_CHARS = 10000  # any other string in a document: mention names, extra keys and their values
DEFAULT_MAX_NAME_CHARS = 100  # a dataset's or an annotator's name
DEFAULT_MAX_NOTE_CHARS = 2000  # a review note
# one uploaded DocRED JSON file (the app's and `python -m db import`'s); keep .streamlit/config.toml's maxUploadSize
# at least this
DEFAULT_MAX_UPLOAD_MB = 50


PRECISIONS = ("auto", "float32", "bfloat16", "int8")  # inference precisions (engine.serve.numeric_precision)
TRAIN_PRECISIONS = ("auto", "float32", "bfloat16")  # training autocast (int8 is inference only)


@dataclass(frozen=True)
class Settings:
    device: str | None
    data_dir: Path
    database_url: str | None
    models_dir: Path
    team_mode: bool = False  # DOCRE_AUTH=on: everyone logs in
    precision: str | None = None  # DOCRE_PRECISION: auto, float32, bfloat16 or int8 (inference)
    max_entities: int = DEFAULT_MAX_ENTITIES  # DOCRE_MAX_ENTITIES: a larger document is refused, by name
    max_tokens: int = DEFAULT_MAX_TOKENS  # DOCRE_MAX_TOKENS: likewise, in word pieces
    pair_memory_mb: int = DEFAULT_PAIR_MEMORY_MB  # DOCRE_PAIR_MEMORY_MB: the budget pair chunks are sized by
    allow_download: bool = False  # DOCRE_ALLOW_DOWNLOAD=1: encoders may come from the Hugging Face hub
    lean_encoder: bool = True  # DOCRE_LEAN_ENCODER=0: inference loads BERT encoders through transformers too
    secret_key_file: Path | None = None  # DOCRE_SECRET_KEY_FILE: signs session tokens (default data_dir/secret.key)
    session_hours: float = DEFAULT_SESSION_HOURS  # DOCRE_SESSION_HOURS: how long a team-mode sign-in lasts
    trusted_proxies: tuple[str, ...] = ()  # DOCRE_TRUSTED_PROXIES: addresses whose X-Forwarded-For is believed
    max_title_chars: int = DEFAULT_MAX_TITLE_CHARS  # DOCRE_MAX_TITLE_CHARS
    max_token_chars: int = DEFAULT_MAX_TOKEN_CHARS  # DOCRE_MAX_TOKEN_CHARS
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS  # DOCRE_MAX_TEXT_CHARS
    max_name_chars: int = DEFAULT_MAX_NAME_CHARS  # DOCRE_MAX_NAME_CHARS
    max_note_chars: int = DEFAULT_MAX_NOTE_CHARS  # DOCRE_MAX_NOTE_CHARS
    max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB  # DOCRE_MAX_UPLOAD_MB
    # DOCRE_USER_MODELS_DIR: where fine-tuned models go and are listed from beside the shipped ones (default
    # data_dir/models: the shipped assets/ are never written to)
    user_models_dir: Path | None = None

    @property
    def default_model(self) -> Path:
        """The shipped default model: the directory named in models_dir/DEFAULT (one line)."""
        marker = self.models_dir / "DEFAULT"
        name = marker.read_text(encoding="utf-8").strip() if marker.is_file() else "atlop"
        return self.models_dir / name


def _positive_int(name: str, default: int) -> int:
    """An integer environment variable, >= 1; anything else is a ConfigError naming the variable."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"{name} must be a whole number >= 1, got {raw!r}; unset it for the default {default}")
    return value


def _team_mode(raw: str) -> bool:
    """DOCRE_AUTH as a switch; any other value stops start-up, since guessing "off" would fail open."""
    value = raw.strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ConfigError(f"DOCRE_AUTH: expected one of {', '.join(TRUE_WORDS)} (team mode: everyone logs in) or "
                      f"{', '.join(w for w in FALSE_WORDS if w)} (local mode), got {raw!r}")


def _proxies(raw: str) -> tuple[str, ...]:
    """DOCRE_TRUSTED_PROXIES: addresses or networks (comma-separated) or `loopback`; a typo stops start-up rather
    than silently trusting nobody (or the wrong host)."""
    import ipaddress  # noqa: PLC0415

    entries = tuple(a.strip() for a in raw.split(",") if a.strip())
    for entry in entries:
        if entry != "loopback":
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ConfigError(f"DOCRE_TRUSTED_PROXIES: {entry!r} is not an address, a network (10.0.0.0/24) or "
                                  "`loopback`") from None
    return entries


def _positive_float(name: str, default: float) -> float:
    """A number environment variable, > 0; anything else is a ConfigError naming the variable."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"{name} must be a number > 0, got {raw!r}; unset it for the default {default:g}")
    return value


def get_settings() -> Settings:
    env = os.environ
    data_dir = Path(env.get("DOCRE_DATA_DIR", ROOT / "data"))
    return Settings(
        device=env.get("DOCRE_DEVICE") or None,
        data_dir=data_dir,
        database_url=env.get("DOCRE_DATABASE_URL") or None,
        models_dir=Path(env.get("DOCRE_MODELS_DIR", ROOT / "assets" / "models")),
        team_mode=_team_mode(env.get("DOCRE_AUTH", "")),
        precision=env.get("DOCRE_PRECISION") or None,
        max_entities=_positive_int("DOCRE_MAX_ENTITIES", DEFAULT_MAX_ENTITIES),
        max_tokens=_positive_int("DOCRE_MAX_TOKENS", DEFAULT_MAX_TOKENS),
        pair_memory_mb=_positive_int("DOCRE_PAIR_MEMORY_MB", DEFAULT_PAIR_MEMORY_MB),
        allow_download=env.get("DOCRE_ALLOW_DOWNLOAD", "").strip().lower() in TRUE_WORDS,
        lean_encoder=env.get("DOCRE_LEAN_ENCODER", "1").strip().lower() in TRUE_WORDS,
        secret_key_file=Path(env.get("DOCRE_SECRET_KEY_FILE") or data_dir / SECRET_KEY_FILE),
        session_hours=_positive_float("DOCRE_SESSION_HOURS", DEFAULT_SESSION_HOURS),
        trusted_proxies=_proxies(env.get("DOCRE_TRUSTED_PROXIES", "")),
        max_title_chars=_positive_int("DOCRE_MAX_TITLE_CHARS", DEFAULT_MAX_TITLE_CHARS),
        max_token_chars=_positive_int("DOCRE_MAX_TOKEN_CHARS", DEFAULT_MAX_TOKEN_CHARS),
        max_text_chars=_positive_int("DOCRE_MAX_TEXT_CHARS", DEFAULT_MAX_TEXT_CHARS),
        max_name_chars=_positive_int("DOCRE_MAX_NAME_CHARS", DEFAULT_MAX_NAME_CHARS),
        max_note_chars=_positive_int("DOCRE_MAX_NOTE_CHARS", DEFAULT_MAX_NOTE_CHARS),
        max_upload_mb=_positive_int("DOCRE_MAX_UPLOAD_MB", DEFAULT_MAX_UPLOAD_MB),
        user_models_dir=Path(env.get("DOCRE_USER_MODELS_DIR") or data_dir / "models"),
    )


def pick_device(requested: str | None = None) -> str:
    """An explicit request, then DOCRE_DEVICE, then CUDA when present, else CPU. A device this machine does not
    have is a ConfigError here, not a traceback from deep inside the first tensor moved there."""
    import torch  # noqa: PLC0415

    choice = requested or get_settings().device
    if not choice:
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(choice)
    except RuntimeError:
        raise ConfigError(f"unknown device {choice!r}; use cpu, cuda or cuda:N "
                          "(set by --device or DOCRE_DEVICE)") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if not count:
            raise ConfigError(f"device {choice!r} was asked for but this machine has no CUDA GPU (or torch is built "
                              "without CUDA); use --device cpu, or unset DOCRE_DEVICE")
        if device.index is not None and device.index >= count:
            raise ConfigError(f"device {choice!r} does not exist: this machine has {count} CUDA GPU(s), "
                              f"cuda:0..cuda:{count - 1}")
    return choice
