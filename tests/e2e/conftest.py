"""The browser tests' shared fixtures: the app served on a free port over an empty database and the tiny models,
and one Chromium page on it per module."""
from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.browser_support import CHROMIUM, WAIT_MS, launch_chromium
from tests.server_support import free_port, running_server


@pytest.fixture(scope="module")
def server(tiny_models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    pytest.importorskip("playwright")
    tmp = tmp_path_factory.mktemp("e2e")
    models = tiny_models_dir
    port = free_port()
    env = {**os.environ, "DOCRE_DATABASE_URL": f"sqlite:///{tmp / 'app.sqlite'}", "DOCRE_DATA_DIR": str(tmp),
           "DOCRE_MODELS_DIR": str(models), "HF_HUB_OFFLINE": "1"}
    env.pop("DOCRE_AUTH", None)
    argv = [sys.executable, "-m", "streamlit", "run", "app/server.py", "--server.port", str(port), "--server.headless",
            "true"]
    with running_server(argv, env, tmp / "server.log", port) as url:
        yield {"url": url, "tmp": tmp, "db": tmp / "app.sqlite"}


@pytest.fixture(scope="module")
def browser_page(server: dict) -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1500, "height": 1600}, accept_downloads=True)
        page.set_default_timeout(WAIT_MS)
        yield page
        browser.close()
