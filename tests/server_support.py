"""Start a Streamlit server in a subprocess and wait until it answers its health check."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.paths import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(argv: Sequence[str], env: dict[str, str], log_path: Path, port: int,
                   timeout_s: float = 120) -> Iterator[str]:
    """Yield the server's base URL once /_stcore/health says ok; fail with the log's tail if it never does."""
    url = f"http://127.0.0.1:{port}"
    with log_path.open("w") as log:
        proc = subprocess.Popen(list(argv), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                        break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        pytest.fail(f"streamlit did not start: {log_path.read_text()[-2000:]}")
                    time.sleep(0.5)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextmanager
def app_server(database_url: str, data_dir: Path, *, team_mode: bool,
               extra_env: Mapping[str, str] | None = None, timeout_s: float = 120) -> Iterator[str]:
    """The app (`streamlit run app/server.py`) on a free port over this store, offline, with team mode on or off
    as asked (never inherited from the caller's shell); yields its base URL, its log in data_dir/server.log."""
    env = {**os.environ, "DOCRE_DATABASE_URL": database_url, "DOCRE_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1",
           **(extra_env or {})}
    env.pop("DOCRE_AUTH", None)
    if team_mode:
        env["DOCRE_AUTH"] = "on"
    port = free_port()
    argv = [sys.executable, "-m", "streamlit", "run", "app/server.py", "--server.port", str(port),
            "--server.headless", "true"]
    with running_server(argv, env, Path(data_dir) / "server.log", port, timeout_s) as url:
        yield url
