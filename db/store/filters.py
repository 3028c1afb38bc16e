"""Filters are a whitelist: a listing accepts only the fields it knows, and says which those are."""
from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any


def check_filters(filters: Mapping[str, Any] | None, allowed: Collection[str], *, what: str) -> dict[str, Any]:
    """The filters that are set (None values dropped); an unknown name is a ValueError listing the allowed ones."""
    given = dict(filters or {})
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ValueError(f"unknown {what} filter(s) {', '.join(map(repr, unknown))}; "
                         f"allowed: {', '.join(sorted(allowed))}")
    return {name: value for name, value in given.items() if value is not None}


def check_choice(name: str, value: Any, choices: Collection[str]) -> str:
    """A filter value that must be one of a few words."""
    if value not in choices:
        raise ValueError(f"filter {name!r}: expected one of {', '.join(choices)}, got {value!r}")
    return value


def check_paging(limit: int, offset: int) -> None:
    if limit < 1 or offset < 0:
        raise ValueError(f"paging: expected limit >= 1 and offset >= 0, got limit={limit}, offset={offset}")
