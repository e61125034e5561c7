"""One decoder layer: a token mixer, a feed-forward block, and hidden-sized norms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import _check
from .base import add


@dataclass(frozen=True)
class Layer:
    r"""A decoder layer: ``mixer`` (attention or another token mixer), ``ffn`` (dense, experts or
    none), ``norms`` hidden-sized norms of :math:`H` weights each (:math:`2H` with ``norm_bias``,
    LayerNorm), and ``extra``: other parameters a family adds to the layer, as
    ``(group, count)`` pairs."""

    mixer: Any
    ffn: Any
    hidden: int
    norms: int = 2
    norm_bias: bool = False
    extra: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        _check.integer("hidden", self.hidden, minimum=1)
        _check.integer("norms", self.norms, minimum=0)

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
