"""Every page keeps its own URL (issue 27: "/upload" in local mode and "/login" in team mode opened with a "Page
not found" dialog, because Streamlit gives the default page the URL path "" and those were default pages)."""
from __future__ import annotations

import pytest
import streamlit
from streamlit.testing.v1 import AppTest

from tests.paths import ROOT


def _url_paths(monkeypatch: pytest.MonkeyPatch, team: bool) -> list[str]:
    seen: list[str] = []
    real = streamlit.navigation

    def spy(pages, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        seen.extend(p.url_path for p in pages)
        return real(pages, *args, **kwargs)

    monkeypatch.setattr(streamlit, "navigation", spy)
    if team:
        monkeypatch.setenv("DOCRE_AUTH", "on")
    else:
        monkeypatch.delenv("DOCRE_AUTH", raising=False)
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=120).run()
    assert not at.exception, at.exception
    return seen


@pytest.mark.parametrize(("team", "path"), [(False, "upload"), (True, "login"), (True, "upload")])
def test_each_page_has_a_url_of_its_own(tmp_path, monkeypatch, team, path) -> None:
    monkeypatch.setenv("DOCRE_DATABASE_URL", f"sqlite:///{tmp_path / 'nav.sqlite'}")
    monkeypatch.setenv("DOCRE_DATA_DIR", str(tmp_path))
    paths = _url_paths(monkeypatch, team)
    assert path in paths and paths.count("") == 1, paths
