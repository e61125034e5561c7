"""Names of a package imported from their modules on first use (PEP 562)."""

from __future__ import annotations

from importlib import import_module
from typing import Callable


def lazy_names(
    package: str, where: dict[str, str], namespace: dict
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__``: each name in ``where`` (name ->
    submodule) is imported from ``package.<submodule>`` when first asked for, then kept
    in ``namespace`` (the package's globals)."""

    def __getattr__(name: str) -> object:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(where))

    return __getattr__, __dir__
