r"""Element types: how many bytes a tensor of ``n`` elements occupies.

A precision stores ``block_elems`` elements in ``block_bytes`` bytes. For plain types the block is one
element (fp16: 1 element in 2 bytes) and bit-packed types simply pack (int4: 2 in 1 byte), so ``n``
elements take :math:`\lceil n \cdot \text{block\_bytes} / \text{block\_elems} \rceil` bytes.
Block-quantized types carry a scale per block and are stored in whole blocks (ggml's q8_0: 32 values in
34 bytes, an fp16 scale with 32 int8 values), so ``n`` elements take
:math:`\lceil n / \text{block\_elems} \rceil \cdot \text{block\_bytes}` bytes.

The named types live in ``vramlib/data/precisions.json``, each with its source. Any whole bit width
is accepted too (``get_precision(3)`` is a 3-bit type packed without padding), which is what the
rule of thumb's :math:`Q` means.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from . import _check, _data


@dataclass(frozen=True)
class Precision:
    """One element type. ``bits`` is exact (a Fraction: q8_0 is 17/2 bits per element)."""

    name: str
    block_elems: int
    block_bytes: int
    description: str = ""
    source: str = ""
    whole_blocks: bool = False   # block-quantized (a scale per block): storage comes in whole blocks

    @property
    def bits(self) -> Fraction:
        """Bits per element, exactly."""
        return Fraction(8 * self.block_bytes, self.block_elems)

    @property
    def bytes_per_element(self) -> Fraction:
        """Bytes per element, exactly (``Fraction(1, 2)`` for int4)."""
        return Fraction(self.block_bytes, self.block_elems)

    def bytes_for(self, n_elements: int) -> int:
        """Bytes to hold ``n_elements`` values: whole blocks for block-quantized types, else the packed
        bits rounded up to a byte."""
        n = _check.integer("n_elements", n_elements, minimum=0)
        if self.whole_blocks:
            return -(-n // self.block_elems) * self.block_bytes
        return -(-n * self.block_bytes // self.block_elems)

    def __str__(self) -> str:
        return self.name


@lru_cache(maxsize=None)
def _registry() -> dict[str, Precision]:
    table: dict[str, Precision] = {}
    for entry in _data.load("precisions.json")["precisions"]:
        p = Precision(entry["name"], entry["block_elems"], entry["block_bytes"],
                      entry["description"], entry["source"], entry.get("whole_blocks", False))
        for key in [p.name, *entry.get("aliases", [])]:
            table[_check.normalise(key)] = p
    return table


def precision_names() -> list[str]:
    """Canonical names of the named precisions (aliases not included)."""
    return sorted({p.name for p in _registry().values()})


def from_bits(bits: int) -> Precision:
    """A plain ``bits``-wide integer-like type, packed without padding (what the rule of thumb's Q means)."""
    b = _check.integer("bits", bits, minimum=1)
    if b > 64:
        raise ValueError(f"bits must be between 1 and 64, got {b}")
    g = math.gcd(b, 8)
    return Precision(f"{b}-bit", 8 // g, b // g, f"{b} bits per element, packed", "arithmetic")


def _bit_width(argument: str, text: str) -> "int | None":
    """The bit width a string spells (``"4"``, ``"16bit"``, ``"8 bits"``), ``None`` if it spells no
    number; a negative, fractional or comma-grouped number (``"-5"``, ``"4.5"``, ``"0,9"``) raises
    rather than being read as some other width."""
    match = re.fullmatch(
        r"\s*([+-]?)([0-9][0-9.,_]*)[\s_-]*(bits?)?\s*", text, flags=re.IGNORECASE
    )
    if match is None:
        return None
    sign, digits, _ = match.groups()
    if sign == "-" or not digits.isdigit():
        raise ValueError(
            f"{argument} must be a whole, positive bit width such as 4 (or a name such "
            f"as 'bf16'), got {_check.shown(text)}"
        )
    if len(digits) > 6:
        raise ValueError(
            f"{argument}: bits must be between 1 and 64, got {_check.shown(text)}"
        )
    return int(digits)


def get_precision(precision: "str | int | Precision", *, argument: str = "precision") -> Precision:
    """Look a precision up by name (``"bf16"``, ``"BFloat16"``, ``"fp8_e5m2"``) or by bit width (``4``).

    Names are case- and separator-insensitive; an unknown one raises ``ValueError`` with the
    closest known names. ``argument`` is the name the caller's user knows the value by
    (the messages say ``kv_dtype`` when the estimate's ``kv_dtype`` was wrong).
    """
    if isinstance(precision, Precision):
        return precision
    _check.text("argument", argument)
    if isinstance(precision, bool):
        raise TypeError(
            f"{argument} must be a name such as 'bf16' or a bit width such as 4, "
            f"got {precision!r}"
        )
    if isinstance(precision, float):
        if not precision.is_integer():
            raise ValueError(
                f"{argument} must be a whole bit width such as 4 (or a name such as "
                f"'bf16'), got {precision!r}"
            )
        precision = int(precision)
    if isinstance(precision, int):
        named = {32: "fp32", 16: "fp16", 8: "int8", 4: "int4"}
        if precision in named:
            return _registry()[named[precision]]
        if not 1 <= precision <= 64:
            raise ValueError(
                f"{argument}: bits must be between 1 and 64, got "
                f"{_check.shown(precision)}"
            )
        return from_bits(precision)
    if not isinstance(precision, str):
        raise TypeError(
            f"{argument} must be a name such as 'bf16' or a bit width such as 4, "
            f"got {type(precision).__name__} {_check.shown(precision)}"
        )
    _check.text(argument, precision)
    bits = _bit_width(argument, precision)
    if bits is not None:
        return get_precision(bits, argument=argument)
    key = _check.normalise(precision)
    if key not in _registry():
        known = precision_names() + ["<bits, e.g. 4>"]
        raise _check.unknown(argument, precision, known, what="precision")
    return _registry()[key]
