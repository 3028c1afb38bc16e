"""requirements.lock, which the Docker image installs with `pip install --require-hashes`, follows
requirements.txt: every requirement is locked at the same pin, and every locked package lists a hash."""
from __future__ import annotations

import re

from tests.paths import ROOT

# `name[extras]==version`, then an optional environment marker
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def _name(name: str) -> str:
    """PEP 503 normalised name: case, '_' and '.' do not tell packages apart."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(text: str) -> dict[str, str]:
    """name -> pinned version of every requirement line (comments and blank lines skipped)."""
    out = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            match = PIN.match(line)
            assert match, f"requirements.txt: {line!r} is not pinned with =="
            out[_name(match.group(1))] = match.group(2)
    return out


def locked(text: str) -> dict[str, tuple[str, int]]:
    """name -> (version, number of --hash options) of every entry of a pip-compile / uv lock."""
    out: dict[str, tuple[str, int]] = {}
    current = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = PIN.match(line)
        if match:
            current = _name(match.group(1))
            out[current] = (match.group(2), 0)
        elif stripped.startswith("--hash=sha256:") and current is not None:
            version, hashes = out[current]
            out[current] = (version, hashes + (re.fullmatch(r"--hash=sha256:[0-9a-f]{64}( \\)?", stripped) is not None))
    return out


def lock_problems(requirements_text: str, lock_text: str) -> list[str]:
    """Why a lock does not follow the requirements; empty when it does."""
    wanted, entries = requirements(requirements_text), locked(lock_text)
    problems = [f"{name}: not in the lock" for name in wanted if name not in entries]
    problems += [f"{name}: lock has {entries[name][0]}, requirements.txt {version}"
                 for name, version in wanted.items() if name in entries and entries[name][0] != version]
    problems += [f"{name}: no sha256 hash" for name, (_, hashes) in entries.items() if hashes == 0]
    return problems


def test_the_lock_covers_every_requirement_at_its_pin_with_hashes() -> None:
    reqs = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    assert lock_problems(reqs, lock) == []
    assert locked(lock)["torch"][0] == requirements(reqs)["torch"] == "2.13.0"


def test_the_check_fails_on_a_lock_that_drifted() -> None:
    reqs = "# comment\ntorch==2.13.0\npsycopg[binary]==3.3.9\nConfusable_Homoglyphs==3.3.1\n"
    good = ("confusable-homoglyphs==3.3.1 \\\n    --hash=sha256:" + "a" * 64 + "\n    # via -r requirements.txt\n"
            "psycopg==3.3.9 \\\n    --hash=sha256:" + "b" * 64 + " \\\n    --hash=sha256:" + "c" * 64 + "\n"
            "torch==2.13.0 ; sys_platform == 'linux' \\\n    --hash=sha256:" + "d" * 64 + "\n")
    assert lock_problems(reqs, good) == []
    assert locked(good)["psycopg"] == ("3.3.9", 2)
    assert lock_problems(reqs, good.replace("torch==2.13.0", "torch==2.14.0")) == [
        "torch: lock has 2.14.0, requirements.txt 2.13.0"]
    assert lock_problems(reqs, good.replace("--hash=sha256:" + "a" * 64, "")) == [
        "confusable-homoglyphs: no sha256 hash"]
    assert lock_problems(reqs, good.replace("--hash=sha256:" + "d" * 64, "--hash=sha256:short")) == [
        "torch: no sha256 hash"]
    assert lock_problems(reqs + "zxcvbn==4.5.0\n", good) == ["zxcvbn: not in the lock"]
