"""What the engine models share: argument resolution, ceiling division, units."""

from __future__ import annotations

from .. import _check, _data
from ..formats import WeightFormat, get_format, is_as_published
from ..gpus import GPU, get_gpu
from ..models import ModelSpec, get_model
from ..precisions import Precision, get_precision
from ..units import GIB, MIB


def constants() -> dict:
    """The engines' constants and their sources (``vramlib/data/engines.json``)."""
    return _data.load("engines.json")


def cdiv(a: int, b: int) -> int:
    """Ceiling of ``a / b`` for non-negative integers."""
    return -(-a // b)


def spec_of(model: "ModelSpec | str") -> ModelSpec:
    if isinstance(model, ModelSpec):
        return model
    if isinstance(model, str):
        return get_model(model)
    raise TypeError(
        f"model must be a ModelSpec or a catalogue name, got "
        f"{type(model).__name__} {model!r}"
    )


def format_of(precision: "str | int | WeightFormat") -> WeightFormat:
    if isinstance(precision, WeightFormat):
        return precision
    return get_format(precision)


def as_published(spec: ModelSpec):
    """The weights ``spec``'s checkpoint publishes (``vramlib.checkpoint``), or
    ``None``, and the format of its unquantized tensors: what an engine loads when no
    precision is forced (vLLM and SGLang read ``quantization_config`` themselves)."""
    from ..checkpoint.dtypes import VRAMLIB_NAME
    from ..checkpoint.source import published_for

    w = published_for(spec) if spec.checkpoint is not None else None
    if w is None:
        return None, get_format("bf16")
    return w, get_format(VRAMLIB_NAME.get(w.dtype, "bf16"))


def precision_label(
    spec: ModelSpec, precision: "str | int | WeightFormat | None"
) -> str:
    """How the weights are counted, for an answer."""
    if is_as_published(precision):
        w, fmt = as_published(spec)
        return f"as published: {w.label}" if w is not None else fmt.name
    return format_of(precision).name


def gpu_of(gpu: "str | GPU") -> GPU:
    return get_gpu(gpu)


def kv_precision(
    kv_dtype: "str | Precision | None", model_dtype: str = "bf16"
) -> Precision:
    """The KV cache's element type; ``None`` or ``"auto"`` means the model's dtype."""
    if kv_dtype is None or (
        isinstance(kv_dtype, str) and kv_dtype.strip().lower() == "auto"
    ):
        return get_precision(model_dtype)
    return get_precision(kv_dtype)


def gib_text(n_bytes: int, digits: int = 2) -> str:
    """Bytes as GiB (2^30) with ``digits`` decimals, as the engines print them."""
    return f"{n_bytes / GIB:.{digits}f}"


def mib_text(n_bytes: int, digits: int = 2) -> str:
    """Bytes as MiB (2^20) with ``digits`` decimals, as llama.cpp prints them."""
    return f"{n_bytes / MIB:.{digits}f}"


def fraction(name: str, value: object) -> float:
    """A fraction in (0, 1] (gpu_memory_utilization, mem_fraction_static)."""
    return _check.number(name, value, minimum=0.0, maximum=1.0)
