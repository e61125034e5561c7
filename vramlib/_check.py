"""Argument checks shared by every public function.

Each check names the argument it rejects and says what would have been accepted, so that a
mistake in a notebook, a script or the command line reads as a sentence, not a traceback hunt.
"""
from __future__ import annotations

import difflib
import math
from numbers import Integral, Real
from typing import Iterable


def _kind(value: object) -> str:
    return type(value).__name__


def integer(name: str, value: object, *, minimum: int = 1) -> int:
    """Return ``value`` as an ``int`` if it is an integer ``>= minimum``, else raise.

    Booleans are refused (``True`` is an ``int`` in Python but never a token count); floats that
    are whole numbers (``4096.0``) are accepted, since JSON and widgets often produce them.
    """
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer >= {minimum}, got a bool ({value!r})")
    if isinstance(value, Integral):
        result = int(value)
    elif isinstance(value, Real) and math.isfinite(value) and float(value).is_integer():
        result = int(value)
    elif isinstance(value, Real):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    else:
        raise TypeError(f"{name} must be an integer >= {minimum}, got {_kind(value)} {value!r}")
    if result < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {result}")
    return result


def number(name: str, value: object, *, minimum: float = 0.0, inclusive: bool = False,
           maximum: float | None = None) -> float:
    """Return ``value`` as a finite ``float`` above ``minimum`` (and at most ``maximum``), else raise."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number, got {_kind(value)} {value!r}")
    result = float(value)
    bound = f">= {minimum:g}" if inclusive else f"> {minimum:g}"
    if maximum is not None:
        bound += f" and <= {maximum:g}"
    if not math.isfinite(result):
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    too_small = result < minimum if inclusive else result <= minimum
    if too_small or (maximum is not None and result > maximum):
        raise ValueError(f"{name} must be a number {bound}, got {value!r}")
    return result


def normalise(name: str) -> str:
    """Lower-case a name and drop separators, so ``"BF-16"``, ``"bf_16"`` and ``"bf16"`` agree."""
    return "".join(ch for ch in name.lower() if ch.isalnum() or ch == ".")


def suggestions(value: str, known: Iterable[str], n: int = 3, cutoff: float = 0.5) -> list[str]:
    """The closest known names to ``value`` (case- and separator-insensitive)."""
    known = list(known)
    by_key: dict[str, str] = {}
    for k in known:
        by_key.setdefault(normalise(k), k)
    close = difflib.get_close_matches(normalise(value), list(by_key), n=n, cutoff=cutoff)
    return [by_key[c] for c in close]


def unknown(argument: str, value: object, known: Iterable[str], *, what: str = "name",
            show: int = 12) -> ValueError:
    """Build the error for a name that is not in ``known``: the suggestions, then what is accepted."""
    known = sorted(set(known), key=str.lower)
    close = suggestions(str(value), known) if isinstance(value, str) else []
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    listed = ", ".join(known[:show]) + (f", … ({len(known)} in all)" if len(known) > show else "")
    return ValueError(f"unknown {what} {value!r} for {argument}.{hint} Accepted: {listed}")


def shown(value: object, limit: int = 200) -> str:
    """``repr(value)`` cut to ``limit`` characters, for echoing user input in an error."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def text(name: str, value: object) -> str:
    """Return ``value`` if it is a non-empty string, else raise naming ``name``."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {_kind(value)} {value!r}")
    if not value.strip():
        raise ValueError(f"{name} must be a non-empty string")
    return value
