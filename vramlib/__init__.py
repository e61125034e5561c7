"""vramlib: how much GPU memory a large language model needs, by exact formulas.

Every formula of the book lives here, with the same symbols. Integer bytes inside; units
(GB = 10^9, GiB = 2^30) only at the edges. Standard library only.
"""

from .estimate import Estimate, estimate
from .fit import DoesNotFit, Fit, fit, gpus_needed, max_batch, max_context
from .formats import GROUPS, WeightFormat, format_names, get_format, kv_cache_dtypes
from .gpus import GPU, all_gpus, custom_gpu, get_gpu, gpu_names
from .kv import kv_bytes_per_token, kv_cache_bytes, kv_cache_bytes_per_layer
from .models import (
    SUPPORTED_MODEL_TYPES,
    ModelSpec,
    catalogue_entry,
    get_model,
    model_names,
)
from .precisions import Precision, get_precision, precision_names
from .rule import rule_of_thumb_bytes
from .sizing import SizingResult, fit_table, size
from .speed import decode_tokens_per_s_bound
from .training import training_bytes
from .units import (
    GB,
    GIB,
    KB,
    KIB,
    MB,
    MIB,
    TB,
    TIB,
    UNITS,
    format_bytes,
    from_unit,
    gb,
    gib,
    to_unit,
)

__version__ = "0.1.0"

__all__ = [
    "GB",
    "GIB",
    "GPU",
    "GROUPS",
    "KB",
    "KIB",
    "MB",
    "MIB",
    "SUPPORTED_MODEL_TYPES",
    "TB",
    "TIB",
    "UNITS",
    "DoesNotFit",
    "Estimate",
    "Fit",
    "ModelSpec",
    "Precision",
    "WeightFormat",
    "all_gpus",
    "catalogue_entry",
    "custom_gpu",
    "estimate",
    "fit",
    "format_bytes",
    "format_names",
    "from_unit",
    "gb",
    "get_format",
    "get_gpu",
    "get_model",
    "get_precision",
    "gib",
    "gpu_names",
    "gpus_needed",
    "kv_bytes_per_token",
    "kv_cache_bytes",
    "kv_cache_bytes_per_layer",
    "kv_cache_dtypes",
    "max_batch",
    "max_context",
    "model_names",
    "precision_names",
    "rule_of_thumb_bytes",
    "to_unit",
    "decode_tokens_per_s_bound",
    "training_bytes",
    "SizingResult",
    "fit_table",
    "size",
]
