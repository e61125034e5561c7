"""One decoder layer: a token mixer, a feed-forward block, and hidden-sized norms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import _check
from .base import add

#: dtypes a persistent buffer is stored in: the model's own, or a fixed safetensors type
BUFFER_DTYPES = ("model", "F32", "I64")


@dataclass(frozen=True)
class Layer:
    r"""A decoder layer: ``mixer`` (attention or another token mixer), ``ffn`` (dense, experts or
    none), ``norms`` hidden-sized norms of :math:`H` weights each (:math:`2H` with ``norm_bias``,
    LayerNorm), and ``extra``: other parameters a family adds to the layer, as
    ``(group, count)`` pairs. ``buffers``: persistent buffers of the layer itself, as
    ``(dtype, elements)`` pairs (Gemma 4's ``layer_scalar``, DeepSeek-V4's token-to-expert
    table): not parameters, but stored in the checkpoint and loaded with the weights;
    the dtype is a safetensors name, or ``"model"`` for the model's own."""

    mixer: Any
    ffn: Any
    hidden: int
    norms: int = 2
    norm_bias: bool = False
    extra: tuple[tuple[str, int], ...] = ()
    buffers: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        _check.integer("hidden", self.hidden, minimum=1)
        _check.integer("norms", self.norms, minimum=0)
        for dtype, count in self.buffers:
            if dtype not in BUFFER_DTYPES:
                raise _check.unknown("buffer dtype", dtype, BUFFER_DTYPES, what="dtype")
            _check.integer(f"buffers[{dtype!r}]", count, minimum=0)

    def stored_buffers(self) -> tuple[tuple[str, int], ...]:
        """Every persistent buffer of the layer, its mixer's and its feed-forward
        block's, as ``(dtype, elements)`` pairs."""
        return (
            tuple(getattr(self.mixer, "buffers", tuple)())
            + tuple(getattr(self.ffn, "buffers", tuple)())
            + self.buffers
        )

    @property
    def layer_type(self) -> str:
        return self.mixer.layer_type

    def params(self) -> dict[str, int]:
        """Parameters by group: the mixer's, the feed-forward block's, the norms and extras."""
        norms = {"norm": self.norms * self.hidden * (2 if self.norm_bias else 1)}
        return add(
            self.mixer.params(),
            self.ffn.params(),
            norms,
            *({g: n} for g, n in self.extra),
        )
