"""A small error hierarchy: every message says what was expected, what came, and how to fix it."""
from __future__ import annotations

from dataclasses import dataclass


def clip(text: str, limit: int = 80) -> str:
    """At most `limit` characters, an ellipsis marking a cut: messages and pages quote user text through this,
    so a 10 MB title never reaches a log line or a browser tab whole."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class DocreError(Exception):
    """Base class for every error the engine raises on purpose."""


class InputFileError(DocreError):
    """A whole input file is unusable (missing, not JSON, wrong encoding, wrong top-level shape)."""


@dataclass(frozen=True)
class DocumentProblem:
    """Where one document of a file is wrong: file, document index and title, field, index in that field."""

    file: str
    doc_index: int
    title: str
    field: str
    index: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.field}[{self.index}]" if self.index is not None else self.field
        return f"{self.file}: document {self.doc_index} ({clip(self.title)!r}): {where}: {self.message}"


class DocumentError(DocreError):
    """One document failed validation; `problem` says where."""

    def __init__(self, problem: DocumentProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class DocumentTooLargeError(DocreError):
    """A document exceeds a configured inference limit (entities or tokens); the message names it and the limit."""


class SchemaError(DocreError):
    """A relation id or schema does not match what the model or data expects."""


class CheckpointError(DocreError):
    """A checkpoint is missing, malformed or does not match the code, schema or encoder in use."""


class ConfigError(DocreError):
    """A configuration value is out of range or of the wrong kind."""


class UnknownMethodError(DocreError):
    """A method name is not in the registry; the message lists the known names."""
