r"""Linear-attention mixers: a fixed-size state per sequence, no per-token cache.

A linear-attention layer folds the whole context into a matrix per head, the **recurrent
state** (:math:`d_k \times d_v` elements), updated token by token with the delta rule.
Before that, its queries, keys and values pass through a depthwise causal convolution of
:math:`K` taps, whose last inputs are the **conv state**. Neither grows with the
context: a sequence of 10 tokens and one of a million keep the same bytes.

Two kinds, in transformers' naming:

* :class:`GatedDeltaNet`: Qwen3-Next and Qwen3.5 (``linear_attn``), gated DeltaNet with
  :math:`n_k` key heads and :math:`n_v \ge n_k` value heads, one decay per value head.
* :class:`KimiDeltaAttention`: Kimi Linear's KDA, :math:`n` heads of :math:`d` for
  queries, keys and values alike, a decay per channel from a low-rank forget gate.

What transformers 5.24 keeps per layer and sequence (``LinearAttentionLayer`` in
``cache_utils.py``): a conv state of :math:`K` columns (the last :math:`K` convolution
inputs) in the model's dtype, and a recurrent state in **fp32 whatever the model's
dtype** (its delta-rule code computes in fp32 and the cache copies that result). Engines
differ on the conv state: llama.cpp keeps :math:`K - 1` columns
(``llama_hparams::n_embd_r`` in
https://github.com/ggml-org/llama.cpp/blob/master/src/llama-hparams.cpp), because the
oldest column is shifted out before it is used. The figures here are transformers':
:math:`K` columns; an engine's conv state is :math:`(K-1)/K` of that. Both parts are
computed in the ``state`` precision the caller passes; to match transformers on a bf16
model, ask for bf16 conv states and fp32 recurrent states (two calls, one part from
each).
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import _check
from ..precisions import Precision
from .base import Linear

QWEN3_NEXT_NAMES = ("in_proj_qkvz", "in_proj_ba", "out_proj")
QWEN3_5_NAMES = ("in_proj_qkv", "in_proj_z", "in_proj_b", "in_proj_a", "out_proj")


@dataclass(frozen=True)
class GatedDeltaNet:
    r"""Gated DeltaNet (Qwen3-Next, Qwen3.5) on hidden size :math:`H`: :math:`n_k` key
    heads of :math:`d_k`, :math:`n_v` value heads of :math:`d_v` (:math:`n_v` a multiple
    of :math:`n_k`), a causal convolution of :math:`K` taps.

    With :math:`D_k = n_k d_k`, :math:`D_v = n_v d_v` and the convolved channels
    :math:`C = 2 D_k + D_v` (queries, keys, values), the parameters are

    * projections (``attention``): in :math:`H (2 D_k + 2 D_v)` (q, k, v and the output
      gate z) plus :math:`2 H n_v` (the per-head write strength b and decay input a),
      out :math:`D_v H`;
    * small vectors (``norm``): the depthwise convolution :math:`C K` (no bias),
      ``dt_bias`` and ``A_log`` :math:`n_v` each, the gated RMS norm on each value head
      :math:`d_v`.

    State per sequence: conv :math:`C K` elements, recurrent :math:`n_v d_k d_v`
    elements; no per-token cache. Qwen3-Next-80B-A3B (:math:`n_k = 16`,
    :math:`n_v = 32`, :math:`d_k = d_v = 128`, :math:`K = 4`; its config.json,
    https://huggingface.co/Qwen/Qwen3-Next-80B-A3B-Thinking/blob/main/config.json):
    :math:`C = 8192`, so 32,768 conv elements and 524,288 recurrent elements per layer.

    ``names``: transformers' module names, Qwen3-Next's fused (``in_proj_qkvz``,
    ``in_proj_ba``, ``out_proj``) or Qwen3.5's split (``in_proj_qkv``, ``in_proj_z``,
    ``in_proj_b``, ``in_proj_a``, ``out_proj``). See the module notes for what
    transformers keeps and in which dtype.
    """

    hidden: int
    key_heads: int
    value_heads: int
    key_head_dim: int
    value_head_dim: int
    conv_kernel: int
    names: tuple[str, ...] = QWEN3_NEXT_NAMES

    layer_type = "linear_attention"

    def __post_init__(self) -> None:
        for field in (
            "hidden",
            "key_heads",
            "value_heads",
            "key_head_dim",
            "value_head_dim",
            "conv_kernel",
        ):
            _check.integer(field, getattr(self, field), minimum=1)
        if self.value_heads % self.key_heads:
            raise ValueError(
                f"value heads ({self.value_heads}) must be a multiple of key heads "
                f"({self.key_heads})"
            )
        if tuple(self.names) not in (QWEN3_NEXT_NAMES, QWEN3_5_NAMES):
            raise ValueError(
                f"names must be {QWEN3_NEXT_NAMES!r} or {QWEN3_5_NAMES!r}, "
                f"got {self.names!r}"
            )

    @property
    def conv_channels(self) -> int:
        """Channels the convolution runs over: :math:`C = 2 n_k d_k + n_v d_v`."""
        return (
            2 * self.key_heads * self.key_head_dim
            + self.value_heads * self.value_head_dim
        )

    @property
    def recurrent_elements(self) -> int:
        """Elements of one sequence's recurrent state: :math:`n_v d_k d_v`."""
        return self.value_heads * self.key_head_dim * self.value_head_dim

    def params(self) -> dict[str, int]:
        vectors = (
            self.conv_channels * self.conv_kernel
            + 2 * self.value_heads
            + self.value_head_dim
        )
        return {"attention": sum(lin.params for lin in self.linears()), "norm": vectors}

    def cache_bytes(
        self,
        tokens: int,
        kv: Precision,
        state: Precision,
        *,
        mla_expanded: bool = False,
    ) -> dict[str, int]:
        return {
            "conv_state": state.bytes_for(self.conv_channels * self.conv_kernel),
            "recurrent_state": state.bytes_for(self.recurrent_elements),
        }

    def bytes_per_token(self, kv: Precision, *, mla_expanded: bool = False) -> int:
        return 0

    def linears(self) -> tuple[Linear, ...]:
        h = self.hidden
        dk = self.key_heads * self.key_head_dim
        dv = self.value_heads * self.value_head_dim
        n = self.value_heads
        if len(self.names) == 3:
            into = ((self.names[0], 2 * dk + 2 * dv), (self.names[1], 2 * n))
        else:
            into = tuple(zip(self.names[:4], (2 * dk + dv, dv, n, n)))
        return tuple(Linear(name, h, out, kind="mixer") for name, out in into) + (
            Linear(self.names[-1], dv, h, kind="mixer"),
        )


#: Kimi Delta Attention keeps its forget gate's two projections in a submodule
_KIMI_PARENT = {"f_a_proj": "forget_gate", "f_b_proj": "forget_gate"}


@dataclass(frozen=True)
class KimiDeltaAttention:
    r"""Kimi Delta Attention (Kimi Linear) on hidden size :math:`H`: :math:`n` heads of
    :math:`d` for queries, keys and values, a causal convolution of :math:`K` taps.

    With :math:`D = n d`, the parameters are

    * projections (``attention``): q, k, v and o, :math:`4 H D`; the write strength b
      :math:`H n`; the low-rank forget gate f (:math:`H d + d D`) and output gate g
      (:math:`H d + d D`);
    * small vectors (``norm``): the depthwise convolution over q, k and v :math:`3 D K`
      (no bias), the forget gate's ``dt_bias`` :math:`D` and ``A_log`` :math:`n`, the
      gated RMS norm on each head :math:`d`.

    State per sequence: conv :math:`3 D K` elements, recurrent :math:`n d^2` elements
    (one :math:`d \times d` matrix per head); no per-token cache. Kimi-Linear-48B-A3B
    (:math:`n = 32`, :math:`d = 128`, :math:`K = 4` in the ``linear_attn_config`` of
    the config.json at https://huggingface.co/moonshotai/Kimi-Linear-48B-A3B-Instruct):
    49,152 conv elements and 524,288 recurrent elements per layer. transformers casts
    the recurrent state to fp32 before caching it; see the module notes.
    """

    hidden: int
    heads: int
    head_dim: int
    conv_kernel: int

    layer_type = "linear_attention"

    def __post_init__(self) -> None:
        for field in ("hidden", "heads", "head_dim", "conv_kernel"):
            _check.integer(field, getattr(self, field), minimum=1)

    @property
    def conv_channels(self) -> int:
        """Channels the convolution runs over: :math:`3 n d` (queries, keys, values)."""
        return 3 * self.heads * self.head_dim

    @property
    def recurrent_elements(self) -> int:
        """Elements of one sequence's recurrent state: :math:`n d^2`."""
        return self.heads * self.head_dim * self.head_dim

    def params(self) -> dict[str, int]:
        d, n = self.head_dim, self.heads
        vectors = self.conv_channels * self.conv_kernel + n * d + n + d
        return {"attention": sum(lin.params for lin in self.linears()), "norm": vectors}

    def cache_bytes(
        self,
        tokens: int,
        kv: Precision,
        state: Precision,
        *,
        mla_expanded: bool = False,
    ) -> dict[str, int]:
        return {
            "conv_state": state.bytes_for(self.conv_channels * self.conv_kernel),
            "recurrent_state": state.bytes_for(self.recurrent_elements),
        }

    def bytes_per_token(self, kv: Precision, *, mla_expanded: bool = False) -> int:
        return 0

    def linears(self) -> tuple[Linear, ...]:
        h, d, n = self.hidden, self.head_dim, self.heads
        inner = n * d
        shapes = (
            ("q_proj", h, inner),
            ("k_proj", h, inner),
            ("v_proj", h, inner),
            ("b_proj", h, n),
            ("f_a_proj", h, d),
            ("f_b_proj", d, inner),
            ("g_a_proj", h, d),
            ("g_b_proj", d, inner),
            ("o_proj", inner, h),
        )
        return tuple(
            Linear(name, i, o, kind="mixer", parent=_KIMI_PARENT.get(name, ""))
            for name, i, o in shapes
        )
