"""What of the Dockerfile can be tested without a Docker engine: everything it copies exists, it installs
the pinned requirements, and its entry command, run as written (with this venv's Python), serves the app
on the shipped models."""
from __future__ import annotations

import json
import os
import re
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.server_support import ROOT, free_port, running_server

DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def _instructions(name: str) -> list[str]:
    return [m.group(1).strip() for m in re.finditer(rf"^{name}\s+(.+)$", DOCKERFILE, flags=re.M)]


def test_base_image_is_a_cuda_runtime_and_requirements_are_the_pinned_ones():
    (base,) = _instructions("FROM")
    assert base.startswith("nvidia/cuda:") and "ubuntu" in base
    assert any("pip install -r requirements.txt" in run for run in _instructions("RUN"))
    assert "torch==2.13.0" in (ROOT / "requirements.txt").read_text(encoding="utf-8")


def test_everything_copied_exists_and_the_app_needs_nothing_else():
    sources = [copy.split()[0] for copy in _instructions("COPY")]
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
    for needed in ("engine", "db", "app", "assets", "requirements.txt"):
        assert needed in sources, f"the image lacks {needed}"
    assert (ROOT / "assets" / "models" / "DEFAULT").is_file()


def test_entry_command_serves_the_app(tmp_path):
    argv = json.loads(_instructions("CMD")[0])
    assert argv[:2] == ["python", "-m"]
    port = free_port()
    argv = [sys.executable] + [f"--server.port={port}" if a.startswith("--server.port") else a for a in argv[1:]]
    argv = [a.replace("--server.address=0.0.0.0", "--server.address=127.0.0.1") for a in argv]  # no open port in tests
    env = {**os.environ, "DOCRE_DATA_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    env.pop("DOCRE_DATABASE_URL", None)
    env.pop("DOCRE_MODELS_DIR", None)
    with running_server(argv, env, tmp_path / "server.log", port) as url:
        page = urllib.request.urlopen(url, timeout=10).read().decode("utf-8", "replace")
        assert "<noscript>" in page.lower() or "streamlit" in page.lower()
