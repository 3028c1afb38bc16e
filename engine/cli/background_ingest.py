"""Ingest a .txt input in a child process while the parent loads the model.

A cold `predict` on a text file pays for two unrelated start-ups one after the other: spaCy's import and
pipeline load (to find entities and mentions) and torch's import and the model load. They share nothing, so
on a machine with two cores they can overlap: the child is forked before torch is imported (forking a process
that already runs torch's threads is unsafe, so then, and where fork does not exist, ingestion runs inline
when asked for). The child, which needs no torch, does not import it (see _WithoutTorch), and sends back
the Document or the error it raised, unchanged."""
from __future__ import annotations

import importlib.abc
import multiprocessing
import sys
from multiprocessing.connection import Connection
from typing import Any

from engine.data.documents import Document


def _ingest(path: str) -> list[Document]:
    from engine.cli.common import load_docs  # noqa: PLC0415 - spaCy is imported here, in whichever process runs it

    return load_docs(path)


class _WithoutTorch(importlib.abc.MetaPathFinder):
    """Refuses `import torch` in the ingestion child. thinc imports torch whenever it is installed, to offer
    PyTorch layers that the small spaCy pipeline never uses (it runs on thinc's numpy ops), and that import
    is most of spaCy's start-up: 2.3 of 3.2 s on an AVX2 EPYC. thinc treats the ImportError as "no torch"."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"{name} is not imported while ingesting text", name=name)
        return None


def _child(path: str, conn: Connection) -> None:
    sys.meta_path.insert(0, _WithoutTorch())
    try:
        conn.send(("ok", _ingest(path)))
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent, which raises it
        try:
            conn.send(("error", exc))
        except Exception:  # noqa: BLE001 - an error that does not pickle still reaches the parent, as text
            conn.send(("error", RuntimeError(f"ingesting {path} failed: {type(exc).__name__}: {exc}")))
    finally:
        conn.close()


class TextIngestion:
    """start() before the model loads, documents() after: the ingested document(s) of one .txt file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: Connection | None = None
        self._process: Any = None

    def start(self) -> "TextIngestion":
        if "torch" not in sys.modules and "fork" in multiprocessing.get_all_start_methods():
            ctx = multiprocessing.get_context("fork")
            self._conn, child_end = ctx.Pipe(duplex=False)
            self._process = ctx.Process(target=_child, args=(self.path, child_end), daemon=True,
                                        name="docre-ingest")
            self._process.start()
            child_end.close()
        return self

    @property
    def in_background(self) -> bool:
        return self._process is not None

    def documents(self) -> list[Document]:
        """The ingested documents (raises what ingestion raised)."""
        if self._conn is None:
            return _ingest(self.path)
        try:
            status, payload = self._conn.recv()
        except EOFError:
            self._process.join()
            raise RuntimeError(f"ingesting {self.path} stopped without an answer (exit code "
                               f"{self._process.exitcode})") from None
        finally:
            self._conn.close()
        self._process.join()
        if status == "error":
            raise payload
        return payload
