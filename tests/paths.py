"""Where the tests find the project and the shared data, and what happens when the data is missing."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def require_shared_data() -> Path:
    """../shared/data, or a skip on a laptop without it; under CI (CI=true) a failure, so a missing data
    directory can never turn the suite silently green."""
    if (SHARED_DATA / "redocred" / "dev_revised.json").is_file():
        return SHARED_DATA
    message = f"{SHARED_DATA} is missing: the tests that need the shared data cannot run"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(message + " (CI=true, so this is an error, not a skip)", pytrace=False)
    pytest.skip(message)
