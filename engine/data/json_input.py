"""JSON from users' files, read so that hostile input gives a message naming file, document and field instead
of an interpreter error: an integer too long for Python to convert (over 4,300 digits) is kept as an
`OversizedInt` that validation names by its field, and nesting deep enough to exhaust the parser's stack is an
InputFileError, not a RecursionError."""
from __future__ import annotations

import json
import sys
from typing import Any

from engine.errors import InputFileError

INT_DIGITS = sys.get_int_max_str_digits() or 4300  # what int() converts (Python's default limit: 4,300)


class OversizedInt:
    """An integer literal too long to convert: kept as its digit count, so validation can name where it is."""

    def __init__(self, digits: int) -> None:
        self.digits = digits

    def __repr__(self) -> str:
        return f"an integer of {self.digits:,} digits"


def _parse_int(text: str) -> int | OversizedInt:
    digits = len(text.lstrip("-"))
    return int(text) if digits <= INT_DIGITS else OversizedInt(digits)


DECODER = json.JSONDecoder(parse_int=_parse_int)


def too_deep(where: str) -> InputFileError:
    """The message for JSON nested beyond what the parser can follow."""
    return InputFileError(f"{where}: JSON nested too deeply (more than about {sys.getrecursionlimit():,} levels of "
                          "lists or objects); a DocRED document nests 4 levels: check how the file was made")


def loads(text: str, where: str) -> Any:
    """Parse JSON text; JSONDecodeError passes through (callers word it), deep nesting is an InputFileError."""
    try:
        return DECODER.decode(text)
    except RecursionError:
        raise too_deep(where) from None


def raw_decode(text: str, pos: int, where: str) -> tuple[Any, int]:
    """One JSON value from `pos`, as json.JSONDecoder.raw_decode, with loads' handling of deep nesting."""
    try:
        return DECODER.raw_decode(text, pos)
    except RecursionError:
        raise too_deep(where) from None
