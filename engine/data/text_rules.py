"""Bounds and characters every piece of user text must respect, the same on SQLite and PostgreSQL: a length
limit from the settings (a 10 MB title froze every viewer's browser tab) and no NUL character (SQLite stores
it, PostgreSQL refuses it in text and JSONB with a raw DataError). Callers name the document and field."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from engine.data.json_input import INT_DIGITS, OversizedInt
from engine.errors import clip
from engine.settings import get_settings

NUL = "\x00"


@dataclass(frozen=True)
class TextLimits:
    """Characters allowed per kind of text (see engine.settings for the defaults and their variables)."""

    title: int
    token: int
    text: int
    name: int
    note: int

    @classmethod
    def from_settings(cls) -> TextLimits:
        s = get_settings()
        return cls(s.max_title_chars, s.max_token_chars, s.max_text_chars, s.max_name_chars, s.max_note_chars)


_VARIABLES = {"title": "DOCRE_MAX_TITLE_CHARS", "token": "DOCRE_MAX_TOKEN_CHARS", "text": "DOCRE_MAX_TEXT_CHARS",
              "name": "DOCRE_MAX_NAME_CHARS", "note": "DOCRE_MAX_NOTE_CHARS"}


def text_problem(value: str, kind: str, limits: TextLimits | None = None) -> str | None:
    """Why `value` cannot be stored as `kind` text (title, token, text, name or note), or None when it can."""
    limit = getattr(limits or TextLimits.from_settings(), kind)
    if len(value) > limit:
        return (f"{len(value):,} characters, over the limit of {limit:,} for a {kind}; shorten it "
                f"(or raise {_VARIABLES[kind]})")
    if NUL in value:
        return (f"contains a NUL character (\\u0000) at offset {value.index(NUL)}: databases cannot store it; "
                "remove it")
    return None


def check_text(value: str, what: str, kind: str, limits: TextLimits | None = None) -> str:
    """`value` if it can be stored, else ValueError naming `what` (e.g. "dataset name") and why."""
    problem = text_problem(value, kind, limits)
    if problem is not None:
        raise ValueError(f"{what} {clip(value, 40)!r}: {problem}")
    return value


MAX_DEPTH = 32  # lists and objects inside a document's value; DocRED itself nests 4 levels


def value_problems(obj: Any, path: str, limits: TextLimits | None = None) -> Iterator[tuple[str, str]]:
    """(JSON path, why) for each string (object keys too) a database could not store or that is over the
    `text` limit, each integer too long to convert, and nesting over MAX_DEPTH levels. Iterative, so no input
    can exhaust the interpreter's stack here."""
    limits = limits or TextLimits.from_settings()
    stack: list[tuple[str, Any, int]] = [(path, obj, 0)]
    while stack:
        where, value, depth = stack.pop()
        if isinstance(value, str):
            problem = text_problem(value, "text", limits)
            if problem is not None:
                yield where, problem
        elif isinstance(value, (dict, list)):
            if depth >= MAX_DEPTH:
                yield where, f"nested over {MAX_DEPTH} levels deep; a DocRED value nests a few levels at most"
                continue
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str):
                    problem = text_problem(key, "text", limits)
                    if problem is not None:
                        yield f"{where or 'document'} key {clip(key, 40)!r}", problem
                        continue
                step = (f"{where}.{clip(key, 40)}" if where else clip(key, 40)) if isinstance(key, str) \
                    else f"{where}[{key}]"
                stack.append((step, item, depth + 1))
        elif isinstance(value, OversizedInt):
            yield where, (f"{value!r}, more than Python converts ({INT_DIGITS:,}); a DocRED value is a small number: "
                          "check how the file was made")
