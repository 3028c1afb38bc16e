"""Helpers for the page tests: run the app under streamlit.testing's AppTest, and read what a page shows. The
fixtures (env, seeded, models_dir, ...) live in tests/app/conftest.py."""
from __future__ import annotations

import json
import re

from streamlit.testing.v1 import AppTest

from app import services
from tests.paths import ROOT

APP_DIR = ROOT / "app"
MAIN = str(APP_DIR / "main.py")
TIMEOUT = 120


def app(page: str | None = None, **session: object) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    for key, value in session.items():
        at.session_state[key] = value
    at.run()
    if page is not None:
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception, at.exception
    return at


def seed_ids() -> tuple[int, list[int]]:
    dataset = services.documents.datasets()[0]
    return dataset.id, [d.id for d in services.documents.documents(dataset.id)]


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "info", "success", "warning", "error", "subheader", "title")
             for e in getattr(at, kind)]  # main and sidebar
    return re.sub(r"\\(.)", r"\1", "\n".join(str(p) for p in parts))  # Markdown escapes removed


def figures(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
