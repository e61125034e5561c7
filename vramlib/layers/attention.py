r"""Attention mixers: keys and values cached per token.

:class:`Attention` covers multi-head, grouped-query and multi-query attention. Per token of context
it caches a key row and a value row of :math:`n_{kv} d_h` elements each, for as many tokens as the
layer can still attend to:

.. math::  \text{kept}(T) = \begin{cases} T & \text{full attention} \\
           \min(T, W) & \text{a sliding window of } W \text{ tokens} \\
           \min(T, C) & \text{chunked attention, chunks of } C \text{ tokens} \end{cases}

A layer that reuses an earlier layer's keys and values (``shares_kv``) caches nothing itself.

vramlib counts :math:`\min(T, W)`, the span the next token reads, which is what an
engine that reserves a window per sequence sets aside. transformers 5.24's
``DynamicSlidingWindowLayer`` (used for sliding *and* chunked layers) keeps tensors of
the last :math:`W - 1` (or :math:`C - 1`) tokens, but they are views into the step's
concatenation of the old and new tokens: after a decoding step the memory they hold is
:math:`\min(T, W)` tokens, vramlib's figure, and right after a prefill it is the whole
prompt, :math:`T`, until the next step.

:class:`LatentAttention` is DeepSeek-V3's multi-head latent attention: one row of
:math:`r_{kv} + d_{rope}` elements per token (the compressed latent and the shared rotary key).
With DeepSeek Sparse Attention's lightning indexer (DeepSeek-V3.2, GLM-5) it also caches
one indexer key of :math:`d_I` elements per token.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import _check
from ..precisions import Precision
from .base import Linear

SPANS = ("full", "sliding", "chunked")
QK_NORMS = ("none", "head", "full")
_LAYER_TYPE = {
    "full": "full_attention",
    "sliding": "sliding_attention",
    "chunked": "chunked_attention",
}


@dataclass(frozen=True)
class Attention:
    r"""Softmax attention with :math:`n_h` query heads and :math:`n_{kv}` key/value heads of
    :math:`d_h` elements, on a model of hidden size :math:`H`.

    Parameters: q and o are :math:`H n_h d_h` each, k and v :math:`H n_{kv} d_h` each; optional
    biases (``qkv_bias``: :math:`(n_h + 2 n_{kv}) d_h`; ``o_bias``: :math:`H`); q/k norms
    (``qk_norm="head"``: :math:`2 d_h`, one per head size as Qwen3; ``"full"``: over all heads,
    :math:`(n_h + n_{kv}) d_h`, as OLMo 2); ``sinks``: one learned logit per query head (gpt-oss).
    ``output_gate``: q_proj also yields a sigmoid gate on each channel of the
    attention's output (Qwen3-Next, Qwen3.5), so q is :math:`2 H n_h d_h` (its bias
    :math:`2 n_h d_h`).

    Cache per sequence: :math:`\text{kept}(T) \cdot 2 \cdot \text{bytes}(n_{kv} d_h)`.

    ``names`` are transformers' module names: (q, k, v, o), or (qkv, o) for a fused projection.

    Chunked attention (Llama 4, ``span="chunked"``, ``window`` = :math:`C`): a token
    attends only to the earlier tokens of its own chunk of :math:`C`, so the next token
    needs :math:`T \bmod C` of them, at most :math:`C - 1`. vramlib counts
    :math:`\min(T, C)`, the bound, as for a sliding window; transformers' tensors show
    :math:`\min(T, C - 1)` and its memory holds :math:`\min(T, C)` after a decoding step
    (see above); vLLM reserves up to :math:`C` plus the tokens scheduled in one step
    (``ChunkedLocalAttentionSpec`` in
    https://github.com/vllm-project/vllm/blob/main/vllm/v1/kv_cache_interface.py).

    Gemma 4 variants: ``k_eq_v`` (one projection gives both keys and values: no v
    projection, yet keys and values are cached apart, as they are normalised
    differently), and ``kv_proj=False`` (a layer that reads an earlier layer's keys and
    values has no k/v projections and no k norm of its own; it comes with
    ``shares_kv``).
    """

    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    span: str = "full"
    window: int | None = None
    qkv_bias: bool = False
    o_bias: bool = False
    qk_norm: str = "none"
    sinks: bool = False
    shares_kv: bool = False
    names: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    k_eq_v: bool = False
    kv_proj: bool = True
    output_gate: bool = False

    def __post_init__(self) -> None:
        for field in ("hidden", "heads", "kv_heads", "head_dim"):
            _check.integer(field, getattr(self, field), minimum=1)
        if self.heads % self.kv_heads:
            raise ValueError(
                f"attention heads ({self.heads}) must be a multiple of key/value heads "
                f"({self.kv_heads})"
            )
        if self.span not in SPANS:
            raise _check.unknown("span", self.span, SPANS, what="attention span")
        if self.qk_norm not in QK_NORMS:
            raise _check.unknown("qk_norm", self.qk_norm, QK_NORMS, what="qk_norm kind")
        if self.span == "full":
            if self.window is not None:
                raise ValueError(
                    "a full-attention layer has no window; use span='sliding'"
                )
        else:
            _check.integer("window", self.window, minimum=1)
        if len(self.names) not in (2, 4):
            raise ValueError(
                f"names must be (q, k, v, o) or (qkv, o), got {self.names!r}"
            )
        if (self.k_eq_v or not self.kv_proj) and len(self.names) != 4:
            raise ValueError("k_eq_v and kv_proj=False need separate q, k, v, o names")
        if not self.kv_proj and not self.shares_kv:
            raise ValueError(
                "a layer without k/v projections (kv_proj=False) must "
                "reuse another layer's keys and values (shares_kv=True)"
            )

    @property
    def layer_type(self) -> str:
        return _LAYER_TYPE[self.span]

    def kept_tokens(self, tokens: int) -> int:
        """Tokens of one sequence this layer keeps: all, or at most its window or chunk."""
        return tokens if self.window is None else min(tokens, self.window)

    def _kv_matrices(self) -> int:
        """k and v projections the layer holds: 2, 1 (k_eq_v) or 0 (kv_proj=False)."""
        return 0 if not self.kv_proj else 1 if self.k_eq_v else 2

    def params(self) -> dict[str, int]:
        h, q = self.hidden, self.heads * self.head_dim
        kv = self.kv_heads * self.head_dim
        n_kv, k_norm = self._kv_matrices(), int(self.kv_proj)
        norm = {
            "none": 0,
            "head": (1 + k_norm) * self.head_dim,
            "full": q + k_norm * kv,
        }[self.qk_norm]
        q_out = q * (2 if self.output_gate else 1)  # Qwen3-Next's gate rides on q_proj
        return {
            "attention": h * q_out + h * q + n_kv * h * kv,
            "bias": (q_out + n_kv * kv) * self.qkv_bias + h * self.o_bias,
            "norm": norm + self.heads * self.sinks,
        }

    def _row_bytes(self, kv: Precision) -> int:
        return kv.bytes_for(self.kv_heads * self.head_dim)

    def cache_bytes(
        self,
        tokens: int,
        kv: Precision,
        state: Precision,
        *,
        mla_expanded: bool = False,
    ) -> dict[str, int]:
        if self.shares_kv:
            return {}
        row = self.kept_tokens(tokens) * self._row_bytes(kv)
        return {"keys": row, "values": row}

    def bytes_per_token(self, kv: Precision, *, mla_expanded: bool = False) -> int:
        return 0 if self.shares_kv else 2 * self._row_bytes(kv)

    def linears(self) -> tuple[Linear, ...]:
        h, q, kv = (
            self.hidden,
            self.heads * self.head_dim,
            self.kv_heads * self.head_dim,
        )
        q_out = q * (2 if self.output_gate else 1)
        if len(self.names) == 2:
            return (
                Linear(self.names[0], h, q_out + 2 * kv, self.qkv_bias),
                Linear(self.names[1], q, h, self.o_bias),
            )
        qn, kn, vn, on = self.names
        kv_names = (kn, vn)[: self._kv_matrices()]
        return (
            Linear(qn, h, q_out, self.qkv_bias),
            *(Linear(n, h, kv, self.qkv_bias) for n in kv_names),
            Linear(on, q, h, self.o_bias),
        )


@dataclass(frozen=True)
class LatentAttention:
    r"""Multi-head latent attention (DeepSeek-V2/V3): keys and values are rebuilt from a latent.

    Symbols: :math:`r_{kv}` (``kv_lora_rank``), :math:`r_q` (``q_lora_rank``, ``None``
    for a full-rank q projection), :math:`d_{nope}`, :math:`d_{rope}`, :math:`d_v`.
    Parameters: q_a :math:`H r_q` and q_b :math:`r_q n_h (d_{nope} + d_{rope})` (or q
    :math:`H n_h (d_{nope} + d_{rope})`), kv_a :math:`H (r_{kv} + d_{rope})`, kv_b
    :math:`r_{kv} n_h (d_{nope} + d_v)`, o :math:`n_h d_v H`; norms on the q and kv
    latents (:math:`r_q + r_{kv}`).

    Cache per sequence and token: one latent row of :math:`r_{kv} + d_{rope}` elements
    (what transformers 5.x and MLA kernels keep). ``mla_expanded=True`` counts the
    per-head keys and values an implementation without an MLA kernel caches instead:
    :math:`n_h (d_{nope} + d_{rope})` and :math:`n_h d_v` elements.

    **Lightning indexer** (DeepSeek Sparse Attention, DeepSeek-V3.2 and GLM-5): with
    ``index_topk`` :math:`k_I > 0` the layer attends to the :math:`k_I` tokens a small
    indexer picks (transformers' layer type ``"indexed_attention"``). The indexer has
    :math:`n_I` (``index_n_heads``) query heads of :math:`d_I` (``index_head_dim``)
    elements read off the q latent, and one key of :math:`d_I` elements per token:

    * parameters: wq_b :math:`r_q n_I d_I`, wk :math:`H d_I`, weights_proj :math:`H n_I`
      (``attention``), and k_norm, a LayerNorm with weight and bias, :math:`2 d_I`
      (``norm``);
    * cache: the indexer keys, :math:`d_I` elements per token (part ``"indexer_keys"``),
      which transformers 5.24 keeps in the model's dtype, like the latent
      (``DynamicIndexedLayer``).

    So a DSA layer caches :math:`r_{kv} + d_{rope} + d_I` elements per token: 576 + 128
    = 704 for DeepSeek-V3.2. vLLM keeps the indexer keys differently whatever the
    KV-cache dtype: as fp8 values plus one fp32 scale per 128 elements, :math:`d_I + 4
    d_I / 128` bytes (132 for :math:`d_I = 128`; ``Indexer`` and
    ``DeepseekV32IndexerCache`` in vllm/model_executor/models/deepseek_v2.py:
    https://github.com/vllm-project/vllm/blob/main/vllm/model_executor/models/deepseek_v2.py
    A layer with ``index_shared`` (GLM-5's ``indexer_types`` ``"shared"``) reuses the
    previous indexer layer's choice of tokens: it has no indexer of its own, no indexer
    parameters and no indexer keys. :math:`k_I` itself changes neither parameters nor
    cache; it is kept as information (how many tokens each query reads)). The indexer's
    weights_proj is kept in fp32 by transformers (``_keep_in_fp32_modules``).
    """

    hidden: int
    heads: int
    kv_lora_rank: int
    q_lora_rank: int | None
    qk_nope_head_dim: int
    qk_rope_head_dim: int
    v_head_dim: int
    qkv_bias: bool = False
    o_bias: bool = False
    index_topk: int = 0
    index_n_heads: int = 0
    index_head_dim: int = 0
    index_shared: bool = False

    def __post_init__(self) -> None:
        for field in (
            "hidden",
            "heads",
            "kv_lora_rank",
            "qk_nope_head_dim",
            "qk_rope_head_dim",
            "v_head_dim",
        ):
            _check.integer(field, getattr(self, field), minimum=1)
        if self.q_lora_rank is not None:
            _check.integer("q_lora_rank", self.q_lora_rank, minimum=1)
        _check.integer("index_topk", self.index_topk, minimum=0)
        if self.has_indexer:
            for field in ("index_n_heads", "index_head_dim"):
                _check.integer(field, getattr(self, field), minimum=1)
            if self.q_lora_rank is None:
                raise ValueError(
                    "an indexer reads the q latent: q_lora_rank must be set (got None)"
                )
        elif self.index_n_heads or self.index_head_dim:
            raise ValueError(
                "index_n_heads and index_head_dim describe an indexer of "
                "the layer's own; give them only with index_topk > 0 and "
                "index_shared=False"
            )

    @property
    def layer_type(self) -> str:
        return "indexed_attention" if self.index_topk else "full_attention"

    @property
    def has_indexer(self) -> bool:
        """True when the layer runs an indexer of its own (and caches its keys)."""
        return bool(self.index_topk) and not self.index_shared

    @property
    def qk_head_dim(self) -> int:
        return self.qk_nope_head_dim + self.qk_rope_head_dim

    def params(self) -> dict[str, int]:
        return {
            "attention": sum(
                lin.in_features * lin.out_features for lin in self.linears()
            ),
            "bias": (
                (self.q_lora_rank or 0) + self.kv_lora_rank + self.qk_rope_head_dim
            )
            * self.qkv_bias
            + self.hidden * self.o_bias,
            "norm": (self.q_lora_rank or 0)
            + self.kv_lora_rank
            + 2 * self.index_head_dim * self.has_indexer,
        }

    def row_elements(self, mla_expanded: bool = False) -> tuple[int, int]:
        """Elements cached per token: (latent, 0), or expanded (key row, value row)."""
        if mla_expanded:
            return self.heads * self.qk_head_dim, self.heads * self.v_head_dim
        return self.kv_lora_rank + self.qk_rope_head_dim, 0

    def cache_bytes(
        self,
        tokens: int,
        kv: Precision,
        state: Precision,
        *,
        mla_expanded: bool = False,
    ) -> dict[str, int]:
        k, v = self.row_elements(mla_expanded)
        if mla_expanded:
            parts = {
                "keys": tokens * kv.bytes_for(k),
                "values": tokens * kv.bytes_for(v),
            }
        else:
            parts = {"latent": tokens * kv.bytes_for(k)}
        if self.has_indexer:
            parts["indexer_keys"] = tokens * kv.bytes_for(self.index_head_dim)
        return parts

    def bytes_per_token(self, kv: Precision, *, mla_expanded: bool = False) -> int:
        k, v = self.row_elements(mla_expanded)
        indexer = kv.bytes_for(self.index_head_dim) if self.has_indexer else 0
        return kv.bytes_for(k) + kv.bytes_for(v) + indexer

    def linears(self) -> tuple[Linear, ...]:
        h, n, r = self.hidden, self.heads, self.q_lora_rank
        if r is None:
            q: tuple[Linear, ...] = (Linear("q_proj", h, n * self.qk_head_dim),)
        else:
            q = (
                Linear("q_a_proj", h, r, self.qkv_bias),
                Linear("q_b_proj", r, n * self.qk_head_dim),
            )
        out = q + (
            Linear(
                "kv_a_proj_with_mqa",
                h,
                self.kv_lora_rank + self.qk_rope_head_dim,
                self.qkv_bias,
            ),
            Linear(
                "kv_b_proj",
                self.kv_lora_rank,
                n * (self.qk_nope_head_dim + self.v_head_dim),
            ),
            Linear("o_proj", n * self.v_head_dim, h, self.o_bias),
        )
        if self.has_indexer:
            d, heads = self.index_head_dim, self.index_n_heads
            out += (
                Linear("wq_b", r or 0, heads * d, parent="indexer"),
                Linear("wk", h, d, parent="indexer"),
                Linear("weights_proj", h, heads, parent="indexer"),
            )
        return out
