r"""The rule of thumb from the source articles.

.. math::  M = \frac{P \cdot 4\,\mathrm{B}}{32 / Q} \cdot 1.2

:math:`P` parameters, :math:`Q` bits per parameter, 4 bytes being one fp32 parameter; the factor
1.2 is a flat 20 % meant to cover everything that is not weights (KV cache, activations, the CUDA
context and framework). Since :math:`4\,\mathrm{B} / (32/Q) = Q/8` bytes, this is simply
:math:`M = P \cdot Q / 8 \cdot 1.2` bytes. The articles print M with GB = 10^9 bytes.
"""

from __future__ import annotations

from fractions import Fraction

from . import _check
from .precisions import Precision, get_precision


def rule_of_thumb_bytes(
    params: int, bits: "int | str | Precision", overhead: float = 1.2
) -> int:
    r"""Memory by the articles' rule :math:`M = P \cdot 4 / (32/Q) \cdot \text{overhead}`, in whole bytes.

    ``bits`` is Q: a bit width (16) or a precision name (``"bf16"``, ``"q8_0"``); ``overhead`` is the
    flat multiplier (1.2 in the articles; 1.0 gives the weights alone). Rounded to the nearest byte.

    >>> rule_of_thumb_bytes(70_000_000_000, 16)
    168000000000
    """
    p = _check.integer("params", params, minimum=1)
    q = get_precision(bits).bits
    k = _check.number("overhead", overhead, minimum=1.0, inclusive=True)
    exact = Fraction(p) * 4 / (Fraction(32) / q) * Fraction(str(k))
    return round(exact)
