"""vramlib: how much GPU memory a large language model needs, by exact formulas.

Every formula of the book lives here, with the same symbols. Integer bytes inside; units
(GB = 10^9, GiB = 2^30) only at the edges. Standard library only.
"""
from .precisions import Precision, get_precision, precision_names
from .rule import rule_of_thumb_bytes
from .units import (GB, GIB, KB, KIB, MB, MIB, TB, TIB, UNITS, format_bytes, from_unit, gb, gib,
                    to_unit)

__version__ = "0.1.0"

__all__ = [
    "GB", "GIB", "KB", "KIB", "MB", "MIB", "TB", "TIB", "UNITS",
    "Precision", "format_bytes", "from_unit", "gb", "get_precision", "gib", "precision_names",
    "rule_of_thumb_bytes", "to_unit",
]
