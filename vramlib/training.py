r"""Memory for training: weights, gradients, optimizer states, master weights, and activations.

Training keeps more than the weights. With :math:`\Psi` parameters and Adam in mixed precision, every
parameter carries (Rajbhandari et al., "ZeRO: Memory Optimizations Toward Training Trillion Parameter
Models", 2020, arXiv:1910.02054, which writes the total as :math:`2\Psi + 2\Psi + K\Psi` with
:math:`K = 12`, that is :math:`16\Psi` bytes):

=====================  =====  ==========================================
part                   bytes  what
=====================  =====  ==========================================
weights                2      16-bit (bf16/fp16) copy used by forward and backward
gradients              2      16-bit, one per weight
master weights         4      fp32 copy the optimizer updates
Adam first moment m    4      fp32
Adam second moment v   4      fp32
=====================  =====  ==========================================

``precision="fp32"`` trains in fp32 throughout: 4 (weights) + 4 (gradients) + 4 per optimizer state,
no master copy. ``optimizer`` sets how many states each parameter has: ``"adam"``/``"adamw"`` 2,
``"sgd_momentum"`` 1, ``"sgd"`` 0.

**Activations** are not part of those 16 bytes. They depend on sequence length :math:`s`, micro-batch
:math:`b`, hidden size :math:`h`, heads :math:`a` and layers :math:`L`. Given ``seq_len`` (and a model
spec), this module uses Korthikanti et al., "Reducing Activation Recomputation in Large Transformer
Models" (2022), arXiv:2205.05198, for 16-bit activations and no tensor or sequence parallelism:

.. math::  A = L \cdot s\,b\,h \left(34 + 5 \frac{a\,s}{h}\right) \text{ bytes}

(``recompute="none"``); :math:`L \cdot 34\,s b h` with selective recomputation (the attention
scores, the :math:`5as^2b` term, recomputed); :math:`L \cdot 2\,s b h` with full recomputation
(only each layer's input kept). The formula was derived for a GPT-3-style layer (MLP width
:math:`4h`, dropout, attention scores materialised); for gated MLPs of another width or with
FlashAttention it is an approximation, not an exact count. Without ``seq_len``, activations are
left out (``activation_bytes == 0``, ``activations == "excluded"``), and so are temporary buffers,
the CUDA context and fragmentation.

ZeRO (:meth:`TrainingMemory.zero_per_gpu_bytes`) shards these states over :math:`N_d` data-parallel
GPUs: stage 1 the optimizer states (master weights included), stage 2 also the gradients, stage 3
also the weights.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import _check
from .models import ModelSpec, get_model

#: states per parameter for each optimizer
OPTIMIZER_STATES = {"adam": 2, "adamw": 2, "sgd_momentum": 1, "sgd": 0}
#: bytes per parameter of (weights, gradients, master weights, each optimizer state)
PRECISIONS = {"mixed": (2, 2, 4, 4), "fp32": (4, 4, 0, 4)}
RECOMPUTE = ("none", "selective", "full")
#: Korthikanti et al. 2022's coefficients (bytes, 16-bit): per s·b·h for the layer's stored tensors,
#: per a·s²·b for attention scores, softmax and dropout mask; per s·b·h kept under full recomputation
KORTHIKANTI = {"sbh": 34, "as2b": 5, "full_sbh": 2}


@dataclass(frozen=True)
class TrainingMemory:
    """Training memory by part, in bytes (one replica, no sharding). ``activations`` names how
    activations were counted: ``"excluded"`` or ``"korthikanti2022/<recompute>"``."""

    params: int
    optimizer: str
    precision: str
    weights_bytes: int
    gradients_bytes: int
    master_weights_bytes: int
    optimizer_bytes: int
    activation_bytes: int
    activations: str

    @property
    def model_state_bytes(self) -> int:
        """Weights + gradients + master weights + optimizer states (ZeRO's "model states")."""
        return self.weights_bytes + self.gradients_bytes + self.master_weights_bytes + self.optimizer_bytes

    @property
    def bytes_per_param(self) -> int:
        """Model-state bytes per parameter (16 for mixed-precision Adam)."""
        return self.model_state_bytes // self.params

    @property
    def total_bytes(self) -> int:
        return self.model_state_bytes + self.activation_bytes

    def parts(self) -> dict[str, int]:
        """The parts in bytes, in a fixed order."""
        return {"weights": self.weights_bytes, "gradients": self.gradients_bytes,
                "master_weights": self.master_weights_bytes, "optimizer_states": self.optimizer_bytes,
                "activations": self.activation_bytes}

    def zero_per_gpu_bytes(self, n_gpus: int, stage: int = 3) -> int:
        r"""Model-state bytes per GPU with ZeRO ``stage`` (0–3) over ``n_gpus`` data-parallel GPUs,
        plus the (unsharded) activations. Stage 1 divides optimizer states and master weights by
        :math:`N_d`, stage 2 also gradients, stage 3 also weights (Rajbhandari et al. 2020)."""
        n = _check.integer("n_gpus", n_gpus, minimum=1)
        s = _check.integer("stage", stage, minimum=0)
        if s > 3:
            raise ValueError(f"stage must be 0, 1, 2 or 3, got {s}")
        sharded = [self.optimizer_bytes + self.master_weights_bytes, self.gradients_bytes,
                   self.weights_bytes]
        kept = sum(sharded[s:])
        return kept + -(-sum(sharded[:s]) // n) + self.activation_bytes


def korthikanti_activation_bytes(spec: ModelSpec, *, seq_len: int, micro_batch: int = 1,
                                 recompute: str = "none") -> int:
    r"""Activation bytes kept for the backward pass (16-bit, no tensor/sequence parallelism):
    :math:`L\,(34\,sbh + 5\,a s^2 b)`, :math:`L \cdot 34\,sbh` (selective) or :math:`L \cdot 2\,sbh`
    (full recomputation); Korthikanti et al. 2022."""
    if not isinstance(spec, ModelSpec):
        raise TypeError(f"spec must be a ModelSpec, got {type(spec).__name__}")
    s = _check.integer("seq_len", seq_len, minimum=1)
    b = _check.integer("micro_batch", micro_batch, minimum=1)
    if recompute not in RECOMPUTE:
        raise _check.unknown("recompute", recompute, RECOMPUTE, what="recomputation")
    h, a, layers = spec.hidden_size, spec.num_attention_heads, spec.num_hidden_layers
    k = KORTHIKANTI
    per_layer = {"none": k["sbh"] * s * b * h + k["as2b"] * a * s * s * b, "selective": k["sbh"] * s * b * h,
                 "full": k["full_sbh"] * s * b * h}[recompute]
    return layers * per_layer


def training_bytes(model: "ModelSpec | str | int", *, optimizer: str = "adam", precision: str = "mixed",
                   seq_len: "int | None" = None, micro_batch: int = 1,
                   recompute: str = "none") -> TrainingMemory:
    r"""Memory to train ``model`` (a :class:`~vramlib.models.ModelSpec`, a catalogue name, or a
    parameter count) with ``optimizer`` in ``precision`` (``"mixed"`` or ``"fp32"``).

    Model states: :math:`\Psi (w + g + m + k\,s)` bytes, with per-parameter bytes
    :math:`(w, g, m, s)` = (2, 2, 4, 4) for mixed precision and (4, 4, 0, 4) for fp32, and
    :math:`k` optimizer states (2 for Adam): 16 bytes per parameter for mixed-precision Adam.
    Activations follow Korthikanti et al. 2022 when ``seq_len`` is given (needs a spec, not a bare
    count); otherwise they are excluded and reported as such.
    """
    if isinstance(model, (ModelSpec, str)):
        spec = model if isinstance(model, ModelSpec) else get_model(model)
        params = spec.param_count()
    else:
        spec, params = None, _check.integer("model", model, minimum=1)
    if not isinstance(optimizer, str) or optimizer.lower() not in OPTIMIZER_STATES:
        raise _check.unknown("optimizer", optimizer, OPTIMIZER_STATES, what="optimizer")
    if not isinstance(precision, str) or precision.lower() not in PRECISIONS:
        raise _check.unknown("precision", precision, PRECISIONS, what="training precision")
    opt, prec = optimizer.lower(), precision.lower()
    w, g, m, s = PRECISIONS[prec]
    activation, how = 0, "excluded"
    if seq_len is not None:
        if spec is None:
            raise ValueError("seq_len needs a model spec or catalogue name (activations depend on "
                             "hidden size, heads and layers), not a bare parameter count")
        activation = korthikanti_activation_bytes(spec, seq_len=seq_len, micro_batch=micro_batch,
                                                  recompute=recompute)
        how = f"korthikanti2022/{recompute}"
    return TrainingMemory(params=params, optimizer=opt, precision=prec, weights_bytes=w * params,
                          gradients_bytes=g * params, master_weights_bytes=m * params,
                          optimizer_bytes=OPTIMIZER_STATES[opt] * s * params,
                          activation_bytes=activation, activations=how)
