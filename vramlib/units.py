r"""Byte units: decimal prefixes (kB, MB, GB, TB = 10^{3n}) and binary ones (KiB, MiB, GiB, TiB = 2^{10n}).

vramlib counts memory in integer bytes everywhere inside; units appear only at the edges, and every
figure it prints names its unit. The two families differ by a factor that grows with the prefix:

.. math::  \frac{1\,\mathrm{GiB}}{1\,\mathrm{GB}} = \frac{2^{30}}{10^{9}} = 1.073741824

so a number of bytes reads about 7.4 % smaller in GiB than in GB (2.4 % at k, 10 % at T).
Decimal prefixes are the SI ones; binary prefixes are IEC 80000-13 (IEC 60027-2 before it).
"""
from __future__ import annotations

import math
from fractions import Fraction
from numbers import Integral

from . import _check

#: bytes in one of each unit (exact integers)
UNITS: dict[str, int] = {
    "B": 1,
    "kB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
    "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40,
}
DECIMAL = ("kB", "MB", "GB", "TB")
BINARY = ("KiB", "MiB", "GiB", "TiB")

KB, MB, GB, TB = (UNITS[u] for u in DECIMAL)
KIB, MIB, GIB, TIB = (UNITS[u] for u in BINARY)

# Forgiving spellings: "gb", "GB", "kb", "Gib", "gibibyte" …
_ALIASES = {u.lower(): u for u in UNITS}
_ALIASES.update({"byte": "B", "bytes": "B", "kilobyte": "kB", "megabyte": "MB", "gigabyte": "GB",
                 "terabyte": "TB", "kibibyte": "KiB", "mebibyte": "MiB", "gibibyte": "GiB",
                 "tebibyte": "TiB"})


def unit_bytes(unit: str) -> int:
    """Bytes in one ``unit`` (``"GB"`` → 10**9, ``"GiB"`` → 2**30). Case-insensitive."""
    _check.text("unit", unit)
    key = unit.strip().lower().rstrip("s") if unit.strip().lower() not in _ALIASES else unit.strip().lower()
    if key not in _ALIASES:
        raise _check.unknown("unit", unit, UNITS, what="unit")
    return UNITS[_ALIASES[key]]


def canonical_unit(unit: str) -> str:
    """The canonical spelling of ``unit`` (``"gib"`` → ``"GiB"``)."""
    size = unit_bytes(unit)
    return next(u for u, b in UNITS.items() if b == size)


def to_unit(n_bytes: int | float, unit: str) -> float:
    """``n_bytes`` expressed in ``unit`` (a float; use :func:`format_bytes` to print
    it).

    Integers are divided exactly before rounding to a float; a result too large for a
    float raises ``ValueError``."""
    n = _bytes("n_bytes", n_bytes)
    size = unit_bytes(unit)
    try:
        return float(n) / size if n <= 2**53 else float(Fraction(n, size))
    except OverflowError:
        raise ValueError(
            f"n_bytes in {canonical_unit(unit)} is too large for a float, got "
            f"{_check.shown(n_bytes)}; format_bytes prints it exactly"
        ) from None


def _bytes(name: str, value: object) -> "int | float":
    """A byte count: a non-negative int kept exact (any size), or another real number as
    a float."""
    if isinstance(value, Integral) and not isinstance(value, bool):
        n = int(value)
        if n < 0:
            raise ValueError(f"{name} must be a number >= 0, got {_check.shown(n)}")
        if n.bit_length() > 10_000:
            raise ValueError(
                f"{name} must have fewer than 3,000 digits, got {_check.shown(n)}"
            )
        return n
    return _check.number(name, value, minimum=0, inclusive=True)


def from_unit(value: int | float, unit: str) -> int:
    """Whole bytes in ``value`` ``unit`` (``from_unit(80, "GiB")`` → 85899345920), rounded down."""
    v = _check.number("value", value, minimum=0, inclusive=True)
    return math.floor(Fraction(v) * unit_bytes(unit))


def gb(n_bytes: int | float) -> float:
    """Bytes → GB (10^9)."""
    return to_unit(n_bytes, "GB")


def gib(n_bytes: int | float) -> float:
    """Bytes → GiB (2^30)."""
    return to_unit(n_bytes, "GiB")


def format_bytes(n_bytes: int | float, unit: str = "GB", digits: int = 1) -> str:
    """``n_bytes`` as text with its unit: ``format_bytes(168e9, "GiB")`` → ``'156.5 GiB'``.

    ``unit`` may also be ``"decimal"`` or ``"binary"``, which picks the largest prefix of that family
    that keeps the number at least 1.
    """
    n = _bytes("n_bytes", n_bytes)
    digits = _check.integer("digits", digits, minimum=0, maximum=30)
    family = unit.strip().lower() if isinstance(unit, str) else unit
    if family in ("decimal", "binary"):
        choices = ("B",) + (DECIMAL if family == "decimal" else BINARY)
        unit = next((u for u in reversed(choices) if n >= UNITS[u]), "B")
    else:
        unit = canonical_unit(unit)
    if isinstance(n, int) and n * 10**digits >= UNITS[unit] * 10**15:
        # past what a float holds to the digit shown: round the exact quotient (half to
        # even)
        scaled = Fraction(n * 10**digits, UNITS[unit])
        whole, frac = divmod(round(scaled), 10**digits)
        text = f"{whole:,}" + (f".{frac:0{digits}d}" if digits and unit != "B" else "")
        return f"{text} {unit}"
    if unit == "B":
        return f"{n:,.0f} B"
    return f"{n / UNITS[unit]:,.{digits}f} {unit}"


def binary_over_decimal(prefix: str) -> Fraction:
    """Exact ratio of a binary unit to its decimal namesake: ``"G"`` → 2**30 / 10**9."""
    _check.text("prefix", prefix)
    order = {"k": 1, "m": 2, "g": 3, "t": 4}
    p = prefix.strip()[:1].lower()
    if p not in order:
        raise _check.unknown("prefix", prefix, ["k", "M", "G", "T"], what="prefix")
    n = order[p]
    return Fraction(2 ** (10 * n), 10 ** (3 * n))
