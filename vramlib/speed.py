r"""How fast decoding can be at best: the memory-bandwidth bound.

Generating one token (a *decode step*) multiplies one new vector per sequence by every weight matrix
of the model and attends over every cached token. At small batch that is a few FLOPs per byte
fetched, far below what a GPU can compute per byte of bandwidth, so the step takes at least the time
to stream those bytes from GPU memory once:

.. math::  t_\text{step} \ge \frac{W_\text{read} + M_{KV}(T, B)}{n \cdot \beta},
           \qquad \text{tokens/s} \le \frac{B \cdot n \cdot \beta}{W_\text{read} + M_{KV}(T, B)}

with :math:`\beta` the GPU's peak memory bandwidth (bytes/s, from the catalogue's datasheet figure),
:math:`n` tensor-parallel GPUs streaming their shares at once, :math:`B` sequences decoding together
(each gets one token per step) and :math:`T` tokens of context in each.

:math:`W_\text{read}`, the weights one step reads:

* every parameter group once (attention, MLP, LM head, norms, routers, biases), at the bytes the
  format stores it in (:mod:`vramlib.formats`); the embedding table is a lookup that reads only the
  :math:`B` rows it needs (unless tied to the LM head, which reads it whole);
* for mixture-of-experts layers, only the routed experts that the batch's tokens select: at most
  :math:`\min(E, B k)` of the :math:`E` experts per MoE layer. This module counts
  :math:`\min(E, Bk)`, which is exact at batch 1 and assumes the batch's tokens pick different
  experts when :math:`B > 1` (the most that can be read).

:math:`M_{KV}(T, B)`, the KV cache of :mod:`vramlib.kv` (sliding windows and MLA included): each step
reads all of it once.

This is the reasoning of kipply's "Transformer Inference Arithmetic" (2022): at small batch, decoding
is bound by memory bandwidth, and the latency floor is the bytes to read over the bandwidth. It is an
upper bound on speed: real kernels reach a fraction of datasheet bandwidth, tensor parallelism adds
communication and replicated tensors, and large batches become compute bound instead (not modelled).
"""
from __future__ import annotations

import math

from . import _check
from .estimate import Estimate, default_kv_dtype, format_for_model
from .formats import WeightFormat, get_format
from .gpus import GPU, get_gpu
from .kv import kv_cache_bytes
from .models import ModelSpec, get_model
from .precisions import get_precision

__all__ = ["weights_read_bytes", "bytes_read_per_step", "decode_step_seconds_bound",
           "decode_tokens_per_s_bound"]


def _inputs(model: "ModelSpec | Estimate | str", precision, context, batch, kv_dtype):
    """(spec, format, context, batch, kv dtype name) from a spec/name plus arguments, or an Estimate."""
    if isinstance(model, Estimate):
        canonical = {
            "precision": lambda v: get_format(v).name,
            "context": lambda v: _check.integer("context", v, minimum=0),
            "batch": lambda v: _check.integer("batch", v, minimum=1),
            "kv_dtype": lambda v: get_precision(v, argument="kv_dtype").name,
        }
        given = {"precision": precision, "context": context, "batch": batch, "kv_dtype": kv_dtype}
        for arg, value in given.items():
            own = getattr(model, arg)
            if value is not None and canonical[arg](value) != own:
                raise ValueError(
                    f"{arg}={_check.shown(value)} disagrees with the estimate's {arg} "
                    f"({own!r}); "
                    f"leave it out (None) to use the estimate's"
                )
        return model.spec, model.format, model.context, model.batch, model.kv_dtype
    if isinstance(model, str):
        spec = get_model(model)
    elif isinstance(model, ModelSpec):
        spec = model
    else:
        raise TypeError(f"model must be a ModelSpec, an Estimate or a catalogue name, "
                        f"got {type(model).__name__} {_check.shown(model)}")
    if precision is None:
        raise ValueError("precision is required with a model spec or name (e.g. 'bf16', 'Q4_K_M', 4)")
    if context is None:
        raise ValueError("context is required with a model spec or name: tokens per sequence, >= 0")
    fmt = get_format(precision)
    t = _check.integer("context", context, minimum=0)
    b = _check.integer("batch", 1 if batch is None else batch, minimum=1)
    kv_given = kv_dtype if kv_dtype is not None else default_kv_dtype(fmt)
    kv = get_precision(kv_given, argument="kv_dtype").name
    return spec, fmt, t, b, kv


def weights_read_bytes(model: "ModelSpec | str", precision: "str | int | WeightFormat" = "bf16", *,
                       batch: int = 1) -> int:
    r"""Bytes of weights one decode step of ``batch`` sequences reads.

    .. math::  W_\text{read} = \sum_{g \ne \text{emb}} \lceil P_g b_g / 8 \rceil
               + \lceil B H\, b_\text{emb} / 8 \rceil
               - L_\text{MoE}\,(E - \min(E, Bk)) \lceil 3 H I_e\, b_\text{mlp} / 8 \rceil

    (the embedding counted whole when it is tied to the LM head). For a dense model at batch 1 this
    is the weights less all but one row of the embedding table.
    """
    spec = model if isinstance(model, ModelSpec) else get_model(_check.text("model", model))
    fmt = format_for_model(get_format(precision), spec)   # as the estimate stores it
    b = _check.integer("batch", batch, minimum=1)

    def nbytes(group: str, n: int) -> int:
        return math.ceil(n * fmt.bits_for(group) / 8)

    groups = spec.param_groups()
    total = sum(nbytes(g, n) for g, n in groups.items() if g != "embedding")
    rows = spec.vocab_size if spec.tie_word_embeddings else min(b, spec.vocab_size)
    total += nbytes("embedding", rows * spec.hidden_size)
    if spec.is_moe:
        skipped = spec.num_experts - min(spec.num_experts, b * spec.experts_per_token)
        expert = 3 * spec.hidden_size * spec.moe_intermediate_size
        total -= spec.moe_layers * skipped * nbytes("mlp", expert)
    return total


def bytes_read_per_step(model: "ModelSpec | Estimate | str", *, precision=None, context=None,
                        batch: "int | None" = None, kv_dtype: "str | None" = None) -> dict[str, int]:
    r"""Bytes one decode step reads, by part: ``{"weights": W_read, "kv_cache": M_KV(T, B), "total": …}``.

    ``model`` is a :class:`~vramlib.models.ModelSpec`, a catalogue name (then ``precision`` and
    ``context`` are required) or an :class:`~vramlib.estimate.Estimate` (its precision, context,
    batch and KV dtype are used; arguments given must agree with them). ``context`` is the tokens
    already cached per sequence; 0 reads no cache.
    """
    spec, fmt, t, b, kv = _inputs(model, precision, context, batch, kv_dtype)
    weights = weights_read_bytes(spec, fmt, batch=b)
    cache = kv_cache_bytes(spec, tokens=t, batch=b, dtype=kv)
    return {"weights": weights, "kv_cache": cache, "total": weights + cache}


def decode_step_seconds_bound(model: "ModelSpec | Estimate | str", gpu: "GPU | str", *, precision=None,
                              context=None, batch: "int | None" = None, n_gpus: int = 1,
                              kv_dtype: "str | None" = None) -> float:
    r"""The shortest a decode step can take: bytes read / (``n_gpus`` × bandwidth), in seconds."""
    g = get_gpu(gpu)
    n = _check.integer("n_gpus", n_gpus, minimum=1)
    total = bytes_read_per_step(model, precision=precision, context=context, batch=batch,
                                kv_dtype=kv_dtype)["total"]
    return total / (n * g.bandwidth_bytes_per_s)


def decode_tokens_per_s_bound(model: "ModelSpec | Estimate | str", gpu: "GPU | str", *, precision=None,
                              context=None, batch: "int | None" = None, n_gpus: int = 1,
                              kv_dtype: "str | None" = None) -> float:
    r"""Upper bound on generated tokens per second, summed over the batch:

    .. math::  \text{tokens/s} \le \frac{B \cdot n \cdot \beta}{W_\text{read} + M_{KV}(T, B)}

    Divide by ``batch`` for one sequence's speed. ``gpu`` is a catalogue name or a
    :class:`~vramlib.gpus.GPU`; ``n_gpus`` GPUs stream their shares in parallel (tensor parallelism,
    communication ignored, so still an upper bound). See the module notes for what is counted.
    """
    _, _, _, b, _ = _inputs(model, precision, context, batch, kv_dtype)
    return b / decode_step_seconds_bound(model, gpu, precision=precision, context=context, batch=batch,
                                         n_gpus=n_gpus, kv_dtype=kv_dtype)
