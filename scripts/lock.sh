#!/usr/bin/env bash
# Regenerate requirements.lock from requirements.txt: every package the Docker image installs, pinned, each with
# the sha256 of every file PyPI serves for that version, so `pip install --require-hashes -r requirements.lock`
# refuses anything else. Resolved for the image (CPython 3.12 of ubuntu24.04 on x86_64 Linux, torch from PyPI:
# the CUDA build with its nvidia-* wheels). `make setup` still installs requirements.txt, where torch comes from
# the local CPU wheel directory (see requirements.txt). Needs PyPI; uv runs from a throwaway venv.
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.9
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
python3 -m venv "$tools"
"$tools/bin/pip" install --quiet "uv==$UV_VERSION"
"$tools/bin/uv" pip compile requirements.txt --no-config --index-url https://pypi.org/simple --generate-hashes \
    --python-version 3.12 --python-platform x86_64-manylinux_2_28 --custom-compile-command "make lock" \
    --output-file requirements.lock
