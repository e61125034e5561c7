r"""Feed-forward blocks: a dense MLP, a mixture of experts, or none.

A gated MLP (SwiGLU, GeGLU) has three matrices, gate and up :math:`H \times I` and down
:math:`I \times H`: :math:`3HI` weights; a plain one (GELU) two: :math:`2HI`. A mixture of
experts holds :math:`E` routed experts of width :math:`I_e` (:math:`3HI_e` each), a router
(:math:`EH`) and optionally a shared expert that every token passes through.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import _check
from .base import Linear


@dataclass(frozen=True)
class DenseMLP:
    r"""A dense MLP of width :math:`I` on hidden size :math:`H`: :math:`3HI` weights gated,
    :math:`2HI` plain; with ``bias``, :math:`2I + H` (gated) or :math:`I + H` (plain) biases.
    ``names``: transformers' module names, (gate, up, down) or (up, down); a gated MLP with two
    names stores gate and up fused in one matrix (Phi-3's ``gate_up_proj``)."""

    hidden: int
    width: int
    gated: bool = True
    bias: bool = False
    names: tuple[str, ...] = ()

    kind = "dense"

    def __post_init__(self) -> None:
        _check.integer("hidden", self.hidden, minimum=1)
        _check.integer("intermediate_size", self.width, minimum=1)
        if not self.names:
            names = ("gate_proj", "up_proj", "down_proj") if self.gated else ("up_proj", "down_proj")
            object.__setattr__(self, "names", names)
        if len(self.names) not in ((2, 3) if self.gated else (2,)):
            raise ValueError(f"names must name the MLP's matrices, got {self.names!r}")

    def params(self) -> dict[str, int]:
        n = 3 if self.gated else 2
        bias = (2 * self.width + self.hidden) if self.gated else (self.width + self.hidden)
        return {"mlp": n * self.hidden * self.width, "bias": bias * self.bias}

    def linears(self) -> tuple[Linear, ...]:
        h, w = self.hidden, self.width
        *into, down = self.names
        fused = self.gated and len(into) == 1
        return tuple(Linear(n, h, 2 * w if fused else w, self.bias, kind="mlp") for n in into) + (
            Linear(down, w, h, self.bias, kind="mlp"),)


@dataclass(frozen=True)
class MoE:
    r"""A mixture of experts: :math:`E` routed experts of width :math:`I_e`, :math:`k` per token.

    Parameters: experts :math:`E \cdot 3 H I_e` (``mlp``), router :math:`E H` (``router``), a
    shared expert of width :math:`I_s` (:math:`3 H I_s`, ``mlp``; DeepSeek's
    ``n_shared_experts`` are one MLP of :math:`n I_e`), and Qwen2-MoE's sigmoid gate on the shared
    expert (:math:`H`, ``router``). Experts are stored fused, as transformers 5.x does: one
    ``gate_up_proj`` (:math:`E \times 2I_e \times H`) and one ``down_proj`` tensor per layer.
    """

    hidden: int
    experts: int
    top_k: int
    width: int
    shared_width: int = 0
    shared_gate: bool = False

    kind = "moe"

    def __post_init__(self) -> None:
        _check.integer("hidden", self.hidden, minimum=1)
        _check.integer("num_experts", self.experts, minimum=1)
        _check.integer("experts_per_token", self.top_k, minimum=1)
        _check.integer("moe_intermediate_size", self.width, minimum=1)
        _check.integer("shared_expert_intermediate_size", self.shared_width, minimum=0)
        if self.top_k > self.experts:
            raise ValueError(f"experts_per_token ({self.top_k}) exceeds num_experts ({self.experts})")

    def expert_params(self) -> int:
        """Parameters of one routed expert: :math:`3 H I_e`."""
        return 3 * self.hidden * self.width

    def params(self) -> dict[str, int]:
        h = self.hidden
        return {"mlp": self.experts * self.expert_params() + 3 * h * self.shared_width,
                "router": self.experts * h + h * self.shared_gate}

    def linears(self) -> tuple[Linear, ...]:
        h, e, w, s = self.hidden, self.experts, self.width, self.shared_width
        out = [Linear("gate", h, e, kind="router"),
               Linear("gate_up_proj", h, 2 * w, count=e, kind="expert"),
               Linear("down_proj", w, h, count=e, kind="expert")]
        if s:
            out += [Linear(n, h, s, kind="shared_expert") for n in ("gate_proj", "up_proj")]
            out.append(Linear("down_proj", s, h, kind="shared_expert"))
        if self.shared_gate:
            out.append(Linear("shared_expert_gate", h, 1, kind="router"))
        return tuple(out)


@dataclass(frozen=True)
class NoFFN:
    """No feed-forward block (a mixer-only layer, as in Mamba and Nemotron-H's mixer layers)."""

    kind = "none"

    def params(self) -> dict[str, int]:
        return {}

    def linears(self) -> tuple[Linear, ...]:
        return ()
