"""The method registry: versioned names (`atlop.v1`) -> `MethodSpec`. Each method package registers itself
here when `engine.model.methods` imports it; this module imports no method, so none imports it back."""
from __future__ import annotations

from engine.errors import UnknownMethodError
from engine.model.methods.base import MethodSpec

_REGISTRY: dict[str, MethodSpec] = {}


def register(spec: MethodSpec) -> MethodSpec:
    if spec.name in _REGISTRY:
        raise ValueError(f"method {spec.name!r} is registered twice")
    if "." not in spec.name:
        raise ValueError(f"method names carry a version, like 'atlop.v1'; got {spec.name!r}")
    _REGISTRY[spec.name] = spec
    return spec


def get_method(name: str) -> MethodSpec:
    """A spec by full name, or by bare name (`atlop`) meaning its newest version."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    versions = sorted((n for n in _REGISTRY if n.split(".")[0] == name), key=lambda n: int(n.rsplit(".v", 1)[-1]))
    if versions:
        return _REGISTRY[versions[-1]]
    raise UnknownMethodError(f"unknown method {name!r}; known methods: {', '.join(sorted(_REGISTRY))}")


def list_methods() -> list[MethodSpec]:
    return [_REGISTRY[n] for n in sorted(_REGISTRY)]
