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


def _dtypes(dtype: object, state_dtype: object) -> tuple[Precision, Precision]:
    """The cache's element type, and the states' (their own if given, else the cache's when it is
    a 16- or 32-bit float, else bf16: engines do not quantize recurrent states with the KV cache)."""
    kv = get_precision(dtype)
    if state_dtype is not None:
        return kv, get_precision(state_dtype)
    if kv.name in ("fp32", "tf32", "fp16", "bf16"):
        return kv, kv
    return kv, get_precision("bf16")


def cache_bytes_per_layer(spec: ModelSpec, *, tokens: int, batch: int = 1,
                          dtype: "str | int | Precision" = "bf16",
                          state_dtype: "str | int | Precision | None" = None,
                          mla_expanded: bool = False) -> list[dict[str, int]]:
    r"""What each layer keeps for ``batch`` sequences of ``tokens`` tokens, by part, in layer order.

    Parts that grow with the context: ``keys`` and ``values`` (attention), ``latent`` (MLA),
    ``indexer_keys`` (a sparse-attention indexer). Parts held per sequence whatever its length:
    ``conv_state`` and ``recurrent_state`` (linear attention, state-space and convolution layers),
    in ``state_dtype``. A layer that keeps nothing (one that reuses another layer's keys and
    values) has an empty dict.
    """
    spec = _spec(spec)
    t = _check.integer("tokens", tokens, minimum=0)
    b = _check.integer("batch", batch, minimum=1)
    if not isinstance(mla_expanded, bool):
        raise TypeError(f"mla_expanded must be True or False, got {mla_expanded!r}")
    kv, state = _dtypes(dtype, state_dtype)
    seen: dict[int, dict[str, int]] = {}
    out = []
    for layer in spec.layers:
        mixer = layer.mixer
        if id(mixer) not in seen:
            parts = mixer.cache_bytes(t, kv, state, mla_expanded=mla_expanded)
            seen[id(mixer)] = {k: v * b for k, v in parts.items()}
        out.append(dict(seen[id(mixer)]))
    return out


def kv_cache_bytes_per_layer(spec: ModelSpec, *, tokens: int, batch: int = 1,
                             dtype: "str | int | Precision" = "bf16",
                             state_dtype: "str | int | Precision | None" = None,
                             mla_expanded: bool = False) -> list[int]:
    r"""Bytes each layer keeps, in layer order: the sum of its parts in
    :func:`cache_bytes_per_layer`. For attention, :math:`\text{kept}_\ell \cdot \text{row bytes}
    \cdot B`, where a full-attention layer keeps :math:`T` tokens and a sliding layer
    :math:`\min(T, W)`. ``tokens`` may be 0 (an empty cache: 0 bytes, states aside)."""
    return [sum(parts.values()) for parts in cache_bytes_per_layer(
        spec, tokens=tokens, batch=batch, dtype=dtype, state_dtype=state_dtype,
        mla_expanded=mla_expanded)]


def cache_breakdown(spec: ModelSpec, *, tokens: int, batch: int = 1,
                    dtype: "str | int | Precision" = "bf16",
                    state_dtype: "str | int | Precision | None" = None,
                    mla_expanded: bool = False) -> dict[str, dict[str, int]]:
    """The cache by kind of layer and part: ``{layer_type: {part: bytes}}``, summed over layers.

    >>> from vramlib.models import ModelSpec
    >>> spec = ModelSpec("llama", 128256, 4096, 32, 32, 8, 128, 14336)
    >>> cache_breakdown(spec, tokens=1024)
    {'full_attention': {'keys': 67108864, 'values': 67108864}}
    """
    out: dict[str, dict[str, int]] = {}
    per_layer = cache_bytes_per_layer(spec, tokens=tokens, batch=batch, dtype=dtype,
                                      state_dtype=state_dtype, mla_expanded=mla_expanded)
    for layer, parts in zip(spec.layers, per_layer):
        kind = out.setdefault(layer.layer_type, {})
        for part, n in parts.items():
            kind[part] = kind.get(part, 0) + n
    return out


def kv_cache_bytes(spec: ModelSpec, *, tokens: int, batch: int = 1,
                   dtype: "str | int | Precision" = "bf16",
                   state_dtype: "str | int | Precision | None" = None,
                   mla_expanded: bool = False) -> int:
    r"""Bytes a model keeps for ``batch`` sequences of ``tokens`` tokens: its whole cache.

    .. math::  M = B \sum_{\ell=1}^{L} \Bigl(\text{kept}_\ell(T)\,\text{bytes per token}_\ell
               + \text{state bytes}_\ell\Bigr)

    with :math:`\text{kept}_\ell(T) = T` for full attention and :math:`\min(T, W)` for a sliding
    window of :math:`W` (see the module notes for what transformers keeps), and the state bytes
    of linear-attention, state-space and convolution layers, which do not grow with :math:`T`.
    ``dtype`` is the KV cache's element type (``"bf16"``, ``"fp8"``, ``"q8_0"``...),
    ``state_dtype`` the states' (default: see :func:`cache_bytes_per_layer`). For DeepSeek-V3 the
    latent is counted; ``mla_expanded=True`` counts per-head K and V instead.

    >>> from vramlib.models import ModelSpec
    >>> spec = ModelSpec("llama", 128256, 4096, 32, 32, 8, 128, 14336)
    >>> kv_cache_bytes(spec, tokens=8192)  # 2 * 32 layers * 8 * 128 * 2 bytes * 8192
    1073741824
    """
    return sum(kv_cache_bytes_per_layer(spec, tokens=tokens, batch=batch, dtype=dtype,
                                        state_dtype=state_dtype, mla_expanded=mla_expanded))


def state_bytes_per_sequence(spec: ModelSpec, dtype: "str | int | Precision" = "bf16",
                             state_dtype: "str | int | Precision | None" = None) -> int:
    """Bytes one sequence keeps whatever its length: the convolution and recurrent states of
    every layer that has them (0 for a model of attention layers only)."""
    return kv_cache_bytes(spec, tokens=0, dtype=dtype, state_dtype=state_dtype)


def kv_bytes_per_token(spec: ModelSpec, dtype: "str | int | Precision" = "bf16", *,
                       mla_expanded: bool = False) -> int:
    r"""Bytes one more token adds to one sequence's cache while every window is still filling:
    :math:`\sum_\ell (\text{bytes}(k_\text{row}) + \text{bytes}(v_\text{row}))`, for
    llama-style models :math:`2 L n_{kv} d_h b` (131,072 bytes for Llama 3.1 8B in bf16).
    Layers without a per-token cache add nothing. Past a sliding window, its layers stop growing:
    use :func:`kv_cache_bytes` for long contexts."""
    spec = _spec(spec)
    if not isinstance(mla_expanded, bool):
        raise TypeError(f"mla_expanded must be True or False, got {mla_expanded!r}")
    kv = get_precision(dtype)
    per_mixer: dict[int, int] = {}
    total = 0
    for layer in spec.layers:
        m = layer.mixer
        if id(m) not in per_mixer:
            per_mixer[id(m)] = m.bytes_per_token(kv, mla_expanded=mla_expanded)
        total += per_mixer[id(m)]
    return total


def cache_by_mixer(spec: ModelSpec, *, tokens: int, batch: int = 1,
                   dtype: "str | int | Precision" = "bf16",
                   state_dtype: "str | int | Precision | None" = None
                   ) -> dict[str, dict[str, int]]:
    """What the model keeps, by kind of token mixer in the book's words
    (:func:`vramlib.layers.mixer_label`): for each kind, ``layers`` (how many),
    ``per_token`` (bytes one more token adds to one sequence while windows fill),
    ``per_sequence`` (state bytes held whatever the length) and ``total`` (the whole cache of
    that kind for ``batch`` sequences of ``tokens`` tokens).

    >>> from vramlib.models import ModelSpec
    >>> spec = ModelSpec("llama", 128256, 4096, 32, 32, 8, 128, 14336)
    >>> cache_by_mixer(spec, tokens=1024)["full attention"]["per_token"]
    131072
    """
    from .layers import mixer_label
    spec = _spec(spec)
    kv, state = _dtypes(dtype, state_dtype)
    per_layer = cache_bytes_per_layer(spec, tokens=tokens, batch=batch, dtype=dtype,
                                      state_dtype=state_dtype)
    out: dict[str, dict[str, int]] = {}
    for layer, parts in zip(spec.layers, per_layer):
        m = layer.mixer
        row = out.setdefault(mixer_label(m), dict(layers=0, per_token=0, per_sequence=0,
                                                  total=0))
        row["layers"] += 1
        row["per_token"] += m.bytes_per_token(kv)
        row["per_sequence"] += sum(m.cache_bytes(0, kv, state).values())
        row["total"] += sum(parts.values())
    return out
