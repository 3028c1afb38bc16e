"""Helpers for the app tests: a tiny random checkpoint in a models directory, small real documents as a
DocRED JSON upload, and a hostile document whose text tries to inject markup."""
from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from engine.data.documents import Document, Entity, Fact, Mention, document_to_json

EVIL_SCRIPT = "<script>window.__pwned=1</script>"
EVIL_IMG = "<img src=x onerror=window.__pwned=2>"


def build_models_dir(encoder_dir: Path, root: Path, names: tuple[str, ...] = ("tiny",),
                     methods: Mapping[str, str] | None = None) -> Path:
    """root/<name>/ checkpoints of a randomly initialised model over the tiny encoder (one per name, ATLOP
    unless `methods` names another method for it, different seeds so two models disagree); root/DEFAULT
    names the first."""
    import torch

    from engine.config import EncoderConfig
    from engine.data.schema import default_schema
    from engine.model.checkpoint import build_model, save_checkpoint
    from engine.model.methods import get_method

    schema = default_schema()
    for seed, name in enumerate(names):
        method = (methods or {}).get(name, "atlop")
        spec = get_method(method)
        config = spec.config_class.from_json({**spec.config_class().to_json(), "emb_size": 32, "block_size": 8})
        torch.manual_seed(seed)
        loaded = build_model(method, config, EncoderConfig(name=str(encoder_dir), max_window=128, window_overlap=32,
                                                           freeze_word_embeddings=False), schema)
        _steer(loaded.model, schema, seed)
        save_checkpoint(loaded, root / name, metrics={"dev": {"f1": 0.1 * (seed + 1)}}, save_dtype="float16")
    (root / "DEFAULT").write_text(names[0], encoding="utf-8")
    return root


def _steer(model, schema, seed: int) -> None:
    """Bias the random classifier so a few relations sit near the threshold and the rest far below: the
    review queue stays short (fast tests) and two seeds still disagree on some pairs."""
    import torch

    layer = next(m for m in model.modules() if isinstance(m, torch.nn.Linear) and m.out_features == schema.num_classes)
    with torch.no_grad():
        layer.weight.mul_(0.3)
        layer.bias.fill_(-3.0)
        layer.bias[0] = 0.0
        layer.bias[schema.index("P17")] = 0.4 if seed == 0 else -0.2
        layer.bias[schema.index("P131")] = -0.3 if seed == 0 else 0.3


def small_labelled(docs: list[Document], n: int = 2, max_entities: int = 8) -> list[Document]:
    """The first n labelled documents with few entities: quick to score and to draw."""
    return [d for d in docs if d.facts and 4 <= d.num_entities <= max_entities][:n]


def hostile_document() -> Document:
    """Entity names and tokens that are HTML/Markdown: must show as text, never run."""
    sents = (("Alice", "*", "met", EVIL_SCRIPT, "in", "Paris", "."),
             (EVIL_IMG, "works", "for", "[ACME](javascript:alert(1))", ":red[Corp]", "."))
    entities = (
        Entity((Mention("Alice", 0, 0, 1, "PER"),)),
        Entity((Mention(EVIL_SCRIPT, 0, 3, 4, "PER"),)),
        Entity((Mention("Paris", 0, 5, 6, "LOC"),)),
        Entity((Mention(EVIL_IMG, 1, 0, 1, "PER"),)),
        Entity((Mention("[ACME](javascript:alert(1))", 1, 3, 4, "ORG"), Mention(":red[Corp]", 1, 4, 5, "ORG"))),
    )
    return Document("<b>Hostile</b> *doc*", sents, entities, (Fact(0, 2, "P551", (0,)),))


def docred_bytes(docs: list[Document], *, extra_invalid: bool = False) -> bytes:
    """A DocRED JSON upload; with extra_invalid, one broken document is appended (a head out of range)."""
    payload = [document_to_json(d) for d in docs]
    if extra_invalid:
        bad = document_to_json(docs[0]) | {"title": "broken one"}
        bad["labels"] = [{"h": 999, "t": 0, "r": "P17", "evidence": []}]
        payload.append(bad)
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


class FakeBrowser:
    """Stands in for the browser under AppTest (which has none): the page's cookie exchange is run as the
    route runs it (app.session_cookie.redeem), and later script runs send the cookie it set. `install` puts it
    in place of app.services.auth.send_to_browser and browser_token."""

    def __init__(self) -> None:
        self.cookie: str | None = None
        self.scripts: list[str] = []

    def send(self, html: str) -> None:
        from app import session_cookie

        self.scripts.append(html)
        code = re.search(r"grant=([\w-]+)", html)
        if code is not None:
            found = session_cookie.redeem(code.group(1))
            self.cookie = None if found is None else found.token
        elif "DELETE" in html:
            self.cookie = None

    def sign_in(self, name: str) -> None:
        """Hold a cookie for `name`'s account as a login would have set it (for tests about what comes after)."""
        from app import services
        from db import accounts, store

        with services.resources.session() as s:
            account = store.get_annotator(s, name)
        self.cookie = accounts.issue_token(services.auth.secret_key(), account, services.auth.clock(),
                                           services.auth.lifetime())

    def install(self, monkeypatch) -> FakeBrowser:
        from app import services

        monkeypatch.setattr(services.auth, "send_to_browser", self.send)
        monkeypatch.setattr(services.auth, "browser_token", lambda: self.cookie)
        return self


def team_store(tmp_path: Path, monkeypatch: Any,
               accounts_and_roles: Sequence[tuple[str, str, str]]) -> "FakeBrowser":
    """Team mode (sign-in on) on a fresh SQLite store under tmp_path holding these (name, role, password)
    accounts, and a fake browser installed for the app's session cookie."""
    from app import services  # noqa: PLC0415 - Streamlit only for the page tests
    from db import accounts  # noqa: PLC0415

    monkeypatch.setenv("DOCRE_DATABASE_URL", f"sqlite:///{tmp_path / 'team.sqlite'}")
    monkeypatch.setenv("DOCRE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DOCRE_AUTH", "on")
    with services.resources.session() as s:
        for name, role, password in accounts_and_roles:
            accounts.create_user(s, name, role, password)
    return FakeBrowser().install(monkeypatch)
