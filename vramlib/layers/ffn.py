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
            names = (
                ("gate_proj", "up_proj", "down_proj")
                if self.gated
                else ("up_proj", "down_proj")
            )
            object.__setattr__(self, "names", names)
        if len(self.names) not in ((2, 3) if self.gated else (2,)):
            raise ValueError(f"names must name the MLP's matrices, got {self.names!r}")

    def params(self) -> dict[str, int]:
        n = 3 if self.gated else 2
        bias = (
            (2 * self.width + self.hidden) if self.gated else (self.width + self.hidden)
        )
        return {"mlp": n * self.hidden * self.width, "bias": bias * self.bias}

    def linears(self) -> tuple[Linear, ...]:
        h, w = self.hidden, self.width
        *into, down = self.names
        fused = self.gated and len(into) == 1
        return tuple(
            Linear(n, h, 2 * w if fused else w, self.bias, kind="mlp") for n in into
        ) + (Linear(down, w, h, self.bias, kind="mlp"),)


@dataclass(frozen=True)
class MoE:
    r"""A mixture of experts: :math:`E` routed experts of width :math:`I_e`, :math:`k` per token.

    Parameters: experts :math:`E \cdot 3 H I_e` (``mlp``), router :math:`E H` (``router``), a
    shared expert of width :math:`I_s` (:math:`3 H I_s`, ``mlp``; DeepSeek's
    ``n_shared_experts`` are one MLP of :math:`n I_e`), and Qwen2-MoE's sigmoid gate on the shared
    expert (:math:`H`, ``router``). Experts are stored fused, as transformers 5.x does: one
    ``gate_up_proj`` (:math:`E \times 2I_e \times H`) and one ``down_proj`` tensor per layer.

    Variants (Nemotron-H, Granite 4.0-H, Jamba): ``gated=False``, experts and shared expert of
    two matrices (``up_proj``, ``down_proj``: :math:`2 D I_e` per expert); ``latent`` :math:`L`,
    experts that work in an :math:`L`-wide latent (:math:`D = L`, else :math:`D = H`) between
    ``fc1_latent_proj`` (:math:`HL`) and ``fc2_latent_proj`` (:math:`LH`), ``mlp``;
    ``mlp_bias``, biases on the shared expert and the latent projections; ``router_name`` and
    ``shared_names``, transformers' module names (two shared names on a gated expert mean
    gate and up fused in one matrix, Granite's ``input_linear``).
    ``score_bias_param`` counts a per-expert score-correction bias (:math:`E`, ``router``) that
    ERNIE 4.5 stores as a parameter; DeepSeek-V3, GLM-4.5, Nemotron-H and MiniMax-M2 keep theirs
    as a persistent buffer (``score_bias_buffer``: its safetensors dtype, ``"F32"``, or
    ``"model"`` for the model's own), which is no parameter but is stored and loaded with
    the weights (:meth:`buffers`); Hunyuan's router is named ``wg``; ERNIE 4.5 with
    ``use_bias`` has the shared expert's biases (``mlp_bias``).
    gpt-oss adds biases: ``expert_bias`` gives each expert :math:`2I_e + H` (its gate/up and
    down biases, ``bias``), ``router_bias`` the router :math:`E` (``bias``); its router and
    Llama 4's are named ``router``.
    """

    hidden: int
    experts: int
    top_k: int
    width: int
    shared_width: int = 0
    shared_gate: bool = False
    gated: bool = True
    latent: int = 0
    mlp_bias: bool = False
    router_name: str = "gate"
    shared_names: tuple[str, ...] = ()
    score_bias_param: bool = False
    expert_bias: bool = False
    router_bias: bool = False
    score_bias_buffer: str = ""

    kind = "moe"

    def buffers(self) -> tuple[tuple[str, int], ...]:
        """Persistent buffers, as (dtype, elements): the score-correction bias kept as a
        buffer (:math:`E`)."""
        return (
            ((self.score_bias_buffer, self.experts),) if self.score_bias_buffer else ()
        )

    def __post_init__(self) -> None:
        _check.integer("hidden", self.hidden, minimum=1)
        _check.integer("num_experts", self.experts, minimum=1)
        _check.integer("experts_per_token", self.top_k, minimum=1)
        _check.integer("moe_intermediate_size", self.width, minimum=1)
        _check.integer("shared_expert_intermediate_size", self.shared_width, minimum=0)
        if self.top_k > self.experts:
            raise ValueError(
                f"experts_per_token ({self.top_k}) exceeds num_experts ({self.experts})"
            )
        _check.integer("moe_latent_size", self.latent, minimum=0)
        if not self.shared_names:
            names = (
                ("gate_proj", "up_proj", "down_proj")
                if self.gated
                else ("up_proj", "down_proj")
            )
            object.__setattr__(self, "shared_names", names)
        if len(self.shared_names) not in ((2, 3) if self.gated else (2,)):
            raise ValueError(
                f"shared_names must name the shared expert's matrices, got "
                f"{self.shared_names!r}"
            )

    def expert_params(self) -> int:
        """Parameters of one routed expert: :math:`3 D I_e` gated, :math:`2 D I_e` plain
        (:math:`D = H`, or the latent size), plus its biases where it has them."""
        return self._expert_weights() + self._expert_biases()

    def _expert_weights(self) -> int:
        return (3 if self.gated else 2) * (self.latent or self.hidden) * self.width

    def _expert_biases(self) -> int:
        into = (2 if self.gated else 1) * self.width
        return (into + (self.latent or self.hidden)) * self.expert_bias

    def params(self) -> dict[str, int]:
        h, s, n, e = (
            self.hidden,
            self.shared_width,
            3 if self.gated else 2,
            self.experts,
        )
        shared_bias = ((2 if self.gated else 1) * s + h) if s else 0
        return {
            "mlp": e * self._expert_weights() + n * h * s + 2 * h * self.latent,
            "router": e * (h + self.score_bias_param) + h * self.shared_gate,
            "bias": (shared_bias + (self.latent + h if self.latent else 0))
            * self.mlp_bias
            + e * self._expert_biases()
            + e * self.router_bias,
        }

    def linears(self) -> tuple[Linear, ...]:
        h, e, w, s = self.hidden, self.experts, self.width, self.shared_width
        d, b, eb = self.latent or h, self.mlp_bias, self.expert_bias
        out = [Linear(self.router_name, h, e, self.router_bias, kind="router")]
        if self.gated:
            out.append(Linear("gate_up_proj", d, 2 * w, eb, count=e, kind="expert"))
        else:
            out.append(Linear("up_proj", d, w, eb, count=e, kind="expert"))
        out.append(Linear("down_proj", w, d, eb, count=e, kind="expert"))
        if self.latent:
            out += [
                Linear("fc1_latent_proj", h, d, b, kind="mlp"),
                Linear("fc2_latent_proj", d, h, b, kind="mlp"),
            ]
        if s:
            *into, down = self.shared_names
            fused = self.gated and len(into) == 1
            out += [
                Linear(n, h, 2 * s if fused else s, b, kind="shared_expert")
                for n in into
            ]
            out.append(Linear(down, s, h, b, kind="shared_expert"))
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
