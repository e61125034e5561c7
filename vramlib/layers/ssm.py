r"""State-space mixers (Mamba-1, Mamba-2), the parallel attention + Mamba-2 mixer of
Falcon-H1, and the empty mixer of Nemotron-H's MLP-only layers.

A state-space layer reads the context through a depthwise causal convolution of
:math:`K` taps and a selective scan, so for each sequence it keeps two things whatever
the context length:

* the **conv state**: the last :math:`K` inputs of the convolution, over its :math:`C`
  channels;
* the **SSM state** (``recurrent_state``): for Mamba-2, :math:`n_h` heads of
  :math:`P \times N` (head size times state size); for Mamba-1, :math:`d_{in} \times N`.

Nothing grows with the context, so such a layer adds no bytes per token.

What transformers 5.24 keeps (``LinearAttentionLayer`` in ``cache_utils.py``, created
lazily at the first forward pass): a conv state of :math:`K` columns in the **model's
dtype**, and an SSM state in **fp32 whatever the model's dtype**: its PyTorch scans
compute in fp32 and the cache allocates ``zeros_like`` that result. Engines keep
:math:`K - 1` conv columns, since the oldest column is shifted out before it is read
(llama.cpp's ``llama_hparams::n_embd_r``: :math:`(K - 1)(d_{in} + 2 G N)`, in
https://github.com/ggml-org/llama.cpp/blob/master/src/llama-hparams.cpp). The figures
here are transformers': :math:`K` columns, so an engine's conv state is
:math:`(K - 1)/K` of this one. Both parts are computed in the ``state`` precision the
caller passes; to reproduce transformers on a bf16 model, take the conv state at bf16
and the SSM state at fp32.

Papers: Mamba, Gu and Dao 2023, https://arxiv.org/abs/2312.00752; Mamba-2 (state-space
duality), Dao and Gu 2024, https://arxiv.org/abs/2405.21060.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .. import _check
from ..precisions import Precision
from .base import Linear, add


def _flags(obj: object, *names: str) -> None:
    for name in names:
        if not isinstance(getattr(obj, name), bool):
            raise TypeError(f"{name} must be True or False, got {getattr(obj, name)!r}")


@dataclass(frozen=True)
class Mamba2:
    r"""A Mamba-2 mixer on hidden size :math:`H`: :math:`n_h` heads of :math:`P`
    channels (:math:`d_{in} = n_h P`), :math:`G` groups of B and C of state size
    :math:`N`, a causal convolution of :math:`K` taps over :math:`C = d_{in} + 2 G N`
    channels (x, B and C).

    Parameters (``attention``): ``in_proj`` :math:`H (2 d_{in} + 2 G N + n_h)` (the gate
    z, the convolved x, B, C, and one step size per head), ``out_proj``
    :math:`d_{in} H`. Small vectors (``norm``): the convolution :math:`C K` (and its
    :math:`C` biases with ``conv_bias``), ``dt_bias``, ``A_log`` and ``D`` (:math:`n_h`
    each), the gated RMS norm :math:`d_{in}` (``gated_norm``; Falcon-H1 may leave it
    out). Biases (``bias``): ``in_bias`` on in_proj, ``out_bias`` :math:`H` on out_proj.

    State per sequence: conv :math:`C K` elements, SSM :math:`n_h P N` elements; nothing
    per token. Nemotron-H-56B (:math:`n_h = 256`, :math:`P = 64`, :math:`G = 8`,
    :math:`N = 256`, :math:`K = 4`; its config.json,
    https://huggingface.co/nvidia/Nemotron-H-56B-Base-8K/blob/main/config.json):
    :math:`C = 20480`, so 81,920 conv and 4,194,304 SSM elements per Mamba layer. See
    the module notes for what transformers keeps and in which dtype.
    """

    hidden: int
    heads: int
    head_dim: int
    state_size: int
    groups: int
    conv_kernel: int
    in_bias: bool = False
    out_bias: bool = False
    conv_bias: bool = True
    gated_norm: bool = True

    layer_type = "linear_attention"

    def __post_init__(self) -> None:
        for field in (
            "hidden",
            "heads",
            "head_dim",
            "state_size",
            "groups",
            "conv_kernel",
        ):
            _check.integer(field, getattr(self, field), minimum=1)
        _flags(self, "in_bias", "out_bias", "conv_bias", "gated_norm")

    @property
    def inner(self) -> int:
        r""":math:`d_{in} = n_h P`."""
        return self.heads * self.head_dim

    @property
    def conv_channels(self) -> int:
        r""":math:`C = d_{in} + 2 G N`: the channels of the convolution (and state)."""
        return self.inner + 2 * self.groups * self.state_size

    @property
    def in_features(self) -> int:
        r"""Width of in_proj's output: :math:`2 d_{in} + 2 G N + n_h`."""
        return self.inner + self.conv_channels + self.heads

    def params(self) -> dict[str, int]:
        h, c = self.hidden, self.conv_channels
        return {
            "attention": h * self.in_features + self.inner * h,
            "bias": self.in_features * self.in_bias + h * self.out_bias,
            "norm": c * self.conv_kernel
            + c * self.conv_bias
            + 3 * self.heads
            + self.inner * self.gated_norm,
        }

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
            "recurrent_state": state.bytes_for(
                self.heads * self.head_dim * self.state_size
            ),
        }

    def bytes_per_token(self, kv: Precision, *, mla_expanded: bool = False) -> int:
        return 0

    def linears(self) -> tuple[Linear, ...]:
        return (
            Linear(
                "in_proj", self.hidden, self.in_features, self.in_bias, kind="mixer"
            ),
            Linear("out_proj", self.inner, self.hidden, self.out_bias, kind="mixer"),
        )


@dataclass(frozen=True)
class Mamba1:
    r"""A Mamba-1 mixer as in Jamba, on hidden size :math:`H`: :math:`d_{in}` channels,
    state size :math:`N`, step-size rank :math:`R`, a causal convolution of :math:`K`
    taps over the :math:`d_{in}` channels.

    Parameters (``attention``): ``in_proj`` :math:`H \cdot 2 d_{in}` (x and the gate z),
    ``x_proj`` :math:`d_{in} (R + 2N)` (step size, B and C), ``dt_proj``
    :math:`R d_{in}`, ``out_proj`` :math:`d_{in} H`. Biases (``bias``): dt_proj's
    :math:`d_{in}` always; ``proj_bias``: :math:`2 d_{in}` on in_proj and :math:`H` on
    out_proj. Small vectors (``norm``): the convolution :math:`d_{in} K` (with
    ``conv_bias`` :math:`d_{in}` more), ``A_log`` :math:`d_{in} N`, ``D``
    :math:`d_{in}`, and with ``dt_bc_norms`` (Jamba) RMS norms on the step size, B and
    C: :math:`R + 2N`.

    State per sequence: conv :math:`d_{in} K` elements, SSM :math:`d_{in} N` elements;
    nothing per token. With ``JambaConfig``'s defaults in transformers 5.24
    (:math:`H = 4096`, expand 2, :math:`N = 16`, :math:`K = 4`): 32,768 conv and 131,072
    SSM elements per Mamba layer.
    """

    hidden: int
    inner: int
    state_size: int
    conv_kernel: int
    dt_rank: int
    proj_bias: bool = False
    conv_bias: bool = True
    dt_bc_norms: bool = True

    layer_type = "linear_attention"

    def __post_init__(self) -> None:
        for field in ("hidden", "inner", "state_size", "conv_kernel", "dt_rank"):
            _check.integer(field, getattr(self, field), minimum=1)
        _flags(self, "proj_bias", "conv_bias", "dt_bc_norms")

    def params(self) -> dict[str, int]:
        h, d, n, r = self.hidden, self.inner, self.state_size, self.dt_rank
        return {
            "attention": h * 2 * d + d * (r + 2 * n) + r * d + d * h,
            "bias": d + (2 * d + h) * self.proj_bias,
            "norm": d * self.conv_kernel
            + d * self.conv_bias
            + d * n
            + d
            + (r + 2 * n) * self.dt_bc_norms,
        }

    def cache_bytes(
        self,
        tokens: int,
        kv: Precision,
        state: Precision,
        *,
        mla_expanded: bool = False,
    ) -> dict[str, int]:
        return {
            "conv_state": state.bytes_for(self.inner * self.conv_kernel),
            "recurrent_state": state.bytes_for(self.inner * self.state_size),
        }

    def bytes_per_token(self, kv: Precision, *, mla_expanded: bool = False) -> int:
        return 0

    def linears(self) -> tuple[Linear, ...]:
        h, d, n, r = self.hidden, self.inner, self.state_size, self.dt_rank
        return (
            Linear("in_proj", h, 2 * d, self.proj_bias, kind="mixer"),
            Linear("x_proj", d, r + 2 * n, kind="mixer"),
            Linear("dt_proj", r, d, True, kind="mixer"),
            Linear("out_proj", d, h, self.proj_bias, kind="mixer"),
        )


@dataclass(frozen=True)
class ParallelHybrid:
    r"""Attention and a state-space mixer side by side on the same normed input, their
    outputs added (Falcon-H1: every layer is both). Parameters, cache parts and linear
    layers are the two mixers' together: the layer keeps attention's keys and values
    (growing with the context) and the SSM's conv and recurrent states (fixed).
    transformers names the kind ``"hybrid"``, and its cache layer
    (``LinearAttentionAndFullAttentionLayer``) holds all four.
    """

    attention: object
    ssm: object

    layer_type = "hybrid"

    def params(self) -> dict[str, int]:
        return add(self.attention.params(), self.ssm.params())

    def cache_bytes(
        self,
        tokens: int,
        kv: Precision,
        state: Precision,
        *,
        mla_expanded: bool = False,
    ) -> dict[str, int]:
        return add(
            self.attention.cache_bytes(tokens, kv, state, mla_expanded=mla_expanded),
            self.ssm.cache_bytes(tokens, kv, state, mla_expanded=mla_expanded),
        )

    def bytes_per_token(self, kv: Precision, *, mla_expanded: bool = False) -> int:
        return self.attention.bytes_per_token(
            kv, mla_expanded=mla_expanded
        ) + self.ssm.bytes_per_token(kv, mla_expanded=mla_expanded)

    def linears(self) -> tuple[Linear, ...]:
        # transformers keeps the two side by side: self_attn and mamba
        return tuple(
            replace(lin, parent="self_attn") for lin in self.attention.linears()
        ) + tuple(replace(lin, parent="mamba") for lin in self.ssm.linears())


@dataclass(frozen=True)
class NoMixer:
    """No token mixer: a layer that is only a feed-forward block (Nemotron-H's ``"mlp"``
    and ``"moe"`` layers, one pattern character each). No parameters, no cache. ``kind``
    is the name transformers' ``layer_types`` gives such a layer."""

    kind: str = "mlp"

    def __post_init__(self) -> None:
        _check.text("kind", self.kind)

    @property
    def layer_type(self) -> str:
        return self.kind

    def params(self) -> dict[str, int]:
        return {}

    def cache_bytes(
        self,
        tokens: int,
        kv: Precision,
        state: Precision,
        *,
        mla_expanded: bool = False,
    ) -> dict[str, int]:
        return {}

    def bytes_per_token(self, kv: Precision, *, mla_expanded: bool = False) -> int:
        return 0

    def linears(self) -> tuple[Linear, ...]:
        return ()
