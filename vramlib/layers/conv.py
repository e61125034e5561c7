r"""Short-convolution mixers: the last few inputs kept per sequence, nothing per token.

LFM2's convolution layers mix tokens with a depthwise causal convolution of :math:`K`
taps (``conv_L_cache``) between two gates, so a layer only ever needs the last inputs of
its convolution: its **conv state**, the same size at every context length.

What transformers 5.24 keeps per layer and sequence (``LinearAttentionLayer`` in
``cache_utils.py``, which LFM2's ``"conv"`` layers use): :math:`K` columns of :math:`H`
channels, in the model's dtype. llama.cpp keeps :math:`K - 1` columns (``n_embd_r`` for
LFM2 is ``n_embd * (n_shortconv_l_cache - 1)`` in
https://github.com/ggml-org/llama.cpp/blob/master/src/llama-hparams.cpp): the oldest
column is shifted out before it is read. The figure here is transformers'; an engine's
is :math:`(K-1)/K` of it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import _check
from ..precisions import Precision
from .base import Linear


@dataclass(frozen=True)
class ShortConv:
    r"""LFM2's gated short convolution on hidden size :math:`H` with :math:`K` taps.

    Parameters: in_proj :math:`3H^2` (the two gates and the input) and out_proj
    :math:`H^2` (``attention``); with ``bias`` (``conv_bias``), their :math:`4H` biases
    (``bias``). The depthwise convolution :math:`H K`, and with ``bias`` its :math:`H`
    biases, are small per-channel vectors (``norm``).

    State per sequence: :math:`H K` elements (conv state), no per-token cache. LFM2-1.2B
    (:math:`H = 2048`, :math:`K = 3` in the config.json at
    https://huggingface.co/LiquidAI/LFM2-1.2B): 6,144 elements per convolution layer.
    """

    hidden: int
    kernel: int
    bias: bool = False

    layer_type = "conv"

    def __post_init__(self) -> None:
        _check.integer("hidden", self.hidden, minimum=1)
        _check.integer("kernel", self.kernel, minimum=1)
        if not isinstance(self.bias, bool):
            raise TypeError(f"bias must be True or False, got {self.bias!r}")

    def params(self) -> dict[str, int]:
        h = self.hidden
        return {
            "attention": 3 * h * h + h * h,
            "bias": 4 * h * self.bias,
            "norm": h * self.kernel + h * self.bias,
        }

    def cache_bytes(
        self,
        tokens: int,
        kv: Precision,
        state: Precision,
        *,
        mla_expanded: bool = False,
    ) -> dict[str, int]:
        return {"conv_state": state.bytes_for(self.hidden * self.kernel)}

    def bytes_per_token(self, kv: Precision, *, mla_expanded: bool = False) -> int:
        return 0

    def linears(self) -> tuple[Linear, ...]:
        h = self.hidden
        return (
            Linear("in_proj", h, 3 * h, self.bias, kind="mixer"),
            Linear("out_proj", h, h, self.bias, kind="mixer"),
        )
