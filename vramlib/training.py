r"""Memory for training and fine-tuning: every part a separate figure, in bytes.

A training step keeps five kinds of tensors on the GPU. With :math:`\Psi` trainable parameters:

=====================  ===========================================================
part                   what
=====================  ===========================================================
weights                every parameter, trainable or frozen, in its storage format
gradients              one per *trainable* parameter
master weights         an fp32 copy of the trainable parameters (mixed precision)
optimizer states       per trainable tensor: Adam's two moments, Adafactor's
                       factored second moment, SGD's momentum, step counters
activations            tensors autograd saves in the forward pass for the backward
LoRA adapters          the low-rank matrices :math:`A` and :math:`B` (trainable)
=====================  ===========================================================

**Full fine-tuning** (``method="full"``) trains every parameter. ``precision`` picks the bytes per
trainable parameter of (weights, gradients, master weights) and the dtype of the optimizer states:
``"mixed"`` (2, 2, 4; states fp32: Rajbhandari et al., "ZeRO", 2020, arXiv:1910.02054, whose
:math:`2\Psi + 2\Psi + K\Psi` with :math:`K = 12` gives 16 bytes for Adam), ``"fp32"`` (4, 4, 0;
states fp32) and ``"bf16"`` (2, 2, 0; states bf16: "pure" bf16, no master copy).

**Optimizers** (``optimizer``), per trainable tensor of :math:`n` elements and shape
:math:`(\dots, r, c)`, states in the state dtype of :math:`d` bytes:

* ``"adamw"`` (also ``"adam"``): :math:`2nd` (``exp_avg``, ``exp_avg_sq``) + 4 (``step``, an fp32
  scalar tensor), as ``torch.optim.AdamW`` holds them.
* ``"adamw8bit"``: bitsandbytes' ``AdamW8bit`` (0.50, ``optim/optimizer.py``,
  ``Optimizer2State.init_state``): two uint8 states of :math:`n` bytes each plus two fp32 ``absmax``
  vectors of :math:`\lceil n/256 \rceil` blocks, :math:`2n + 8\lceil n/256\rceil`; a tensor with
  fewer than 4,096 elements (``min_8bit_size``) keeps two fp32 states, :math:`8n`. The two 256-entry
  quantization maps are shared by every tensor (2 KiB in all) and not counted.
* ``"adafactor"``: ``torch.optim.Adafactor`` (no first moment): a tensor of two or more dimensions keeps a
  row and a column second moment, :math:`(n/c + n/r)d`; a vector keeps :math:`nd`; plus a 4-byte
  ``step``.
* ``"sgd_momentum"``: one buffer of :math:`nd`. ``"sgd"``: nothing.

**LoRA** (``method="lora"``; Hu et al. 2021, arXiv:2106.09685) freezes the model and adds to each
targeted linear map :math:`W \in \mathbb{R}^{o \times i}` two trainable matrices
:math:`A \in \mathbb{R}^{r \times i}`, :math:`B \in \mathbb{R}^{o \times r}`: :math:`r(i + o)`
parameters per module. For fused expert weights (one 3-D parameter holding :math:`E` experts, which
peft adapts through ``target_parameters``) it is :math:`r E (i + o)` per layer, the same as per expert.
The frozen base is stored in ``base_dtype`` (``"bf16"``, ``"fp16"``, ``"fp32"`` or ``"fp8"``, one
byte per linear weight with embedding, norms and LM head kept in bf16).

**QLoRA** (``method="qlora"``; Dettmers et al. 2023, arXiv:2305.14314) stores the base's linear
weights (not the embedding, the norms or the LM head) as NF4 with double quantization, as
bitsandbytes 0.50 lays them out (``functional.quantize_4bit``, ``Params4bit``: blocksize 64,
``compress_statistics=True``): for a tensor of :math:`n` elements, :math:`\lceil n/2 \rceil` bytes of
packed 4-bit codes, :math:`\lceil n/64 \rceil` one-byte quantized block maxima, and one fp32
constant per 256 of those, :math:`4\lceil\lceil n/64\rceil/256\rceil`, plus a 4-byte fp32 offset:
:math:`0.5 + 8/64 + 32/(64 \cdot 256) \approx 4.127` bits per weight, the paper's 0.127-bit overhead.
Without double quantization the maxima are fp32: :math:`4\lceil n/64 \rceil`.

**Activations** (:func:`activation_bytes`) are counted as the bytes autograd saves for the backward
pass in one step (transformers' eager attention, no dropout, bf16 compute), derived op by op from
the modelling code and checked against PyTorch on small models in ``tests/validate``. Gradient
checkpointing per layer (``checkpointing="layer"``) keeps only each layer's input, plus what lies
outside the layers (embedding, final norm, loss). Korthikanti et al. (2022, arXiv:2205.05198)'s
:math:`sbh(34 + 5as/h)` per layer is kept as :func:`korthikanti_activation_bytes`, for comparison.

**Sharding** over :math:`N` data-parallel GPUs (``zero``): stage 1 divides the optimizer states and
master weights by :math:`N`, stage 2 also the gradients, stage 3 (and FSDP's full shard,
``zero="fsdp"``) also the weights, at the cost of gathering one layer's full weights at a time
(``gathered_weights``). ``offload="optimizer"`` moves states and master weights to CPU memory
(ZeRO-Offload), ``offload="all"`` (stage 3 only) the weights and gradients too. Activations are not
sharded: each GPU holds its own micro-batch's.

Not counted: the CUDA context, the allocator's slack, temporary buffers inside one operation, the
logits' gradient during the backward pass. Gradient accumulation (``grad_accum``) changes the global
batch, not the memory. Peak memory therefore sits above :attr:`TrainingMemory.total_bytes`; the
chapter "Fine-tuning on your card" sets the estimate against published measurements.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import _check
from .models import ModelSpec, get_model

#: states per parameter for the first-generation API (``training_bytes`` on a parameter count)
OPTIMIZER_STATES = {"adam": 2, "adamw": 2, "adamw8bit": 2, "adafactor": 1,
                    "sgd_momentum": 1, "sgd": 0}
OPTIMIZERS = tuple(OPTIMIZER_STATES)
METHODS = ("full", "lora", "qlora")
#: bytes per trainable parameter of (weights, gradients, master weights, one optimizer state)
PRECISIONS = {"mixed": (2, 2, 4, 4), "fp32": (4, 4, 0, 4), "bf16": (2, 2, 0, 2)}
BASE_DTYPES = {"bf16": 2, "fp16": 2, "fp32": 4, "fp8": 1}
CHECKPOINTING = ("none", "layer")
ATTENTION = ("sdpa", "eager")
ZERO = ("0", "1", "2", "3", "fsdp")
OFFLOAD = ("none", "optimizer", "all")
RECOMPUTE = ("none", "selective", "full")
#: Korthikanti et al. 2022's coefficients (bytes, 16-bit): per s·b·h for the layer's stored
#: tensors, per a·s²·b for attention scores, softmax and dropout mask; per s·b·h kept under full
#: recomputation
KORTHIKANTI = {"sbh": 34, "as2b": 5, "full_sbh": 2}
#: bitsandbytes 0.50: NF4 blocksize, second-level blocksize, 8-bit optimizer blocksize and threshold
NF4_BLOCK, NF4_BLOCK2, ADAM8_BLOCK, ADAM8_MIN = 64, 256, 256, 4096
#: target groups besides module names (see :func:`target_modules`)
TARGET_GROUPS = ("all-linear", "attention", "mlp", "experts")
_ATTENTION = ("attention",)
_MLP = ("mlp", "shared_expert")


# ---- the model's tensors --------------------------------------------------------------------

def linear_modules(spec: ModelSpec) -> tuple:
    """The model's linear maps by transformers' module names: :meth:`ModelSpec.linear_modules`
    (records with ``name``, ``in_features``, ``out_features``, ``bias``, ``count``, ``kind``;
    fused experts once per tensor name with ``count`` = experts x layers; the LM head always)."""
    return spec.linear_modules()


@dataclass(frozen=True)
class Tensors:
    """Parameter tensors of one shape: ``count`` of them, ``shape`` each, of ``kind``:
    ``"linear"`` (an ``nn.Linear`` weight in a layer, which QLoRA quantizes), ``"expert"`` (fused
    expert weights, a 3-D ``nn.Parameter`` that bitsandbytes leaves alone) or ``"other"``."""

    shape: tuple[int, ...]
    count: int
    kind: str

    @property
    def numel(self) -> int:
        n = 1
        for dim in self.shape:
            n *= dim
        return n


def parameter_tensors(spec: ModelSpec) -> tuple[Tensors, ...]:
    """Every parameter tensor of the model by shape; the elements add up to
    :meth:`ModelSpec.param_count` (the embedding once when tied)."""
    h, n = spec.hidden_size, spec.num_hidden_layers
    out = [Tensors((spec.vocab_size, h), 1, "other")]
    for m in linear_modules(spec):
        if m.kind == "expert":
            # fused experts: one (E, out, in) parameter per layer
            e = spec.num_experts
            out.append(Tensors((e, m.out_features, m.in_features), m.count // e, "expert"))
            continue
        if m.kind == "lm_head" and spec.tie_word_embeddings:
            continue  # the embedding's matrix, counted once
        linear = m.kind not in ("lm_head", "router") or m.name == "shared_expert_gate"
        kind = "linear" if linear else "other"  # routers are plain parameters
        out.append(Tensors((m.out_features, m.in_features), m.count, kind))
        if m.bias:
            out.append(Tensors((m.out_features,), m.count, "other"))
    norms = n * spec.norms_per_layer + 1
    out.append(Tensors((h,), norms * (2 if spec.norm_bias else 1), "other"))
    if spec.uses_mla:
        if spec.q_lora_rank is not None:
            out.append(Tensors((spec.q_lora_rank,), n, "other"))
        out.append(Tensors((spec.kv_lora_rank,), n, "other"))
    elif spec.qk_norm == "head":
        out.append(Tensors((spec.head_dim,), 2 * n, "other"))
    elif spec.qk_norm == "full":
        out.append(Tensors((spec.num_attention_heads * spec.head_dim,), n, "other"))
        out.append(Tensors((spec.num_key_value_heads * spec.head_dim,), n, "other"))
    return tuple(out)


# ---- LoRA -----------------------------------------------------------------------------------

def target_modules(spec: ModelSpec, targets: "str | tuple[str, ...] | list[str]" = "all-linear"
                   ) -> tuple:
    """The linear modules LoRA adapts for ``targets``: module names (``"q_proj,v_proj"``, matched
    as peft matches ``target_modules``: by leaf name, never expert weights) or groups:
    ``"all-linear"`` (what peft 0.21's shorthand reaches in a transformers 5 model: every linear
    map but the LM head, MoE routers and fused experts included), ``"attention"``, ``"mlp"``
    (dense and shared-expert MLPs) and ``"experts"`` (the fused expert weights, as peft's
    ``target_parameters``)."""
    return tuple(m for m, _ in _targets(spec, targets))


def _targets(spec: ModelSpec, targets) -> list[tuple]:
    """(module, rank factor) pairs: peft's all-linear gives fused gate_up experts rank 2r."""
    if isinstance(targets, str):
        names = [t.strip() for t in targets.split(",") if t.strip()]
    elif isinstance(targets, (tuple, list)) and all(isinstance(t, str) for t in targets):
        names = [t.strip() for t in targets]
    else:
        raise TypeError(f"targets must be a string or a list of module names, got {targets!r}")
    if not names:
        raise ValueError("targets must name at least one module or group")
    mods = linear_modules(spec)
    known = {m.name for m in mods if m.kind not in ("expert", "router")} | {
        m.name for m in mods if m.kind == "router"}
    chosen: dict = {}
    for name in names:
        factor = 1
        if name == "all-linear":
            picked = [m for m in mods if m.kind != "lm_head"]
        elif name == "attention":
            picked = [m for m in mods if m.kind in _ATTENTION]
        elif name == "mlp":
            picked = [m for m in mods if m.kind in _MLP]
        elif name == "experts":
            picked = [m for m in mods if m.kind == "expert"]
            if not picked:
                raise ValueError(f"targets: 'experts' names no module, "
                                 f"{spec.name or spec.model_type} has no mixture-of-experts layer")
        elif name in known:
            picked = [m for m in mods if m.name == name and m.kind != "expert"]
        else:
            raise _check.unknown("targets", name, sorted(known) + list(TARGET_GROUPS),
                                 what=f"module of {spec.name or spec.model_type}", show=30)
        for m in picked:
            factor = 2 if name == "all-linear" and m.kind == "expert" and \
                m.name == "gate_up_proj" else 1
            chosen[m] = max(chosen.get(m, 0), factor)
    return list(chosen.items())


def lora_params(spec: ModelSpec, rank: int = 16,
                targets: "str | tuple[str, ...] | list[str]" = "all-linear") -> int:
    r"""Trainable LoRA parameters: :math:`\sum r\,(i + o)` over every targeted module."""
    r = _check.integer("rank", rank, minimum=1)
    return sum(f * r * (m.in_features + m.out_features) * m.count
               for m, f in _targets(spec, targets))


def nf4_bytes(n: int, *, double_quant: bool = True) -> int:
    """Bytes of one tensor of ``n`` elements in bitsandbytes' NF4 layout (see the module text)."""
    n = _check.integer("n", n, minimum=1)
    blocks = -(-n // NF4_BLOCK)
    if not double_quant:
        return -(-n // 2) + 4 * blocks
    return -(-n // 2) + blocks + 4 * -(-blocks // NF4_BLOCK2) + 4


# ---- optimizer states -----------------------------------------------------------------------

def optimizer_state_bytes(tensors, optimizer: str = "adamw", state_bytes: int = 4) -> int:
    """Optimizer-state bytes for trainable ``tensors`` (:class:`Tensors`, or ``(shape, count)``
    pairs), states of ``state_bytes`` each; the formulas in the module text."""
    opt = _optimizer(optimizer)
    total = 0
    for t in tensors:
        shape, count = (t.shape, t.count) if isinstance(t, Tensors) else t
        n = Tensors(tuple(shape), count, "other").numel
        if opt in ("adam", "adamw"):
            each = 2 * n * state_bytes + 4
        elif opt == "adamw8bit":
            each = 8 * n if n < ADAM8_MIN else 2 * n + 8 * -(-n // ADAM8_BLOCK)
        elif opt == "adafactor":
            if len(shape) >= 2:
                each = (n // shape[-1] + n // shape[-2]) * state_bytes + 4
            else:
                each = n * state_bytes + 4
        elif opt == "sgd_momentum":
            each = n * state_bytes
        else:
            each = 0
        total += each * count
    return total


def _optimizer(optimizer: object) -> str:
    if not isinstance(optimizer, str) or optimizer.lower() not in OPTIMIZER_STATES:
        raise _check.unknown("optimizer", optimizer, OPTIMIZER_STATES, what="optimizer")
    return optimizer.lower()


def _choice(name: str, value: object, accepted, what: str) -> str:
    text = str(value).lower() if isinstance(value, (str, int)) and not isinstance(value, bool) \
        else None
    if text is None or text not in accepted:
        raise _check.unknown(name, value, accepted, what=what)
    return text


# ---- activations ----------------------------------------------------------------------------

def activation_parts(spec: ModelSpec, *, seq_len: int, micro_batch: int = 1,
                     checkpointing: str = "none", method: str = "full",
                     lora_rank: int = 16, targets="all-linear",
                     attention: str = "sdpa") -> dict[str, int]:
    r"""Bytes autograd saves for backward in one step, by where they are saved.

    With :math:`t = bs` tokens, hidden size :math:`H`, :math:`n_h` heads (:math:`n_{kv}` for K, V)
    of size :math:`d`, MLP width :math:`I`, vocabulary :math:`V`, bf16 compute (2 bytes) and
    transformers' eager attention, a llama-style layer saves, with full fine-tuning:

    * each RMSNorm of width :math:`w` (two per layer): its input upcast to fp32 (:math:`4tw`),
      the reciprocal root (:math:`4t`) and the normalised bf16 value (:math:`2tw`);
    * attention: rotated q (:math:`2tn_hd`), k and v repeated to :math:`n_h` heads
      (:math:`2 \cdot 2tn_hd`; :math:`2tn_{kv}d` each when :math:`n_h = n_{kv}`), the softmax in
      fp32 (:math:`4tn_hs`), the probabilities in bf16 (:math:`2tn_hs`) and o_proj's input
      (:math:`2tn_hd`); per-head q/k norms (Qwen3) add :math:`6tn_hd + 4tn_h` and
      :math:`6tn_{kv}d + 4tn_{kv}`;
    * the gated MLP: the gate's output, its activation, up's output and down's input,
      :math:`8tI` (:math:`4tI` for a plain MLP);

    and outside the layers the token ids (:math:`8t`), rotary cos and sin (:math:`2 \cdot 2td`),
    the final norm, the log-softmax over the vocabulary in fp32 (:math:`4tV`), the shifted labels
    (:math:`8t`) and the loss's weight (4). ``checkpointing="layer"`` keeps, per layer, only its
    input (:math:`2tH`) instead. Exact for llama, mistral, qwen2 and qwen3 (checked in
    ``tests/validate``); other families reuse the nearest layout, and the chapter states their
    measured error.
    """
    s = _check.integer("seq_len", seq_len, minimum=1)
    b = _check.integer("micro_batch", micro_batch, minimum=1)
    ckpt = _choice("checkpointing", checkpointing, CHECKPOINTING, "checkpointing")
    t = s * b
    h, n, v = spec.hidden_size, spec.num_hidden_layers, spec.vocab_size
    nh, nkv = spec.num_attention_heads, spec.num_key_value_heads
    d = spec.head_dim
    if spec.uses_mla:
        d = spec.qk_nope_head_dim + spec.qk_rope_head_dim
    rope = spec.qk_rope_head_dim if spec.uses_mla else d

    def norm(w: int) -> int:  # fp32 input, 1/rms, normalised bf16, output (the next input)
        return 4 * t * w + 4 * t + 2 * t * w + 2 * t * w

    outside = {"embedding": 8 * t, "rotary": 2 * 2 * s * rope, "final_norm": norm(h),
               "loss": 4 * t * v + 8 * t + 4}
    if ckpt == "layer":  # rotary tables now go to the layers as arguments, not saved
        if method != "full":  # frozen embedding and norm weights save nothing of their own
            outside.update(embedding=0, final_norm=4 * t * h + 4 * t)
        return {**outside, "rotary": 0, "layers": n * 2 * t * h}
    kind = _choice("attention", attention, ATTENTION, "attention implementation")
    kv_heads = nkv if nh == nkv else nh
    dv = spec.v_head_dim if spec.uses_mla else d
    if kind == "eager":  # q, k and v repeated to n_h heads, scores fp32 + probs bf16, o's input
        attn = 2 * t * nh * d + 2 * 2 * t * kv_heads * d + 6 * t * nh * s + 2 * t * nh * dv
    else:  # q, k, v as they are, the output (also o's input), its log-sum-exp in fp32
        attn = 2 * t * nh * d + 2 * 2 * t * nkv * d + 2 * t * nh * dv + 4 * t * nh
        if spec.model_type == "phi3":  # sliced from one fused qkv: o's input is a new copy
            attn += 2 * t * nh * dv
    if spec.qk_norm == "head":
        attn += 6 * t * nh * d + 4 * t * nh + 6 * t * nkv * d + 4 * t * nkv
    per_layer_norms = 2 * norm(h)
    dense, moe = n - spec.moe_layers, spec.moe_layers
    mlp = dense * (8 if spec.mlp_gated else 4) * t * spec.intermediate_size
    if moe:
        k, e, ie = spec.experts_per_token, spec.num_experts, spec.moe_intermediate_size
        r = t * k  # routed (token, expert) pairs
        # router softmax (fp32), top-k ids; grouped matmuls: three int64 permutations, the
        # group offsets, each pair's input and output (2rH each), gate_up's output (4rI_e),
        # the activation and down's input (2rI_e each), the routing weight (2r)
        routed = 4 * t * e + 8 * t * k + 24 * r + 4 * e + 4 * r * h + 8 * r * ie + 2 * r
        if spec.model_type in ("mixtral", "qwen2_moe", "qwen3_moe", "deepseek_v3"):
            # top-k weights renormalised (the catalogue's norm_topk_prob): their sum and the
            # fp32 weights; Mixtral keeps them fp32 (4r rather than 2r)
            routed += 4 * t + 4 * t * k + (2 * r if spec.model_type == "mixtral" else 0)
        shared = 8 * t * spec.shared_expert_intermediate_size
        mlp += moe * (routed + shared)
    if method == "full":
        return {**outside, "layers": n * (attn + per_layer_norms) + mlp}
    return _lora_activations(spec, t, s, d, rope, outside, mlp - dense * (
        8 if spec.mlp_gated else 4) * t * spec.intermediate_size,
        _check.integer("lora_rank", lora_rank, minimum=1), target_modules(spec, targets), kind)


def _lora_activations(spec, t, s, d, rope, outside, moe_bytes, r, targets,
                      kind) -> dict[str, int]:
    """LoRA's saved tensors: the base is frozen, so an op saves an input only when the other
    operand needs a gradient. Walk one layer at a time, tracking which tensors need one."""
    h, n = spec.hidden_size, spec.num_hidden_layers
    nh, nkv = spec.num_attention_heads, spec.num_key_value_heads
    hit = {m.name for m in targets if m.kind in ("attention", "mlp", "shared_expert")}
    gated = spec.mlp_gated and "gate_proj" in {m.name for m in linear_modules(spec)}
    width = spec.intermediate_size
    kv_heads = nkv if nh == nkv else nh
    norm = 4 * t * h + 4 * t  # fp32 input and 1/rms; the weight is frozen
    layers = adapters = 0
    rotary = False
    grad = False  # the embedding is frozen: layer 0's input needs no gradient
    for i in range(n):
        moe = spec.mlp_layer_types[i] == "moe"
        b = 0
        if grad:
            b += norm
        qkv = [x in hit for x in ("q_proj", "k_proj", "v_proj")]
        if any(qkv):
            b += 2 * t * h
        adapters += 2 * t * r * sum(qkv)
        gq, gk, gv = (grad or x for x in qkv)
        rotary = rotary or gq or gk
        if spec.qk_norm == "head":  # frozen per-head norms: fp32 input and 1/rms
            b += (4 * t * nh * d + 4 * t * nh) * gq + (4 * t * nkv * d + 4 * t * nkv) * gk
        if kind == "eager":
            b += 2 * t * nh * d * gk + 2 * t * kv_heads * d * gq
            ga = gq or gk
            b += 4 * t * nh * s * ga + 2 * t * nh * s * gv + 2 * t * kv_heads * d * ga
        else:
            ga = gq or gk or gv
            b += (2 * t * nh * d + 4 * t * nkv * d + 2 * t * nh * d + 4 * t * nh) * ga
            if "o_proj" in hit:  # o's input is the attention output, saved above
                b -= 2 * t * nh * d * ga
        if "o_proj" in hit:
            b += 2 * t * nh * d
            adapters += 2 * t * r
        grad = grad or ga or gv or "o_proj" in hit
        if grad:
            b += norm
        if moe:
            b += moe_bytes // max(spec.moe_layers, 1)
        else:
            up = [x in hit for x in ("gate_proj", "up_proj")] if gated else [False, "up_proj" in hit]
            if any(up):
                b += 2 * t * h
            adapters += 2 * t * r * sum(up)
            gg, gu = (grad or x for x in up)
            if gated:
                b += 2 * t * width * (gg + gu + gg)
            else:
                b += 2 * t * width * gu
            if "down_proj" in hit:
                b += 2 * t * width
                adapters += 2 * t * r
            grad = grad or gg or gu or "down_proj" in hit
        layers += b
    return {"embedding": 0, "rotary": outside["rotary"] if rotary else 0,
            "final_norm": norm if grad else 0, "loss": outside["loss"], "layers": layers,
            "lora": adapters}


def activation_bytes(spec: ModelSpec, **kwargs) -> int:
    """The sum of :func:`activation_parts`."""
    return sum(activation_parts(spec, **kwargs).values())


def korthikanti_activation_bytes(spec: ModelSpec, *, seq_len: int, micro_batch: int = 1,
                                 recompute: str = "none") -> int:
    r"""Activation bytes kept for the backward pass (16-bit, no tensor/sequence parallelism):
    :math:`L\,(34\,sbh + 5\,a s^2 b)`, :math:`L \cdot 34\,sbh` (selective) or
    :math:`L \cdot 2\,sbh` (full recomputation); Korthikanti et al. 2022, for a GPT-3-style layer
    (MLP width :math:`4h`, dropout, attention scores materialised)."""
    if not isinstance(spec, ModelSpec):
        raise TypeError(f"spec must be a ModelSpec, got {type(spec).__name__}")
    s = _check.integer("seq_len", seq_len, minimum=1)
    b = _check.integer("micro_batch", micro_batch, minimum=1)
    if recompute not in RECOMPUTE:
        raise _check.unknown("recompute", recompute, RECOMPUTE, what="recomputation")
    h, a, layers = spec.hidden_size, spec.num_attention_heads, spec.num_hidden_layers
    k = KORTHIKANTI
    per_layer = {"none": k["sbh"] * s * b * h + k["as2b"] * a * s * s * b,
                 "selective": k["sbh"] * s * b * h, "full": k["full_sbh"] * s * b * h}[recompute]
    return layers * per_layer


# ---- the whole step -------------------------------------------------------------------------

@dataclass(frozen=True)
class TrainingMemory:
    """Training memory by part, in bytes, per GPU. ``params`` counts the model's parameters,
    ``trainable_params`` those that are trained (the adapters, for LoRA). ``activations`` says how
    activations were counted: ``"excluded"``, ``"saved-tensors/<checkpointing>"`` or
    ``"korthikanti2022/<recompute>"``. ``cpu_bytes`` is what offloading keeps in host memory."""

    params: int
    optimizer: str
    precision: str
    weights_bytes: int
    gradients_bytes: int
    master_weights_bytes: int
    optimizer_bytes: int
    activation_bytes: int
    activations: str
    method: str = "full"
    trainable_params: int = 0
    lora_bytes: int = 0
    gathered_weights_bytes: int = 0
    cpu_bytes: int = 0
    n_gpus: int = 1
    zero: str = "0"

    def __post_init__(self) -> None:
        if not self.trainable_params and self.method == "full":
            object.__setattr__(self, "trainable_params", self.params)

    @property
    def model_state_bytes(self) -> int:
        """Weights + gradients + master weights + optimizer states + adapters."""
        return (self.weights_bytes + self.gradients_bytes + self.master_weights_bytes
                + self.optimizer_bytes + self.lora_bytes)

    @property
    def bytes_per_param(self) -> int:
        """Model-state bytes per parameter, rounded down (16 for mixed-precision Adam)."""
        return self.model_state_bytes // self.params

    @property
    def total_bytes(self) -> int:
        return self.model_state_bytes + self.gathered_weights_bytes + self.activation_bytes

    def parts(self) -> dict[str, int]:
        """The parts in bytes, in a fixed order (the first five always; the rest when used)."""
        out = {"weights": self.weights_bytes, "gradients": self.gradients_bytes,
               "master_weights": self.master_weights_bytes,
               "optimizer_states": self.optimizer_bytes, "activations": self.activation_bytes}
        if self.method != "full":
            out["lora_adapters"] = self.lora_bytes
        if self.gathered_weights_bytes:
            out["gathered_weights"] = self.gathered_weights_bytes
        return out

    def zero_per_gpu_bytes(self, n_gpus: int, stage: int = 3) -> int:
        r"""Model-state bytes per GPU with ZeRO ``stage`` (0–3) over ``n_gpus`` GPUs, plus the
        (unsharded) activations: the first-generation view, without a gather buffer."""
        n = _check.integer("n_gpus", n_gpus, minimum=1)
        s = _check.integer("stage", stage, minimum=0)
        if s > 3:
            raise ValueError(f"stage must be 0, 1, 2 or 3, got {s}")
        sharded = [self.optimizer_bytes + self.master_weights_bytes, self.gradients_bytes,
                   self.weights_bytes]
        kept = sum(sharded[s:])
        return kept + -(-sum(sharded[:s]) // n) + self.activation_bytes + self.lora_bytes

    def to_dict(self) -> dict:
        return {"method": self.method, "optimizer": self.optimizer, "precision": self.precision,
                "params": self.params, "trainable_params": self.trainable_params,
                "zero": self.zero, "n_gpus": self.n_gpus, "activations_counted": self.activations,
                "parts_bytes": self.parts(), "cpu_bytes": self.cpu_bytes,
                "total_bytes": self.total_bytes}


def _ceil_div(a: int, n: int) -> int:
    return -(-a // n)


def fine_tuning_bytes(model: "ModelSpec | str", *, method: str = "full",
                      optimizer: str = "adamw", precision: "str | None" = None,
                      base_dtype: str = "bf16", double_quant: bool = True,
                      lora_rank: int = 16, lora_targets="all-linear",
                      seq_len: "int | None" = None, micro_batch: int = 1,
                      checkpointing: str = "none", grad_accum: int = 1,
                      zero: "str | int" = 0, n_gpus: int = 1,
                      offload: str = "none", attention: str = "sdpa") -> TrainingMemory:
    r"""Memory per GPU to fine-tune ``model`` one step, every part in bytes.

    ``method``: ``"full"``, ``"lora"`` or ``"qlora"``. ``precision`` (trainable parameters;
    default ``"mixed"`` for full, ``"bf16"`` for the adapters): ``"mixed"``, ``"fp32"`` or
    ``"bf16"``. ``base_dtype``: the frozen base of LoRA. ``double_quant``: QLoRA's second
    quantization. ``lora_targets``: see :func:`target_modules`. ``seq_len`` and ``micro_batch`` size
    the activations (left out without ``seq_len``); ``checkpointing``: ``"none"`` or ``"layer"``.
    ``zero``: 0–3 or ``"fsdp"``, over ``n_gpus``; ``offload``: ``"none"``, ``"optimizer"``, ``"all"``.
    """
    spec = model if isinstance(model, ModelSpec) else get_model(model)
    meth = _choice("method", method, METHODS, "training method")
    opt = _optimizer(optimizer)
    if precision is None:
        precision = "mixed" if meth == "full" else "bf16"
    prec = _choice("precision", precision, PRECISIONS, "training precision")
    base = _choice("base_dtype", base_dtype, BASE_DTYPES, "base dtype")
    stage = _choice("zero", zero, ZERO, "ZeRO stage")
    gpus = _check.integer("n_gpus", n_gpus, minimum=1)
    _check.integer("grad_accum", grad_accum, minimum=1)
    off = _choice("offload", offload, OFFLOAD, "offload")
    if off == "all" and stage not in ("3", "fsdp"):
        raise ValueError("offload='all' (weights too) needs zero=3 or 'fsdp'")
    if not isinstance(double_quant, bool):
        raise TypeError(f"double_quant must be True or False, got {double_quant!r}")
    w, g, m, sb = PRECISIONS[prec]
    tensors = parameter_tensors(spec)
    params = spec.param_count()
    if meth == "full":
        trainable = [(x.shape, x.count) for x in tensors]
        n_train = params
        weights = w * params
        lora = 0
    else:
        r = _check.integer("lora_rank", lora_rank, minimum=1)
        trainable = []
        for mod, f in _targets(spec, lora_targets):
            if mod.kind == "expert":
                e = spec.num_experts
                layers = mod.count // e
                trainable += [((f * r * e, mod.in_features), layers),
                              ((mod.out_features, f * r * e), layers)]
            else:
                trainable += [((r, mod.in_features), mod.count),
                              ((mod.out_features, r), mod.count)]
        n_train = sum(Tensors(tuple(s), c, "other").numel * c for s, c in trainable)
        weights = 0
        for x in tensors:
            if meth == "qlora" and x.kind == "linear":
                weights += nf4_bytes(x.numel, double_quant=double_quant) * x.count
            elif meth == "lora" and x.kind != "other":
                weights += BASE_DTYPES[base] * x.numel * x.count
            else:  # embedding, norms, LM head, routers (and QLoRA's experts) in 16 bits
                weights += (4 if base == "fp32" else 2) * x.numel * x.count
        lora = w * n_train
    grads = g * n_train
    master = m * n_train
    states = optimizer_state_bytes(trainable, opt, sb)
    if opt == "adamw8bit":
        states = optimizer_state_bytes(trainable, opt)
    act, how = 0, "excluded"
    if seq_len is not None:
        act = activation_bytes(spec, seq_len=seq_len, micro_batch=micro_batch,
                               checkpointing=checkpointing, method=meth, lora_rank=lora_rank,
                               targets=lora_targets, attention=attention)
        how = f"saved-tensors/{attention}/{checkpointing}"
    level = 3 if stage == "fsdp" else int(stage)
    gathered = 0
    if level >= 1:
        states, master = _ceil_div(states, gpus), _ceil_div(master, gpus)
    if level >= 2:
        grads = _ceil_div(grads, gpus)
    if level >= 3 and gpus > 1:
        full_weights = weights if meth == "full" else weights + lora
        # one layer's weights gathered whole while it runs
        gathered = _ceil_div(full_weights, spec.num_hidden_layers)
        if meth == "full":
            weights = _ceil_div(weights, gpus)
        else:
            weights, lora = _ceil_div(weights, gpus), _ceil_div(lora, gpus)
    cpu = 0
    if off in ("optimizer", "all"):
        cpu += states + master
        states = master = 0
    if off == "all":
        cpu += weights + grads + lora
        weights = grads = lora = 0
    return TrainingMemory(params=params, optimizer=opt, precision=prec, weights_bytes=weights,
                          gradients_bytes=grads, master_weights_bytes=master,
                          optimizer_bytes=states, activation_bytes=act, activations=how,
                          method=meth, trainable_params=n_train, lora_bytes=lora,
                          gathered_weights_bytes=gathered, cpu_bytes=cpu, n_gpus=gpus,
                          zero=stage)


def training_bytes(model: "ModelSpec | str | int", *, optimizer: str = "adam",
                   precision: str = "mixed", seq_len: "int | None" = None, micro_batch: int = 1,
                   recompute: str = "none") -> TrainingMemory:
    r"""Memory to train every parameter of ``model`` (a :class:`~vramlib.models.ModelSpec`, a
    catalogue name, or a parameter count) with ``optimizer`` in ``precision``, per parameter:
    :math:`\Psi (w + g + m + k\,s)` bytes with :math:`(w, g, m, s)` from ``PRECISIONS`` and
    :math:`k` states (2 for Adam): 16 bytes per parameter for mixed-precision Adam (the ZeRO
    paper's rule; step counters and per-tensor layouts are in :func:`fine_tuning_bytes`).
    Activations follow Korthikanti et al. 2022 when ``seq_len`` is given (needs a spec).
    """
    if isinstance(model, (ModelSpec, str)):
        spec = model if isinstance(model, ModelSpec) else get_model(model)
        params = spec.param_count()
    else:
        spec, params = None, _check.integer("model", model, minimum=1)
    opt = _optimizer(optimizer)
    if not isinstance(precision, str) or precision.lower() not in PRECISIONS:
        raise _check.unknown("precision", precision, PRECISIONS, what="training precision")
    prec = precision.lower()
    w, g, m, s = PRECISIONS[prec]
    states = OPTIMIZER_STATES[opt] * s * params
    if opt == "adamw8bit":
        states = 2 * params
    activation, how = 0, "excluded"
    if seq_len is not None:
        if spec is None:
            raise ValueError("seq_len needs a model spec or catalogue name (activations depend "
                             "on hidden size, heads and layers), not a bare parameter count")
        activation = korthikanti_activation_bytes(spec, seq_len=seq_len, micro_batch=micro_batch,
                                                  recompute=recompute)
        how = f"korthikanti2022/{recompute}"
    return TrainingMemory(params=params, optimizer=opt, precision=prec, weights_bytes=w * params,
                          gradients_bytes=g * params, master_weights_bytes=m * params,
                          optimizer_bytes=states, activation_bytes=activation, activations=how)


# ---- what fits ------------------------------------------------------------------------------

def _largest(fits, hi: int = 1 << 24) -> int:
    """The largest x in [1, hi] with fits(x) (monotone), or 0 if none."""
    if not fits(1):
        return 0
    lo = 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def max_micro_batch(model, capacity_bytes: int, *, seq_len: int, **kwargs) -> int:
    """The largest micro-batch whose :attr:`TrainingMemory.total_bytes` fits ``capacity_bytes``
    at ``seq_len`` (0 if none does); other arguments as :func:`fine_tuning_bytes`."""
    spec = model if isinstance(model, ModelSpec) else get_model(model)
    cap = _check.integer("capacity_bytes", capacity_bytes, minimum=1)
    return _largest(lambda b: fine_tuning_bytes(spec, seq_len=seq_len, micro_batch=b,
                                                **kwargs).total_bytes <= cap)


def max_seq_len(model, capacity_bytes: int, *, micro_batch: int = 1, **kwargs) -> int:
    """The longest sequence that fits ``capacity_bytes`` at ``micro_batch`` (0 if none)."""
    spec = model if isinstance(model, ModelSpec) else get_model(model)
    cap = _check.integer("capacity_bytes", capacity_bytes, minimum=1)
    return _largest(lambda s: fine_tuning_bytes(spec, seq_len=s, micro_batch=micro_batch,
                                                **kwargs).total_bytes <= cap)
