r"""The memory estimate: weights, KV cache, activations and runtime overhead, as separate parts.

.. math::  M = \underbrace{\textstyle\sum_g \lceil P_g\, b_g / 8 \rceil}_{\text{weights}}
          + \underbrace{M_{KV}(T, B)}_{\text{KV cache}}
          + \underbrace{T_p B\,(2H + 3 I_a)\, a + B V \cdot 4}_{\text{activation peak}}
          + \underbrace{C + f\,(\text{the rest})}_{\text{overhead}}

* **weights**: each parameter group :math:`g` (embedding, attention, MLP, …) of :math:`P_g`
  parameters stored at :math:`b_g` bits, as the chosen format stores it (:mod:`vramlib.formats`;
  GGUF mixes evaluated at the model's own shape, :func:`format_for_model`);
* **KV cache**: exact, per layer type (:mod:`vramlib.kv`), for a context of :math:`T` tokens in each
  of :math:`B` sequences;
* **activation peak** during the prefill of :math:`T_p` tokens per sequence (the whole context, or
  the engine's prefill chunk): residual stream and its normalised copy (:math:`2H`), the MLP's gate,
  up and product (:math:`3 I_a`, with :math:`I_a` the active MLP width) at :math:`a` bytes, plus the
  last token's logits in fp32;
* **overhead**: the CUDA context :math:`C` plus a fraction :math:`f` of everything else for the
  caching allocator.

The activation and overhead constants live in ``vramlib/data/overhead.json`` with their sources; they
are a model, not a measurement, and chapter 7 holds them against measured memory.

``overhead="flat"`` gives the source articles' rule instead: weights × 1.2, no separate KV cache or
activations, so the two can be compared on the same model and format.

With tensor parallelism over :math:`t` GPUs (:meth:`Estimate.per_gpu`), attention and MLP matrices,
embeddings and the LM head are split :math:`t` ways; norms and routers are replicated; the KV cache
splits by KV head (replicated when :math:`t` exceeds the KV heads, and for MLA's latent, which has no
heads); the hidden-sized activations are replicated and the MLP's are split; every GPU holds its own
CUDA context.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from fractions import Fraction

from . import _check, _data
from .formats import WeightFormat, get_format, gguf_format, is_as_published
from .kv import kv_cache_bytes
from .models import ModelSpec, get_model
from .precisions import get_precision
from .tables import text_table
from .units import format_bytes

PARTS = ("weights", "kv_cache", "activations", "overhead")
_SPLIT_GROUPS = ("embedding", "lm_head", "attention", "mlp", "bias")
OVERHEAD_MODELS = ("vramlib", "flat")
#: vLLM's ``--kv-cache-dtype auto``: the cache takes the model's compute dtype
#: (:func:`default_kv_dtype`)
AUTO_KV_DTYPE = "auto"
#: what the flat overhead model leaves out, and so what it does not use
FLAT_UNUSED = ("context", "batch", "kv_dtype", "prefill_chunk")


def _constants() -> dict:
    return _data.load("overhead.json")


def _resolve_spec(model: "ModelSpec | str") -> ModelSpec:
    if isinstance(model, ModelSpec):
        return model
    if isinstance(model, str):
        return get_model(model)
    raise TypeError(
        f"model must be a ModelSpec or a catalogue name, got {type(model).__name__} "
        f"{_check.shown(model)}"
    )


def default_kv_dtype(fmt: WeightFormat) -> str:
    """The KV cache's element type when none is given: fp32 for fp32/tf32 weights, else bf16
    (quantized weights are dequantized to 16-bit activations, which is what the cache stores)."""
    return "fp32" if fmt.name in ("fp32", "tf32") else "bf16"


def format_for_model(fmt: WeightFormat, spec: ModelSpec) -> WeightFormat:
    """``fmt`` as it applies to ``spec``.

    A GGUF file type is a per-tensor mix whose average depends on the model's shape (which layers get
    the larger type, how large K and V are next to Q), so a named GGUF type is re-evaluated at
    ``spec``'s own layers and widths (:func:`vramlib.formats.gguf_format`). Other formats are used as
    they are: their bits do not depend on the model, except GPTQ's per-row ``g_idx`` and zeros, which
    change the bits per weight by a few thousandths between common widths.
    """
    if fmt.family != "gguf" or "(" in fmt.name:
        return fmt
    ff = (
        spec.moe_intermediate_size
        if spec.is_moe and spec.moe_intermediate_size
        else spec.intermediate_size
    )
    shaped = gguf_format(
        fmt.name,
        n_layers=spec.num_hidden_layers,
        hidden_size=spec.hidden_size,
        kv_size=spec.num_key_value_heads * spec.head_dim,
        intermediate_size=ff,
        q_size=spec.num_attention_heads * spec.head_dim,
        gated_mlp=spec.mlp_gated,
        tied_embeddings=spec.tie_word_embeddings,
    )
    return dataclasses.replace(shaped, name=fmt.name, aliases=fmt.aliases)


@dataclass(frozen=True)
class Estimate:
    """Memory for serving one model, by part. Bytes everywhere; ``total_bytes`` sums the parts.

    Build one with :func:`estimate`. ``per_gpu(t)`` splits it over ``t`` tensor-parallel GPUs.
    """

    model: str
    precision: str
    kv_dtype: str
    context: int
    batch: int
    weights_bytes: int
    kv_cache_bytes: int
    activation_bytes: int
    overhead_bytes: int
    overhead_model: str
    params: int
    prefill_tokens: int
    spec: ModelSpec = field(repr=False, compare=False)
    format: WeightFormat = field(repr=False, compare=False)
    flat_factor: float = field(default=1.2, repr=False)
    # the weights as published (vramlib.checkpoint), when the precision was not given
    published: object = field(default=None, repr=False, compare=False)
    kv_dtype_auto: bool = field(default=False, repr=False)
    # context tokens the images added (already in ``context``): vramlib.multimodal
    image_tokens: int = field(default=0, repr=False)

    @property
    def total_bytes(self) -> int:
        return (
            self.weights_bytes
            + self.kv_cache_bytes
            + self.activation_bytes
            + self.overhead_bytes
        )

    def parts(self) -> dict[str, int]:
        """The four parts in bytes, in a fixed order: weights, kv_cache, activations, overhead."""
        return {
            "weights": self.weights_bytes,
            "kv_cache": self.kv_cache_bytes,
            "activations": self.activation_bytes,
            "overhead": self.overhead_bytes,
        }

    def per_gpu(self, tensor_parallel: int = 1) -> dict[str, int]:
        """The parts held by each of ``tensor_parallel`` GPUs (see the module notes for the split).

        Raises ``ValueError`` when the model's heads cannot be split that many ways.
        """
        t = _check.integer("tensor_parallel", tensor_parallel, minimum=1)
        reason = tensor_parallel_problem(self.spec, t)
        if reason:
            raise ValueError(reason)
        return _split(self, t)

    def table(self, unit: str = "both") -> str:
        """A fixed-width table of the parts in GB (10^9 B) and GiB (2^30 B)."""
        rows = [
            (
                name.replace("_", " "),
                format_bytes(b, "GB", 2),
                format_bytes(b, "GiB", 2),
            )
            for name, b in [*self.parts().items(), ("total", self.total_bytes)]
        ]
        return text_table(["part", "GB (10^9 B)", "GiB (2^30 B)"], rows)

    @property
    def defaulted_keys(self) -> tuple[str, ...]:
        """Config keys the model's reader filled with transformers' class defaults
        (``()`` when the config gave them all, or when the spec does not record it)."""
        return tuple(getattr(self.spec, "defaulted_keys", ()) or ())

    @property
    def inputs_unused(self) -> tuple[str, ...]:
        """Arguments this estimate did not use: the flat model ignores everything but
        the weights."""
        return FLAT_UNUSED if self.overhead_model == "flat" else ()

    def kv_dtype_text(self) -> str:
        """The KV dtype and, when it was not given, why it is that one."""
        if self.kv_dtype_auto:
            return f"{self.kv_dtype} (auto: the weights' compute dtype)"
        return self.kv_dtype

    def to_dict(self) -> dict:
        """Plain data (for JSON): inputs, parts in bytes, and the total.

        ``kv_dtype_auto``: the KV dtype was not given (or was ``"auto"``) and follows
        the weights; ``inputs_unused``: arguments the overhead model ignores (all but
        the weights for ``"flat"``); ``defaulted_keys``: config keys that took class
        defaults."""
        return {
            "model": self.model,
            "params": self.params,
            "precision": self.precision,
            "kv_dtype": self.kv_dtype,
            "kv_dtype_auto": self.kv_dtype_auto,
            "context": self.context,
            "batch": self.batch,
            "prefill_tokens": self.prefill_tokens,
            "overhead_model": self.overhead_model,
            "flat_factor": self.flat_factor if self.overhead_model == "flat" else None,
            "inputs_unused": list(self.inputs_unused),
            "defaulted_keys": list(self.defaulted_keys),
            "parts_bytes": self.parts(),
            "total_bytes": self.total_bytes,
        }

    def __str__(self) -> str:
        if self.overhead_model == "flat":
            head = (
                f"{self.model}: {self.precision} weights x {self.flat_factor:g} "
                f"(flat overhead model: no KV cache or activations; context, batch "
                f"and KV dtype not used)"
            )
        else:
            head = (
                f"{self.model}: {self.precision} weights, "
                f"{self.kv_dtype_text()} KV cache, "
                f"context {self.context:,} x batch {self.batch:,} "
                f"({self.overhead_model} overhead model)"
            )
        if self.defaulted_keys:
            keys = ", ".join(self.defaulted_keys)
            head += f"\nconfig keys absent, class defaults used: {keys}"
        return head + "\n" + self.table()


def estimate(
    model: "ModelSpec | str",
    *,
    precision: "str | int | None" = None,
    context: int = 4096,
    batch: int = 1,
    kv_dtype: "str | None" = None,
    prefill_chunk: "int | None" = None,
    overhead: str = "vramlib",
    flat_factor: float = 1.2,
    images: int = 0,
    image_size: "tuple[int, int] | None" = None,
) -> Estimate:
    r"""Estimate the memory to serve ``model`` (a :class:`ModelSpec` or a catalogue name).

    ``precision`` is a weight format (``"bf16"``, ``"Q4_K_M"``, ``"gptq-4bit-128g"``, a bit width …),
    or ``None`` / ``"as published"`` for the checkpoint's own (its quantization config, else its
    dtype; bf16 for a model that carries no checkpoint), ``context`` the tokens per sequence
    (prompt plus generated), ``batch`` the sequences served at once,
    ``kv_dtype`` the cache's element type (default: :func:`default_kv_dtype`), ``prefill_chunk`` the
    most prompt tokens an engine processes in one step (``None``: the whole context at once).
    ``kv_dtype="auto"`` (vLLM's spelling) is the same as ``None``.
    ``overhead="flat"`` is the source articles' rule: weights × ``flat_factor``, nothing else.
    All arithmetic is on integers (and exact fractions), so the bytes are exact at any
    size. ``images`` per sequence (of ``image_size`` = (width, height) pixels) add
    their tokens to ``context`` (:func:`vramlib.multimodal.image_tokens`;
    ``image_tokens`` on the result); a family whose count depends on the size needs
    ``image_size``.
    """
    spec = _resolve_spec(model)
    published = None
    if is_as_published(precision):  # the checkpoint's own precision, else bf16
        precision = "bf16"
        if spec.checkpoint is not None:
            from .checkpoint.source import published_for

            published = published_for(spec)
    fmt = format_for_model(get_format(precision, argument="precision"), spec)
    context = _check.integer("context", context, minimum=1)
    added = 0
    if _check.integer("images", images, minimum=0):  # multimodal hook (issue 13)
        from .multimodal import tokens_for_images

        added = tokens_for_images(spec, images, image_size)
        context += added
    batch = _check.integer("batch", batch, minimum=1)
    if not isinstance(overhead, str) or overhead not in OVERHEAD_MODELS:
        raise _check.unknown(
            "overhead", overhead, OVERHEAD_MODELS, what="overhead model"
        )
    flat_factor = _check.number("flat_factor", flat_factor, minimum=1.0, inclusive=True)
    chunk = (
        context
        if prefill_chunk is None
        else min(context, _check.integer("prefill_chunk", prefill_chunk))
    )
    auto = kv_dtype is None or (
        isinstance(kv_dtype, str) and kv_dtype.strip().lower() == AUTO_KV_DTYPE
    )
    kv_given = default_kv_dtype(fmt) if auto else kv_dtype
    if auto and published is not None and published.kv_cache_dtype is not None:
        kv_given = published.kv_cache_dtype  # the checkpoint's own KV-cache scheme
    kv_name = get_precision(kv_given, argument="kv_dtype").name
    common = dict(
        model=spec.name or spec.model_type,
        precision=fmt.name,
        context=context,
        batch=batch,
        params=spec.param_count(),
        prefill_tokens=chunk,
        spec=spec,
        format=fmt,
        overhead_model=overhead,
        flat_factor=flat_factor,
        published=published,
        kv_dtype_auto=auto,
        image_tokens=added,
    )
    if published is not None:
        common["precision"] = f"as published: {published.label}"
    probe = Estimate(
        kv_dtype=kv_name,
        weights_bytes=0,
        kv_cache_bytes=0,
        activation_bytes=0,
        overhead_bytes=0,
        **common,
    )
    parts = _split(probe, 1)
    return Estimate(
        kv_dtype=kv_name,
        weights_bytes=parts["weights"],
        kv_cache_bytes=parts["kv_cache"],
        activation_bytes=parts["activations"],
        overhead_bytes=parts["overhead"],
        **common,
    )


def tensor_parallel_problem(spec: ModelSpec, tensor_parallel: int) -> str:
    """Why ``spec`` cannot be split over ``tensor_parallel`` GPUs, or ``""`` if it can.

    Tensor parallelism gives each GPU whole attention heads, so the size must divide the query
    heads; the KV heads are split too, so it must divide them or be a multiple of them (then each
    KV head is replicated)."""
    t = _check.integer("tensor_parallel", tensor_parallel, minimum=1)
    heads, kv = spec.num_attention_heads, spec.num_key_value_heads
    if heads % t:
        sizes = valid_tensor_parallel_sizes(spec, min(heads, 1 << 16))
        return (
            f"tensor parallel size {t:,} does not divide the {heads:,} attention "
            f"heads of {spec.name or spec.model_type} (sizes that do: "
            f"{', '.join(map(str, sizes))})"
        )
    if not spec.uses_mla and kv % t and t % kv:
        return (
            f"tensor parallel size {t} neither divides nor is a multiple of the {kv} KV heads of "
            f"{spec.name or spec.model_type}"
        )
    return ""


def valid_tensor_parallel_sizes(spec: ModelSpec, up_to: int = 64) -> list[int]:
    """Tensor-parallel sizes from 1 to ``up_to`` that ``spec``'s heads allow."""
    up_to = _check.integer("up_to", up_to, minimum=1, maximum=1 << 16)
    heads, kv = spec.num_attention_heads, spec.num_key_value_heads
    # a size must divide the heads, so none exceeds them: the loop is bounded by the
    # smaller
    return [
        t
        for t in range(1, min(up_to, heads) + 1)
        if heads % t == 0 and (spec.uses_mla or kv % t == 0 or t % kv == 0)
    ]


def _ceil(x: "int | Fraction") -> int:
    """The least integer >= ``x``, exactly (``math.ceil`` of a float loses bytes past
    2^53)."""
    return -(-x.numerator // x.denominator) if isinstance(x, Fraction) else int(x)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _exact(value: float) -> Fraction:
    """A float constant as the decimal it was written as (0.05 -> 1/20, 1.2 -> 6/5)."""
    return Fraction(repr(float(value)))


def _group_bytes(fmt: WeightFormat, groups: dict[str, int]) -> dict[str, int]:
    return {g: _ceil(n * Fraction(fmt.bits_for(g)) / 8) for g, n in groups.items()}


def _split(e: Estimate, t: int) -> dict[str, int]:
    spec, fmt = e.spec, e.format
    by_group = _group_bytes(fmt, spec.param_groups())
    # persistent buffers (score biases, layer scalars) are kept whole on every GPU, in
    # the precision of the norms
    buffers = spec.buffer_bytes(Fraction(fmt.bits_for("norm")) / 8)
    if buffers:
        by_group["norm"] = by_group.get("norm", 0) + buffers
    if e.published is not None:  # checkpoint hook (issue 13)
        by_group = e.published.group_bytes()
    split = sum(b for g, b in by_group.items() if g in _SPLIT_GROUPS)
    kept = sum(b for g, b in by_group.items() if g not in _SPLIT_GROUPS)
    weights = _ceil_div(split, t) + kept
    if e.overhead_model == "flat":
        return {
            "weights": weights,
            "kv_cache": 0,
            "activations": 0,
            "overhead": _ceil(weights * (_exact(e.flat_factor) - 1)),
        }
    kv_total = kv_cache_bytes(spec, tokens=e.context, batch=e.batch, dtype=e.kv_dtype)
    kvh = spec.num_key_value_heads
    if spec.uses_mla or t == 1:
        kv = kv_total
    else:
        kv = _ceil_div(kv_total, min(t, kvh))
    c = _constants()
    act = c["activation_model"]
    a = 4 if fmt.name in ("fp32", "tf32") else 2
    tokens = e.prefill_tokens * e.batch
    width = spec.intermediate_size
    if spec.is_moe:
        moe_width = (
            spec.experts_per_token * spec.moe_intermediate_size
            + spec.shared_expert_intermediate_size
        )
        width = max(moe_width, width) if "dense" in spec.mlp_layer_types else moe_width
    activations = (
        tokens * act["hidden_copies"] * spec.hidden_size * a
        + _ceil_div(tokens * act["intermediate_copies"] * width * a, t)
        + e.batch * spec.vocab_size * act["logits_bytes_per_element"]
    )
    rest = weights + kv + activations
    overhead = c["cuda_context_bytes"]["value"] + _ceil(
        rest * _exact(c["allocator_fraction"]["value"])
    )
    return {
        "weights": weights,
        "kv_cache": kv,
        "activations": activations,
        "overhead": overhead,
    }
