r"""SGLang: the static token pool that ``mem_fraction_static`` buys.

SGLang sizes its KV pool once, after loading the weights
(``ModelRunner.profile_max_num_token`` in
``python/sglang/srt/model_executor/model_runner.py``):

.. math::  N_{tok} = \left\lfloor \frac{F_{after} - F_{before}\,(1 - f)}{c}
           \right\rfloor,
           \qquad c = \frac{n_{kv}}{t}\, d_h \cdot L \cdot 2 \cdot b

:math:`F_{before}` the free memory when the pool is planned (before the weights, the
``total_gpu_memory`` argument), :math:`F_{after}` the free memory after loading them,
:math:`f` ``mem_fraction_static``, :math:`c` the bytes of one token across all layers on
one rank (for MLA, :math:`(r_{kv} + d_{rope}) L b`). Since
:math:`F_{after} = F_{before} - W_{gpu}`, the pool is :math:`f F_{before} - W_{gpu}`:
the static fraction covers the weights and the pool, and the rest of the card is left
for activations and CUDA graphs. The pool then allocates ``N + page_size`` slots per
layer, and SGLang prints "KV Cache is allocated. #tokens: N, K size: X GB" with X in
GiB.

Constants and sources: ``vramlib/data/engines.json`` (``sglang``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import _check
from ..formats import WeightFormat, is_as_published
from ..gpus import GPU
from ..models import ModelSpec
from ..units import GIB
from ._common import constants, format_of, fraction, gpu_of, kv_precision, spec_of
from .vllm import torch_total_bytes, weights_bytes_per_gpu


def _c() -> dict:
    return constants()["sglang"]


def cell_bytes(
    model: "ModelSpec | str",
    *,
    kv_cache_dtype: "str | None" = None,
    tensor_parallel: int = 1,
) -> int:
    r"""Bytes one token takes on one rank: :math:`\max(1, n_{kv}/t)\, d_h L \cdot 2b`,
    or :math:`(r_{kv} + d_{rope}) L b` for MLA (``cell_size`` in
    profile_max_num_token)."""
    spec = spec_of(model)
    t = _check.integer("tensor_parallel", tensor_parallel, minimum=1)
    kv = kv_precision(kv_cache_dtype)
    layers = spec.num_hidden_layers
    if spec.uses_mla:
        return kv.bytes_for(spec.kv_lora_rank + spec.qk_rope_head_dim) * layers
    heads = max(1, spec.num_key_value_heads // t)
    return 2 * kv.bytes_for(heads * spec.head_dim) * layers


def kv_size_bytes(
    model: "ModelSpec | str",
    tokens: int,
    *,
    kv_cache_dtype: "str | None" = None,
    tensor_parallel: int = 1,
    page_size: int | None = None,
) -> int:
    """Bytes of the K buffers (V alike) SGLang allocates for a pool of ``tokens``
    tokens: ``tokens + page_size`` slots in every layer. SGLang prints this over
    2^30 as "K size: X GB"."""
    n = _check.integer("tokens", tokens, minimum=0)
    page = (
        _c()["page_size"]
        if page_size is None
        else _check.integer("page_size", page_size)
    )
    return (
        cell_bytes(
            model, kv_cache_dtype=kv_cache_dtype, tensor_parallel=tensor_parallel
        )
        // 2
        * (n + page)
    )


@dataclass(frozen=True)
class SglangPrediction:
    """SGLang's pool on each GPU. Bytes everywhere."""

    version: str
    model: str
    gpu: str
    tensor_parallel: int
    mem_fraction_static: float
    kv_cache_dtype: str
    free_before_bytes: int
    weights_bytes_per_gpu: int
    cell_bytes: int
    max_total_num_tokens: int
    kv_pool_bytes: int

    def max_concurrency(self, length: int) -> float:
        """Requests of ``length`` tokens the pool holds at once."""
        return self.max_total_num_tokens / _check.integer("length", length, minimum=1)

    def log_lines(self) -> list[str]:
        k = self.kv_pool_bytes / 2 / GIB
        return [
            f"KV Cache is allocated. #tokens: {self.max_total_num_tokens}, "
            f"K size: {k:.2f} GB, V size: {k:.2f} GB"
        ]

    def to_dict(self) -> dict:
        return {
            "engine": "sglang",
            "version": self.version,
            "model": self.model,
            "gpu": self.gpu,
            "tensor_parallel": self.tensor_parallel,
            "mem_fraction_static": self.mem_fraction_static,
            "kv_cache_dtype": self.kv_cache_dtype,
            "free_before_bytes": self.free_before_bytes,
            "weights_bytes_per_gpu": self.weights_bytes_per_gpu,
            "cell_bytes": self.cell_bytes,
            "kv_cache_tokens": self.max_total_num_tokens,
            "kv_pool_bytes": self.kv_pool_bytes,
            "log_lines": self.log_lines(),
        }


def max_total_num_tokens(
    free_before_bytes: int,
    weights_bytes: int,
    cell: int,
    mem_fraction_static: float,
    page_size: int = 1,
) -> int:
    r""":math:`\lfloor (F - W - F(1 - f)) / c \rfloor`, rounded down to whole pages: the
    formula of ``profile_max_num_token`` on byte counts (SGLang works in GiB floats)."""
    f = fraction("mem_fraction_static", mem_fraction_static)
    free = free_before_bytes / GIB
    rest = (free - weights_bytes / GIB) - free * (1 - f)
    tokens = max(int(rest * GIB // cell), 0)
    return tokens // page_size * page_size


def predict(
    model: "ModelSpec | str",
    gpu: "GPU | str",
    *,
    precision: "str | WeightFormat | None" = "bf16",
    tensor_parallel: int = 1,
    mem_fraction_static: float = 0.88,
    kv_cache_dtype: "str | None" = None,
    free_before_bytes: int | None = None,
) -> SglangPrediction:
    """Predict SGLang's token pool. ``free_before_bytes`` is the free memory when the
    pool is planned; by default the torch total of the card less a start-up constant
    (engines.json ``startup_bytes``). The weights are counted as vLLM loads them
    (SGLang's loaders follow the same layout)."""
    spec = spec_of(model)
    card = gpu_of(gpu)
    if not is_as_published(precision):
        format_of(precision)  # checked here, named in the error
    t = _check.integer("tensor_parallel", tensor_parallel, minimum=1)
    f = fraction("mem_fraction_static", mem_fraction_static)
    c = _c()
    free = (
        torch_total_bytes(card) - c["startup_bytes"]["value"]
        if free_before_bytes is None
        else _check.integer("free_before_bytes", free_before_bytes)
    )
    weights = weights_bytes_per_gpu(spec, precision, t)
    cell = cell_bytes(spec, kv_cache_dtype=kv_cache_dtype, tensor_parallel=t)
    tokens = max_total_num_tokens(free, weights, cell, f, c["page_size"])
    pool = (
        kv_size_bytes(spec, tokens, kv_cache_dtype=kv_cache_dtype, tensor_parallel=t)
        * 2
    )
    return SglangPrediction(
        version=c["version"],
        model=spec.name or spec.model_type,
        gpu=card.name,
        tensor_parallel=t,
        mem_fraction_static=f,
        kv_cache_dtype=kv_precision(kv_cache_dtype).name,
        free_before_bytes=free,
        weights_bytes_per_gpu=weights,
        cell_bytes=cell,
        max_total_num_tokens=tokens,
        kv_pool_bytes=pool,
    )


__all__ = [
    "SglangPrediction",
    "cell_bytes",
    "kv_size_bytes",
    "max_total_num_tokens",
    "predict",
]
