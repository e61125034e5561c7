r"""Gemma 4's feed-forward side: a dense MLP, experts beside it, the per-layer input.

A Gemma 4 layer always runs a dense gated MLP of width :math:`I` (``gate_proj``,
``up_proj``, ``down_proj``: :math:`3HI`). Two optional parts sit beside it:

* **Experts in parallel** (``enable_moe_block``, the 26B-A4B model): :math:`E` routed
  experts of width :math:`I_e`, :math:`k` per token, whose output is added to the dense
  MLP's rather than replacing it. Parameters: experts :math:`E \cdot 3 H I_e` (fused
  ``gate_up_proj`` :math:`E \times 2I_e \times H` and ``down_proj``), the router's
  projection ``proj`` (:math:`EH`), its input scale (:math:`H`) and per-expert output
  scale (:math:`E`), and three more hidden-sized norms (:math:`3H`) around the two
  branches.
* **Per-layer input** (PLE, ``hidden_size_per_layer_input`` :math:`P > 0`, the E2B/E4B
  models): after the feed-forward block, a gate ``per_layer_input_gate``
  (:math:`H \to P`) mixes in this layer's slice of the per-layer embedding, projected
  back by ``per_layer_projection`` (:math:`P \to H`) and normalised (:math:`H`):
  :math:`2HP + H` per layer. The per-layer embedding table itself
  (:math:`V_{ple} \times L P`), its projection from the hidden state
  (:math:`H \times L P`) and that projection's norm (:math:`P`) are model-level parts
  (``ModelSpec.extra_params``).

A layer that reuses an earlier layer's keys and values may use a double-width MLP
(``use_double_wide_mlp``): its width :math:`I` is then twice the config's
``intermediate_size``, which the reader passes in. Source:
``transformers/models/gemma4/modeling_gemma4.py`` (5.24).
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import _check
from .base import Linear


@dataclass(frozen=True)
class Gemma4FeedForward:
    r"""Gemma 4's feed-forward block: dense MLP :math:`3HI`, plus experts
    (:math:`E \cdot 3HI_e` ``mlp``; :math:`EH + H + E` ``router``; :math:`3H` ``norm``)
    when ``experts`` > 0, plus the per-layer input (:math:`2HP` ``mlp``, :math:`H`
    ``norm``) when ``per_layer_input`` > 0. ``kind`` is ``"moe"`` with experts, else
    ``"dense"``."""

    hidden: int
    width: int
    experts: int = 0
    top_k: int = 0
    expert_width: int = 0
    per_layer_input: int = 0

    def __post_init__(self) -> None:
        _check.integer("hidden", self.hidden, minimum=1)
        _check.integer("intermediate_size", self.width, minimum=1)
        _check.integer("num_experts", self.experts, minimum=0)
        _check.integer("hidden_size_per_layer_input", self.per_layer_input, minimum=0)
        if self.experts:
            _check.integer("top_k_experts", self.top_k, minimum=1)
            _check.integer("moe_intermediate_size", self.expert_width, minimum=1)
            if self.top_k > self.experts:
                raise ValueError(
                    f"top_k_experts ({self.top_k}) exceeds num_experts ({self.experts})"
                )

    @property
    def kind(self) -> str:
        return "moe" if self.experts else "dense"

    def expert_params(self) -> int:
        """Parameters of one routed expert: :math:`3 H I_e`."""
        return 3 * self.hidden * self.expert_width

    def params(self) -> dict[str, int]:
        h, e, p = self.hidden, self.experts, self.per_layer_input
        return {
            "mlp": 3 * h * self.width + e * self.expert_params() + 2 * h * p,
            "router": (e * h + h + e) if e else 0,
            "norm": 3 * h * (e > 0) + h * (p > 0),
        }

    def linears(self) -> tuple[Linear, ...]:
        h, w, e, p = self.hidden, self.width, self.experts, self.per_layer_input
        out = [
            Linear("gate_proj", h, w, kind="mlp", parent="mlp"),
            Linear("up_proj", h, w, kind="mlp", parent="mlp"),
            Linear("down_proj", w, h, kind="mlp", parent="mlp"),
        ]
        if e:
            we = self.expert_width
            out += [
                Linear("proj", h, e, kind="router", parent="router"),
                Linear(
                    "gate_up_proj", h, 2 * we, count=e, kind="expert", parent="experts"
                ),
                Linear("down_proj", we, h, count=e, kind="expert", parent="experts"),
            ]
        if p:
            out += [
                Linear("per_layer_input_gate", h, p, kind="mlp"),
                Linear("per_layer_projection", p, h, kind="mlp"),
            ]
        return tuple(out)
