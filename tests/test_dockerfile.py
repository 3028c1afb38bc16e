"""What of the Dockerfile can be tested without a Docker engine: everything it copies exists, it installs the
pinned requirements, it runs as a non-root user in team mode unless told otherwise, every documented `docker run`
publishes on the host's loopback only, and its entry command, run as written (with this venv's Python and the
image's environment), serves the app on the shipped models."""
from __future__ import annotations

import json
import os
import re
import shlex
import sys
import urllib.request

from tests.server_support import ROOT, free_port, running_server

DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _logical_lines() -> list[str]:
    """Instruction lines with their backslash continuations joined; comments dropped."""
    out: list[str] = []
    pending = ""
    for line in DOCKERFILE.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip()[:-1] + " " if line.rstrip().endswith("\\") else line
        if not line.rstrip().endswith("\\"):
            out.append(pending.strip())
            pending = ""
    return out


def _instructions(name: str) -> list[str]:
    return [line.split(None, 1)[1] for line in _logical_lines() if line.split(None, 1)[0] == name]


def _image_env() -> dict[str, str]:
    """Every ENV of the image (KEY=value pairs, later ones win)."""
    env: dict[str, str] = {}
    for instruction in _instructions("ENV"):
        for pair in shlex.split(instruction):
            key, _, value = pair.partition("=")
            env[key] = value
    return env


def base_image_problems(base: str) -> list[str]:
    """Why a FROM argument is not a CUDA Ubuntu image pinned by digest; empty when it is."""
    image, _, digest = base.partition("@")
    problems = [] if image.startswith("nvidia/cuda:") and "ubuntu" in image else [f"{image}: not nvidia/cuda on ubuntu"]
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        problems.append(f"{image}: not pinned by digest (FROM image:tag@sha256:<64 hex>)")
    return problems


def test_base_image_is_a_cuda_runtime_pinned_by_digest_and_requirements_install_by_hash():
    (base,) = _instructions("FROM")
    assert base_image_problems(base) == []
    assert base_image_problems("nvidia/cuda:13.0.0-base-ubuntu24.04") == [
        "nvidia/cuda:13.0.0-base-ubuntu24.04: not pinned by digest (FROM image:tag@sha256:<64 hex>)"]
    assert base_image_problems("python:3.12@sha256:" + "0" * 64) == ["python:3.12: not nvidia/cuda on ubuntu"]
    assert any("pip install --require-hashes -r requirements.lock" in run for run in _instructions("RUN"))
    assert "torch==2.13.0" in (ROOT / "requirements.txt").read_text(encoding="utf-8")


def test_everything_copied_exists_and_the_app_needs_nothing_else():
    sources = [copy.split()[0] for copy in _instructions("COPY")]
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
    for needed in ("engine", "db", "app", "assets", "requirements.lock"):
        assert needed in sources, f"the image lacks {needed}"
    assert (ROOT / "assets" / "models" / "DEFAULT").is_file()


def test_the_app_runs_as_a_non_root_user_that_owns_the_data_dir():
    lines = _logical_lines()
    users = [i for i, line in enumerate(lines) if line.startswith("USER ")]
    assert users, "no USER: the app would run as root"
    user = lines[users[-1]].split()[1].split(":")[0]
    assert user not in ("root", "0")
    cmd = next(i for i, line in enumerate(lines) if line.startswith("CMD "))
    assert users[-1] < cmd and not any(line.startswith("USER ") for line in lines[users[-1] + 1:])
    created = [run for run in _instructions("RUN") if "useradd" in run]
    assert created and re.search(rf"\b{user}\b", created[0]) and f"chown {user}:{user} /app/data" in created[0]


def test_team_mode_is_on_in_the_image_unless_turned_off(monkeypatch):
    from engine.settings import get_settings

    env = _image_env()
    assert env.get("DOCRE_AUTH") == "on"
    for value, on in ((env["DOCRE_AUTH"], True), ("off", False)):  # the image's value, then `-e DOCRE_AUTH=off`
        monkeypatch.setenv("DOCRE_AUTH", value)
        assert get_settings().team_mode is on


def test_documented_docker_run_publishes_on_loopback_only():
    commands = [line for line in (DOCKERFILE + "\n" + README).splitlines() if "docker run" in line]
    published = [p for line in commands for p in re.findall(r"(?:-p|--publish)[ =](\S+)", line)]
    assert published, "no documented docker run publishes the port"
    assert all(p.startswith("127.0.0.1:") for p in published), published
    assert not re.search(r"-p\s+8501", DOCKERFILE + README)


def test_entry_command_serves_the_app(tmp_path):
    argv = json.loads(_instructions("CMD")[0])
    assert argv[:2] == ["python", "-m"]
    port = free_port()
    argv = [sys.executable] + [f"--server.port={port}" if a.startswith("--server.port") else a for a in argv[1:]]
    argv = [a.replace("--server.address=0.0.0.0", "--server.address=127.0.0.1") for a in argv]  # no open port in tests
    image = {k: v for k, v in _image_env().items() if k.startswith("DOCRE_") and k != "DOCRE_DATA_DIR"}
    env = {**os.environ, **image, "DOCRE_DATA_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    env.pop("DOCRE_DATABASE_URL", None)
    env.pop("DOCRE_MODELS_DIR", None)
    with running_server(argv, env, tmp_path / "server.log", port) as url:
        page = urllib.request.urlopen(url, timeout=10).read().decode("utf-8", "replace")
        assert "<noscript>" in page.lower() or "streamlit" in page.lower()
