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

# The modules a command-line answer does not need are imported on first use (PEP 562),
# so that `python -m vramlib MODEL` stays quick. (`estimate` and `fit` are imported
# above: each is also the name of its module, which an import would otherwise bind.)
_LAZY = {
    "rule_of_thumb_bytes": "rule",
    "SizingResult": "sizing",
    "fit_table": "sizing",
    "size": "sizing",
    "decode_tokens_per_s_bound": "speed",
    "training_bytes": "training",
}


from ._lazy import lazy_names  # noqa: E402

__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())


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
