"""`make test` stops the PostgreSQL server it starts (issue 27: one was left running after every run): the
Makefile stops it whatever pytest returns, and stop_postgres.sh really stops a server start_postgres.sh made."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import make_url

from tests.paths import ROOT


def test_make_test_stops_the_server_it_starts() -> None:
    recipe = (ROOT / "Makefile").read_text(encoding="utf-8").split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert 'DOCRE_PG_STATE="$$state" bash scripts/start_postgres.sh' in recipe
    assert recipe.index("pytest -q; rc=$$?") < recipe.index('bash scripts/stop_postgres.sh "$$state"')
    assert recipe.rstrip().endswith("exit $$rc")


@pytest.mark.skipif(not shutil.which("su") or not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")),
                    reason="PostgreSQL is not installed")
def test_stop_postgres_stops_the_server_and_removes_its_data(tmp_path: Path) -> None:
    state = tmp_path / "pg.state"
    env = {**os.environ, "DOCRE_PG_STATE": str(state)}
    url = make_url(subprocess.run(["bash", "scripts/start_postgres.sh"], cwd=ROOT, env=env, capture_output=True,
                                  text=True, check=True, timeout=120).stdout.strip())
    data_dir = Path(state.read_text().strip())
    with socket.create_connection((url.host, url.port), timeout=5):
        pass  # it runs
    subprocess.run(["bash", "scripts/stop_postgres.sh", str(state)], cwd=ROOT, check=True, timeout=120,
                   capture_output=True)
    with pytest.raises(OSError):
        socket.create_connection((url.host, url.port), timeout=5).close()
    assert not data_dir.exists()
