"""Environment settings, read once here: DOCRE_DEVICE, DOCRE_PRECISION, DOCRE_DATA_DIR, DOCRE_DATABASE_URL,
DOCRE_MODELS_DIR, DOCRE_AUTH."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


PRECISIONS = ("auto", "float32", "bfloat16", "int8")  # inference precisions (engine.serve.numeric_precision)


@dataclass(frozen=True)
class Settings:
    device: str | None
    data_dir: Path
    database_url: str | None
    models_dir: Path
    team_mode: bool = False  # DOCRE_AUTH=on: everyone logs in
    precision: str | None = None  # DOCRE_PRECISION: auto, float32, bfloat16 or int8 (inference)

    @property
    def default_model(self) -> Path:
        """The shipped default model: the directory named in models_dir/DEFAULT (one line)."""
        marker = self.models_dir / "DEFAULT"
        name = marker.read_text(encoding="utf-8").strip() if marker.is_file() else "atlop"
        return self.models_dir / name


def get_settings() -> Settings:
    env = os.environ
    return Settings(
        device=env.get("DOCRE_DEVICE") or None,
        data_dir=Path(env.get("DOCRE_DATA_DIR", ROOT / "data")),
        database_url=env.get("DOCRE_DATABASE_URL") or None,
        models_dir=Path(env.get("DOCRE_MODELS_DIR", ROOT / "assets" / "models")),
        team_mode=env.get("DOCRE_AUTH", "").strip().lower() in ("on", "1", "true", "yes"),
        precision=env.get("DOCRE_PRECISION") or None,
    )


def pick_device(requested: str | None = None) -> str:
    """An explicit request, then DOCRE_DEVICE, then CUDA when present, else CPU."""
    import torch  # noqa: PLC0415

    choice = requested or get_settings().device
    if choice:
        return choice
    return "cuda" if torch.cuda.is_available() else "cpu"
