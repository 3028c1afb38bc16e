"""Long-lived, thread-safe resources: the session factory per database and one predictor per checkpoint
(`st.cache_resource`), and the shipped models found under the models directory."""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from db.store import health
from db.store.session import database_url, init_db, make_engine, session_factory, session_scope
from engine.data.schema import default_schema
from engine.errors import CheckpointError, DocreError
from engine.settings import Settings, get_settings

log = logging.getLogger(__name__)


def settings() -> Settings:
    return get_settings()


def db_key() -> str:
    """A short key naming the database in use, so cached query results never cross databases."""
    url = database_url().render_as_string(hide_password=False)
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


@st.cache_resource(show_spinner=False)
def _factory(key: str) -> sessionmaker[Session]:
    """The engine (migrated to the newest schema) and its session factory, once per database."""
    _ = key  # the cache key; the URL itself is read from the settings again
    engine = make_engine()
    init_db(engine)
    return session_factory(engine)


def factory() -> sessionmaker[Session]:
    return _factory(db_key())


def database_problem() -> str | None:
    """One line naming the database and what to do when it cannot be read (the page's status line), else None."""
    try:
        with session() as s:
            health.ping(s)
    except DBAPIError as err:
        return health.describe(err)
    return None


def describe_database_error(err: DBAPIError) -> str:
    """A driver error met while a page ran, as one line naming the database and what to do."""
    return health.describe(err)


@contextmanager
def session() -> Iterator[Session]:
    """One unit of work on the configured database (commit on success, roll back on error)."""
    with session_scope(factory()) as s:
        yield s


@dataclass(frozen=True)
class ModelChoice:
    """A checkpoint the user can score with: a directory under the models directory."""

    name: str
    path: str
    method: str
    f1: float | None
    relation_names: tuple[tuple[str, str], ...]
    lineage: dict | None = field(default=None, hash=False)  # config.json's lineage (a fine-tune's base, dataset)

    @property
    def label(self) -> str:
        if self.twin_note:  # its own dev figure would be in-sample: the twin's held-out F1, said as such
            return f"{self.name} ({self.method}{self.twin_note})"
        f1 = f", dev F1 {100 * self.f1:.1f}" if self.f1 is not None else ""
        return f"{self.name} ({self.method}{f1}{self.lineage_note})"

    @property
    def twin_note(self) -> str:
        """", held-out F1 X from its 400-document twin, trained on all 500 documents" for a model retrained on
        every document (engine.model.twin), else empty."""
        lineage = self.lineage or {}
        if not lineage.get("twin"):
            return ""
        f1 = f"held-out F1 {100 * self.f1:.1f} from its " if self.f1 is not None else "figures from its "
        return (f", {f1}{lineage.get('twin_training_documents', '?')}-document twin, trained on all "
                f"{lineage.get('training_documents', '?')} documents")

    @property
    def lineage_note(self) -> str:
        """", fine-tuned from BASE on DATASET (N decisions)" for a fine-tuned model, else empty."""
        lineage = self.lineage or {}
        if "base_model" not in lineage or "dataset" not in lineage:
            return ""
        return (f", fine-tuned from {lineage['base_model']} on {lineage['dataset']} "
                f"({lineage.get('decisions', '?')} decisions)")


@dataclass(frozen=True)
class ModelScan:
    """The usable checkpoints under the models directory, and one line per directory that was skipped."""

    models: tuple[ModelChoice, ...]
    skipped: tuple[str, ...]


@st.cache_data(show_spinner=False, ttl=30)
def _scan_models(models_dir: str) -> ModelScan:
    """The catalog's scan (engine.serve.model_catalog, shared with the CLI), as the app's choices; cached
    briefly, since it reads every config.json and weights header."""
    from engine.serve.model_catalog import scan_checkpoints  # noqa: PLC0415 - imports torch; only when needed

    scan = scan_checkpoints(Path(models_dir))
    return ModelScan(tuple(ModelChoice(i.name, str(i.path), i.method, i.dev_f1, i.relation_names, i.lineage)
                           for i in scan.found), scan.skipped)


def user_models_dir() -> Path:
    """Where fine-tuned models are written (DOCRE_USER_MODELS_DIR, default under the data directory)."""
    config = settings()
    return config.user_models_dir or config.data_dir / "models"


def _scans() -> list[ModelScan]:
    """The shipped models' directory, then the user models' (once, if they are one directory)."""
    dirs = [settings().models_dir, user_models_dir()]
    unique = [d for k, d in enumerate(dirs) if d.resolve() not in {e.resolve() for e in dirs[:k]}]
    return [_scan_models(str(d)) for d in unique]


def available_models() -> list[ModelChoice]:
    """Every usable checkpoint directory (one holding config.json) under DOCRE_MODELS_DIR, by name, then the
    fine-tuned ones under the user models directory."""
    return [m for scan in _scans() for m in scan.models]


def skipped_models() -> list[str]:
    """One line (directory: why) per checkpoint directory the scan skipped; pages listing models warn with it."""
    return [line for scan in _scans() for line in scan.skipped]


def forget_models() -> None:
    """A new model was written: the next page lists it (the scan is cached for a few seconds otherwise)."""
    _scan_models.clear()


def default_model_path() -> str | None:
    """The shipped default model when it is among the available ones."""
    default = settings().default_model.resolve()
    return next((m.path for m in available_models() if Path(m.path) == default), None)


class ModelError(DocreError):
    """A checkpoint could not be loaded (the message says why)."""


@st.cache_resource(show_spinner=False, max_entries=4)
def _predictor(path: str):  # -> engine.serve.predictor.Predictor (torch is imported only when a model is used)
    from engine.serve.predictor import Predictor  # noqa: PLC0415

    return Predictor.from_checkpoint(path)


def predictor(path: str):
    """A loaded model, once per checkpoint directory and process; a broken checkpoint is a ModelError."""
    try:
        return _predictor(path)
    except (CheckpointError, OSError) as err:
        raise ModelError(str(err)) from None


@st.cache_data(show_spinner=False)
def relation_names() -> dict[str, str]:
    """Relation id -> English name: DocRED's, plus any a shipped model's schema adds."""
    names = dict(default_schema().names)
    for model in available_models():
        for rid, name in model.relation_names:
            names.setdefault(rid, name)
    return names
