"""What every layer unit provides: parameter groups, cache bytes, and its linear layers by name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..precisions import Precision


@dataclass(frozen=True)
class Linear:
    """One kind of linear layer in the model, as transformers names it.

    ``name`` is the module's (or, for fused expert weights, the parameter's) last name, such as
    ``"q_proj"`` or ``"gate_up_proj"``; ``in_features`` and ``out_features`` its shape; ``bias``
    whether it has one; ``count`` how many such matrices the unit holds (the number of experts for a
    fused expert tensor); ``kind`` where it sits: ``"attention"``, ``"mixer"`` (a non-attention token
    mixer), ``"mlp"``, ``"expert"``, ``"shared_expert"``, ``"router"``; ``parent`` the
    path of the submodule that holds it inside its unit, where there is one
    (``"indexer"`` for a sparse-attention indexer's projections), so that its full name
    is transformers' own (:func:`vramlib.checkpoint.quant.module_names`).
    """

    name: str
    in_features: int
    out_features: int
    bias: bool = False
    count: int = 1
    kind: str = "attention"
    parent: str = ""

    @property
    def params(self) -> int:
        """Weights (and biases) of all ``count`` copies."""
        return self.count * (
            self.in_features * self.out_features + self.out_features * self.bias
        )


def add(*groups: dict[str, int]) -> dict[str, int]:
    """Sum parameter-group dicts, keeping only groups with a non-zero count."""
    total: dict[str, int] = {}
    for g in groups:
        for key, value in g.items():
            if value:
                total[key] = total.get(key, 0) + value
    return total


class Mixer(Protocol):
    """A token mixer. ``layer_type`` is the name transformers' ``layer_types`` uses for it."""

    @property
    def layer_type(self) -> str: ...

    def params(self) -> dict[str, int]:
        """Parameters by group (``attention``, ``norm``, ``bias``)."""

    def cache_bytes(
        self,
        tokens: int,
        kv: Precision,
        state: Precision,
        *,
        mla_expanded: bool = False,
    ) -> dict[str, int]:
        """Bytes kept for one sequence of ``tokens`` tokens, by part (``keys``, ``values``...)."""

    def bytes_per_token(self, kv: Precision, *, mla_expanded: bool = False) -> int:
        """Bytes one more token adds to one sequence while no window is full yet."""

    def linears(self) -> tuple[Linear, ...]:
        """The unit's linear layers by name."""


class FeedForward(Protocol):
    """A feed-forward block. ``kind`` is ``"dense"``, ``"moe"`` or ``"none"``."""

    @property
    def kind(self) -> str: ...

    def params(self) -> dict[str, int]:
        """Parameters by group (``mlp``, ``router``, ``bias``, ``norm``)."""

    def linears(self) -> tuple[Linear, ...]:
        """The unit's linear layers by name."""
