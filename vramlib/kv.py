r"""The KV cache: bytes kept per token of context, exactly.

Each attention layer caches, for every token it can still attend to, one key row and one value row
of :math:`n_{kv} \cdot d_h` elements each. With :math:`b` bytes per element, :math:`B` sequences and
:math:`T` tokens of context, a model whose :math:`L` layers all attend to the full context holds

.. math::  M_{KV} = 2 \cdot L \cdot n_{kv} \cdot d_h \cdot b \cdot T \cdot B.

Two variants change the per-layer terms:

* **Sliding window** (Mistral 7B v0.1, Gemma 2/3's local layers, Phi-3): a layer that attends only to
  the last :math:`W` tokens keeps :math:`\min(T, W)` of them. This counts the window the next
  token's attention reads in full (the :math:`W - 1` previous tokens plus its own), which is what a
  server that allocates a window per sequence reserves. transformers' ``DynamicSlidingWindowLayer``
  trims to :math:`W - 1` between steps and concatenates the new token during the step, so once
  :math:`T \ge W` its resting cache is one token per sliding layer smaller than this figure.
* **Multi-head latent attention** (DeepSeek-V3): K and V are rebuilt from a compressed latent, so a
  layer caches one row of :math:`r_{kv} + d_{rope}` elements per token (the normalised latent and the
  shared rotary key), no V row: :math:`M = L (r_{kv} + d_{rope}) b T B` (576 elements per token per
  layer for DeepSeek-V3). transformers 5.x caches exactly this latent; its 4.x releases, and
  implementations without an MLA kernel, expanded it and cached full per-head K and V:
  :math:`n_h (d_{nope} + d_{rope})` and :math:`n_h d_v` elements, 40,960 per token per layer for
  DeepSeek-V3, 71 times more. ``mla_expanded=True`` gives that figure.

Falcon caveat: the spec's ``num_key_value_heads`` is the number of K/V heads Falcon computes (1 for
multi-query 7B, ``num_kv_heads`` for the new decoder architecture of 40B/180B). transformers'
Falcon broadcasts the new architecture's K/V to all :math:`n_h` heads before caching, so its cache
for those models is :math:`n_h / n_{kv}` times this figure; a server with grouped-query kernels
(vLLM, llama.cpp) caches :math:`n_{kv}` heads, as here.

Bytes per row come from :meth:`vramlib.precisions.Precision.bytes_for`, so block types are exact:
a 128-element q8_0 row is 4 blocks of 34 bytes.
"""
from __future__ import annotations

from . import _check
from .models import ModelSpec
from .precisions import Precision, get_precision


def _spec(spec: object) -> ModelSpec:
    if not isinstance(spec, ModelSpec):
        raise TypeError(f"spec must be a ModelSpec (from ModelSpec.from_hf_config or get_model), "
                        f"got {type(spec).__name__}")
    return spec


def kv_row_elements(spec: ModelSpec, *, mla_expanded: bool = False) -> tuple[int, int]:
    r"""Elements of the (key row, value row) one layer caches per token.

    Ordinary attention: :math:`(n_{kv} d_h, n_{kv} d_h)`. MLA: :math:`(r_{kv} + d_{rope}, 0)`, one
    latent row; expanded: :math:`(n_h (d_{nope} + d_{rope}), n_h d_v)`. ``mla_expanded`` has no
    effect on models without MLA.
    """
    spec = _spec(spec)
    if spec.uses_mla:
        if mla_expanded:
            heads = spec.num_attention_heads
            return heads * (spec.qk_nope_head_dim + spec.qk_rope_head_dim), heads * spec.v_head_dim
        return spec.kv_lora_rank + spec.qk_rope_head_dim, 0
    row = spec.num_key_value_heads * spec.head_dim
    return row, row


def _token_bytes(spec: ModelSpec, precision: Precision, mla_expanded: bool) -> int:
    """Bytes one layer adds per cached token: a key row plus a value row, each in whole blocks."""
    k, v = kv_row_elements(spec, mla_expanded=mla_expanded)
    return precision.bytes_for(k) + precision.bytes_for(v)


def kv_cache_bytes_per_layer(spec: ModelSpec, *, tokens: int, batch: int = 1,
                             dtype: "str | int | Precision" = "bf16",
                             mla_expanded: bool = False) -> list[int]:
    r"""KV-cache bytes of each layer, in layer order: :math:`\text{kept}_\ell \cdot \text{row bytes}
    \cdot B`, where a full-attention layer keeps :math:`T` tokens and a sliding layer
    :math:`\min(T, W)`. ``tokens`` may be 0 (an empty cache: 0 bytes)."""
    spec = _spec(spec)
    t = _check.integer("tokens", tokens, minimum=0)
    b = _check.integer("batch", batch, minimum=1)
    per_token = _token_bytes(spec, get_precision(dtype), mla_expanded)
    window = spec.sliding_window
    return [(min(t, window) if kind == "sliding_attention" else t) * per_token * b
            for kind in spec.layer_types]


def kv_cache_bytes(spec: ModelSpec, *, tokens: int, batch: int = 1,
                   dtype: "str | int | Precision" = "bf16", mla_expanded: bool = False) -> int:
    r"""Bytes of the KV cache for ``tokens`` tokens of context in each of ``batch`` sequences.

    .. math::  M_{KV} = B \sum_{\ell=1}^{L} \text{kept}_\ell(T)\,
               \bigl(\text{bytes}(k_\text{row}) + \text{bytes}(v_\text{row})\bigr)

    with :math:`\text{kept}_\ell(T) = T` for full attention and :math:`\min(T, W)` for a sliding
    window of :math:`W` (see the module notes for what transformers keeps). ``dtype`` is the cache's
    element type (``"bf16"``, ``"fp8"``, ``"q8_0"``...). For DeepSeek-V3, the latent is counted;
    ``mla_expanded=True`` counts per-head K and V instead.

    >>> from vramlib.models import ModelSpec
    >>> spec = ModelSpec("llama", 128256, 4096, 32, 32, 8, 128, 14336)
    >>> kv_cache_bytes(spec, tokens=8192)  # 2 * 32 layers * 8 * 128 * 2 bytes * 8192
    1073741824
    """
    return sum(kv_cache_bytes_per_layer(spec, tokens=tokens, batch=batch, dtype=dtype,
                                        mla_expanded=mla_expanded))


def kv_bytes_per_token(spec: ModelSpec, dtype: "str | int | Precision" = "bf16", *,
                       mla_expanded: bool = False) -> int:
    r"""Bytes one more token adds to one sequence's cache while every window is still filling:
    :math:`\sum_\ell (\text{bytes}(k_\text{row}) + \text{bytes}(v_\text{row}))`, for
    llama-style models :math:`2 L n_{kv} d_h b` (131,072 bytes for Llama 3.1 8B in bf16).
    Past a sliding window, its layers stop growing: use :func:`kv_cache_bytes` for long contexts."""
    spec = _spec(spec)
    return spec.num_hidden_layers * _token_bytes(spec, get_precision(dtype), mla_expanded)
