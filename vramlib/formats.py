r"""Weight formats: how many bits each kind of parameter takes once a model is stored a given way.

A model's parameters fall into nine groups (the keys of
``ModelSpec.param_groups()``): ``embedding``, ``lm_head``, ``attention``, ``mlp``,
``router``, ``norm``, ``bias``, and the multimodal towers ``vision`` and ``audio``
(see :data:`GROUPS`). A format
gives each group a storage cost :math:`b_g` in bits per parameter, derived from the format's own
layout (its block struct, or the tensors a quantized linear layer registers), and the weights take

.. math::  W = \sum_g \left\lceil \frac{P_g \, b_g}{8} \right\rceil \ \text{bytes.}

Four kinds of format live here, all described in ``vramlib/data/formats.json`` with a source each:

* **uniform** (``fp16``, ``int4``, or any bit width): every group at one precision. This is the
  rule-of-thumb convention :math:`W = P \cdot Q / 8`; real deployments keep embeddings and norms in
  16 bits, which the quantization formats below model.
* **GPTQ / AWQ**: packed integer weights plus an fp16 scale and a packed zero point per group of
  ``g`` input rows (and GPTQ's int32 ``g_idx`` per input row):
  :math:`b = q + (16 + q)/g\ [+\ 32/\text{out}]`.
* **bitsandbytes** (LLM.int8, NF4, FP4, with or without double quantization).
* **GGUF** (llama.cpp): ggml block types (``q4_K`` stores 256 weights in 144 bytes: 4.5 bits) and
  the per-tensor mixes of the ``_M``/``_S`` file types, averaged over layers.
* **microscaling** (MXFP4, NVFP4): 4-bit E2M1 elements sharing an 8-bit scale per block.

Where a cost depends on a matrix's shape or on the layer count, the named formats are evaluated at
the reference shape in the data file (Llama-3-8B); :func:`gptq_format`, :func:`awq_format` and
:func:`gguf_format` evaluate them at any other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Mapping

from . import _check, _data
from .precisions import Precision, get_precision

GROUPS: tuple[str, ...] = (
    "embedding",
    "lm_head",
    "attention",
    "mlp",
    "router",
    "norm",
    "bias",
    "vision",
    "audio",
)
"""The parameter groups a format assigns bits to (the keys of
``ModelSpec.param_groups()``).

``vision`` and ``audio`` are the towers of multimodal checkpoints (encoder and
projector).
Quantized checkpoints leave them unquantized (their quantization configs' ignore and
skip lists name the vision model; llama.cpp keeps them in a separate f16 ``mmproj``
file), so every quantized format gives them 16 bits; a uniform format (``fp16``,
``fp8``, a bit width) stores every parameter alike, towers included."""
TOWER_BITS = Fraction(16)


@dataclass(frozen=True)
class WeightFormat:
    """One way of storing a model's weights: bits per parameter for each parameter group.

    ``group_bits`` holds ``(group, bits)`` pairs for every group in :data:`GROUPS`, exact Fractions
    (a pair tuple rather than a dict so that the format stays hashable); ``bits_by_group`` gives
    them as a dict. ``linear_bits`` is the cost of the format's quantized linear-layer type (Q4_K's
    4.5 for ``Q4_K_M``, whose mix averages higher). ``group_size`` is the quantization group or
    block (GPTQ/AWQ group, bitsandbytes block, ggml or MX block), ``None`` when there is none;
    ``layout`` says what is stored.
    """

    name: str
    aliases: tuple[str, ...]
    family: str
    description: str
    source: str
    note: str
    group_bits: tuple[tuple[str, Fraction], ...]
    linear_bits: Fraction
    group_size: "int | None" = None
    layout: str = ""

    @property
    def bits_by_group(self) -> dict[str, Fraction]:
        """Bits per parameter for each group, as a new dict."""
        return dict(self.group_bits)

    def bits_for(self, group: str) -> Fraction:
        """Bits per parameter of ``group`` (one of :data:`GROUPS`)."""
        _check.text("group", group)
        table = self.bits_by_group
        if group not in table:
            raise _check.unknown("group", group, GROUPS, what="parameter group")
        return table[group]

    def weights_bytes(self, param_groups: Mapping[str, int]) -> int:
        r"""Bytes of weights: :math:`\sum_g \lceil P_g\, b_g / 8 \rceil` over the groups given.

        ``param_groups`` maps group names (see :data:`GROUPS`) to parameter counts, as
        ``ModelSpec.param_groups()`` returns; a missing group counts as 0. Each group is rounded
        up to a whole byte. The result is exact for uniform formats and for block formats whose
        tensors hold whole blocks (a GGUF row is always whole blocks); a mix's average (GGUF
        ``_M``, GPTQ's ``g_idx``) is exact for the shape it was evaluated at.
        """
        if not isinstance(param_groups, Mapping):
            raise TypeError(
                f"param_groups must be a mapping of group name to parameter count "
                f"(keys among {', '.join(GROUPS)}), got {type(param_groups).__name__}"
            )
        table = self.bits_by_group
        total = 0
        for group, count in param_groups.items():
            if not isinstance(group, str) or group not in table:
                raise _check.unknown(
                    "param_groups", group, GROUPS, what="parameter group"
                )
            n = _check.integer(f"param_groups[{group!r}]", count, minimum=0)
            total += math.ceil(n * table[group] / 8)
        return total

    def describe(self) -> str:
        """A few lines for a reader: name, family, bits per group, source and caveats."""
        lines = [
            f"{self.name} ({self.family}): {self.description}",
            f"  linear layers: {_fmt_bits(self.linear_bits)} bits per weight",
        ]
        if self.group_size is not None:
            lines.append(f"  group/block size: {self.group_size}")
        if self.layout:
            lines.append(f"  layout: {self.layout}")
        lines.append(
            "  bits per parameter: "
            + ", ".join(f"{g} {_fmt_bits(b)}" for g, b in self.group_bits)
        )
        lines.append(f"  source: {self.source}")
        if self.note:
            lines.append(f"  note: {self.note}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.name


def _fmt_bits(bits: Fraction) -> str:
    return str(int(bits)) if bits.denominator == 1 else f"{float(bits):.6g}"


def _groups(
    default: Fraction, **overrides: Fraction
) -> tuple[tuple[str, Fraction], ...]:
    towers = default if not overrides else TOWER_BITS  # uniform: every group alike
    return tuple(
        (g, Fraction(overrides.get(g, towers if g in ("vision", "audio") else default)))
        for g in GROUPS
    )


def _reference() -> dict:
    return _data.load("formats.json")["reference_shape"]


# --------------------------------------------------------------------------- uniform


def _uniform(precision: Precision, entry: "dict | None" = None) -> WeightFormat:
    data = _data.load("formats.json")
    entry = entry or {}
    note = data["uniform_note"] + (" " + entry["note"] if entry.get("note") else "")
    return WeightFormat(
        name=entry.get("name", precision.name),
        aliases=tuple(entry.get("aliases", ())),
        family=entry.get("family", "uniform"),
        description=entry.get("description", f"every parameter as {precision.name}"),
        source=entry.get("source", precision.source),
        note=note,
        group_bits=_groups(precision.bits),
        linear_bits=precision.bits,
        group_size=None,
        layout=f"{precision.block_bytes} byte(s) per {precision.block_elems} value(s)",
    )


# --------------------------------------------------------------------------- GPTQ / AWQ


def _group_rows(group_size: int, in_features: int) -> int:
    return in_features if group_size == -1 else group_size


def _check_group_size(group_size: object) -> int:
    if isinstance(group_size, str) and _check.normalise(group_size) in (
        "perchannel",
        "pc",
        "channel",
    ):
        return -1
    if isinstance(group_size, bool) or not isinstance(group_size, int):
        raise TypeError(
            f"group_size must be a positive integer or -1 (per channel), "
            f"got {type(group_size).__name__} {group_size!r}"
        )
    if group_size != -1 and group_size < 1:
        raise ValueError(
            f"group_size must be a positive integer or -1 (per channel), got {group_size}"
        )
    return group_size


def _check_features(in_features: object, out_features: object) -> tuple[int, int]:
    n_in = _check.integer("in_features", in_features, minimum=32)
    n_out = _check.integer("out_features", out_features, minimum=32)
    for name, value in (("in_features", n_in), ("out_features", n_out)):
        if value % 32:
            raise ValueError(
                f"{name} must be a multiple of 32 (values are packed into int32), got {value}"
            )
    return n_in, n_out


def _gptq_name(bits: int, group_size: int) -> str:
    return f"gptq-{bits}bit-" + ("perchannel" if group_size == -1 else f"{group_size}g")


def gptq_format(
    bits: int = 4,
    group_size: "int | str" = 128,
    *,
    in_features: "int | None" = None,
    out_features: "int | None" = None,
) -> WeightFormat:
    r"""GPTQ (AutoGPTQ's packing) at ``bits`` with groups of ``group_size`` input rows.

    A ``Linear(in, out)`` stores ``qweight`` int32[in/32·q, out], ``qzeros``
    int32[⌈in/g⌉, out/32·q], ``scales`` fp16[⌈in/g⌉, out] and ``g_idx`` int32[in], so

    .. math::  b = q + \frac{16 + q}{g} + \frac{32}{\text{out}}

    (``g`` = ``in`` when ``group_size`` is -1, per channel; exact when ``g`` divides ``in``).
    Embeddings, lm_head, router, norms and biases stay fp16. The shape defaults to the data file's
    reference (4096 × 4096).
    """
    spec = _data.load("formats.json")["gptq"]
    q = _check.integer("bits", bits, minimum=1)
    if q not in spec["bits"]:
        raise ValueError(f"bits must be one of {spec['bits']} for GPTQ, got {q}")
    g = _check_group_size(group_size)
    ref = _reference()
    n_in, n_out = _check_features(
        ref["in_features"] if in_features is None else in_features,
        ref["out_features"] if out_features is None else out_features,
    )
    rows = _group_rows(g, n_in)
    n_groups = -(-n_in // rows)
    stored_bits = (
        n_in // 32 * q * n_out * 32  # qweight
        + n_groups * (n_out // 32 * q) * 32  # qzeros
        + n_groups * n_out * 16  # scales
        + n_in * 32
    )  # g_idx
    linear = Fraction(stored_bits, n_in * n_out)
    kept = {k: Fraction(v) for k, v in spec["unquantized"].items()}
    name = _gptq_name(q, g)
    shaped = in_features is not None or out_features is not None
    return WeightFormat(
        name=name if not shaped else f"{name} ({n_in}x{n_out})",
        aliases=() if shaped else _gptq_aliases(q, g, spec["default_group_size"]),
        family=spec["family"],
        description=f"GPTQ {q}-bit, "
        + ("per-channel scales" if g == -1 else f"group size {g}")
        + f", evaluated for a {n_in}x{n_out} linear layer; embeddings, lm_head, router, norms fp16",
        source=spec["source"],
        note=spec["note"],
        group_bits=_groups(linear, **kept),
        linear_bits=linear,
        group_size=g,
        layout=spec["layout"],
    )


def _gptq_aliases(q: int, g: int, default: int) -> tuple[str, ...]:
    if g == -1:
        out = [f"gptq-{q}bit-pc", f"gptq-int{q}-perchannel", f"gptq-w{q}-perchannel"]
    else:
        out = [
            f"gptq-int{q}-{g}g",
            f"gptq-{q}bit-g{g}",
            f"gptq-w{q}g{g}",
            f"gptq-int{q}-g{g}",
        ]
    if g == default:
        out += [f"gptq-{q}bit", f"gptq-int{q}", f"gptq{q}"]
        if q == 4:
            out.append("gptq")
    return tuple(out)


def awq_format(
    bits: int = 4, group_size: "int | str" = 128, *, in_features: "int | None" = None
) -> WeightFormat:
    r"""AWQ (AutoAWQ's ``WQLinear_GEMM``) at 4 bits with groups of ``group_size`` input rows.

    A ``Linear(in, out)`` stores ``qweight`` int32[in, out/8], ``qzeros`` int32[in/g, out/8] and
    ``scales`` fp16[in/g, out]: :math:`b = 4 + (16 + 4)/g`, no ``g_idx``. Only 4 bits exist
    (``WQLinear_GEMM`` refuses others). ``in_features`` matters only per channel (``g`` = ``in``).
    """
    spec = _data.load("formats.json")["awq"]
    q = _check.integer("bits", bits, minimum=1)
    if q not in spec["bits"]:
        raise ValueError(
            f"bits must be one of {spec['bits']} for AWQ (AutoAWQ's WQLinear_GEMM "
            f"supports only 4-bit), got {q}"
        )
    g = _check_group_size(group_size)
    n_in = _check.integer(
        "in_features",
        _reference()["in_features"] if in_features is None else in_features,
        minimum=1,
    )
    rows = _group_rows(g, n_in)
    if n_in % rows:
        raise ValueError(
            f"group_size {g} must divide in_features {n_in} (WQLinear_GEMM asserts it)"
        )
    linear = q + Fraction(16 + q, rows)
    kept = {k: Fraction(v) for k, v in spec["unquantized"].items()}
    name = f"awq-{q}bit-" + ("perchannel" if g == -1 else f"{g}g")
    shaped = in_features is not None and g == -1
    aliases: tuple[str, ...] = ()
    if not shaped:
        aliases = (
            (f"awq-int{q}-{g}g", f"awq-{q}bit-g{g}", f"awq-w{q}g{g}")
            if g != -1
            else (f"awq-{q}bit-pc", f"awq-int{q}-perchannel")
        )
        if g == spec["default_group_size"]:
            aliases += ("awq", f"awq-{q}bit", f"awq-int{q}", f"awq{q}")
    return WeightFormat(
        name=name if not shaped else f"{name} (in {n_in})",
        aliases=aliases,
        family=spec["family"],
        description=f"AWQ {q}-bit, "
        + ("per-channel scales" if g == -1 else f"group size {g}")
        + "; embeddings, lm_head, router, norms fp16",
        source=spec["source"],
        note=spec["note"],
        group_bits=_groups(linear, **kept),
        linear_bits=linear,
        group_size=g,
        layout=spec["layout"],
    )


# --------------------------------------------------------------------------- bitsandbytes


def _bnb(entry: dict) -> WeightFormat:
    data = _data.load("formats.json")
    kept = {k: Fraction(v) for k, v in data["bitsandbytes_unquantized"].items()}
    if (
        "per_row_scale_bits" in entry
    ):  # LLM.int8: one scale per output row of in_features
        linear = entry["element_bits"] + Fraction(
            entry["per_row_scale_bits"], _reference()["in_features"]
        )
        size = None
    else:  # 4-bit blockwise, optionally double-quantized absmax
        block = entry["blocksize"]
        linear = entry["element_bits"] + Fraction(entry["absmax_bits"], block)
        if entry["double_quant"]:
            linear += Fraction(
                entry["nested_absmax_bits"], block * entry["nested_blocksize"]
            )
        size = block
    return WeightFormat(
        name=entry["name"],
        aliases=tuple(entry.get("aliases", ())),
        family="bitsandbytes",
        description=entry["description"]
        + "; embeddings, lm_head, norms and biases 16-bit",
        source=entry["source"],
        note=entry.get("note", ""),
        group_bits=_groups(linear, **kept),
        linear_bits=linear,
        group_size=size,
        layout=entry["layout"],
    )


# --------------------------------------------------------------------------- GGUF


def ggml_type_bits(type_name: str) -> Fraction:
    """Bits per weight of a ggml block type (``"q4_K"`` → 9/2), from its struct's field sizes."""
    _check.text("type_name", type_name)
    types = {
        k: v
        for k, v in _data.load("formats.json")["ggml_types"].items()
        if not k.startswith("_")
    }
    by_key = {_check.normalise(k): v for k, v in types.items()}
    entry = by_key.get(_check.normalise(type_name))
    if entry is None:
        raise _check.unknown("type_name", type_name, types, what="ggml type")
    return Fraction(8 * sum(entry["fields"].values()), entry["block_elems"])


def _use_more_bits(i: int, n: int) -> bool:
    # llama-quant.cpp, with C integer division (i >= n/8 whenever the modulo is reached).
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def _layer_average(
    rule: "str | dict", base: str, n_layers: int, n_gqa: Fraction
) -> Fraction:
    """Average bits of one per-layer tensor under a rule of formats.json's gguf section."""

    def bits(t: str) -> Fraction:
        return ggml_type_bits(base if t == "base" else t)

    if isinstance(rule, str):
        return bits(rule)
    then, other = rule["then"], rule.get("else", "base")
    kind = rule["rule"]
    if kind == "gqa_at_least":
        return bits(then) if n_gqa >= rule["value"] else bits(other)
    if kind == "use_more_bits":
        chosen = [_use_more_bits(i, n_layers) for i in range(n_layers)]
    elif kind == "first_layers":
        chosen = [i < rule["count"] for i in range(n_layers)]
    elif kind == "first_fraction":
        chosen = [i < n_layers // rule["divisor"] for i in range(n_layers)]
    else:  # pragma: no cover - guarded by the data file's tests
        raise ValueError(f"unknown gguf rule {kind!r} in formats.json")
    k = sum(chosen)
    return (k * bits(then) + (n_layers - k) * bits(other)) / n_layers


def gguf_format(
    name: str,
    *,
    n_layers: "int | None" = None,
    hidden_size: "int | None" = None,
    kv_size: "int | None" = None,
    intermediate_size: "int | None" = None,
    q_size: "int | None" = None,
    gated_mlp: "bool | None" = None,
    tied_embeddings: bool = False,
) -> WeightFormat:
    r"""A llama.cpp file type (``"Q4_K_M"``) with its per-tensor mix evaluated for a model's shape.

    ``llama_tensor_get_type`` picks a ggml type per tensor; e.g. ``Q4_K_M`` stores Q4_K but uses
    Q6_K for ``output.weight`` and, in the layers where ``use_more_bits(i, n)`` holds (the first and
    last eighth and every third layer between: half of them), for ``attn_v`` and ``ffn_down``. Each
    group's bits are the size-weighted average over its tensors (attention: q ``d·q_size``, k and v
    ``d·kv_size``, o ``q_size·d``; mlp: gate, up, down ``d·ff`` each, no gate unless ``gated_mlp``)
    and over the layers. Norms, biases and the router stay F32. When ``tied_embeddings`` the token
    embedding takes the output type (the model has no separate lm_head). Defaults: the data file's
    reference shape (Llama-3-8B). Model-specific rules (70B, 8-expert, Falcon) are not modelled.
    """
    _check.text("name", name)
    spec = _data.load("formats.json")["gguf"]
    by_key = {_check.normalise(f["name"]): f for f in spec["ftypes"]}
    key = _check.normalise(name)
    if key.startswith("gguf") and key[4:] in by_key:
        key = key[4:]
    if key not in by_key:
        raise _check.unknown(
            "name", name, [f["name"] for f in spec["ftypes"]], what="GGUF file type"
        )
    ftype = by_key[key]
    ref = _reference()
    layers = _check.integer(
        "n_layers", ref["n_layers"] if n_layers is None else n_layers
    )
    d = _check.integer(
        "hidden_size", ref["hidden_size"] if hidden_size is None else hidden_size
    )
    kv = _check.integer("kv_size", ref["kv_size"] if kv_size is None else kv_size)
    ff = _check.integer(
        "intermediate_size",
        ref["intermediate_size"] if intermediate_size is None else intermediate_size,
    )
    qd = _check.integer("q_size", d if q_size is None else q_size)
    gated = ref["gated_mlp"] if gated_mlp is None else gated_mlp
    if not isinstance(gated, bool):
        raise TypeError(f"gated_mlp must be True or False, got {gated!r}")
    if not isinstance(tied_embeddings, bool):
        raise TypeError(
            f"tied_embeddings must be True or False, got {tied_embeddings!r}"
        )
    base, rules = ftype["base"], ftype["rules"]
    n_gqa = Fraction(qd, kv)

    def tensor(cat: str) -> Fraction:
        return _layer_average(rules.get(cat, "base"), base, layers, n_gqa)

    attention = (
        d * qd * tensor("attn_q")
        + d * kv * tensor("attn_k")
        + d * kv * tensor("attn_v")
        + qd * d * tensor("attn_output")
    ) / (2 * d * qd + 2 * d * kv)
    ffn = ["ffn_up", "ffn_down"] + (["ffn_gate"] if gated else [])
    mlp = sum((tensor(c) for c in ffn), Fraction(0)) / len(ffn)
    output = tensor("output")
    embedding = output if tied_embeddings else tensor("token_embd")
    kept = {g: ggml_type_bits(t) for g, t in spec["kept"].items()}
    shaped = (
        any(
            v is not None
            for v in (
                n_layers,
                hidden_size,
                kv_size,
                intermediate_size,
                q_size,
                gated_mlp,
            )
        )
        or tied_embeddings
    )
    shape_text = (
        f"{layers} layers, hidden {d}, q {qd}, kv {kv}, ff {ff}"
        f"{', gated' if gated else ''}{', tied embeddings' if tied_embeddings else ''}"
    )
    return WeightFormat(
        name=ftype["name"] if not shaped else f"{ftype['name']} ({shape_text})",
        aliases=()
        if shaped
        else (f"gguf-{ftype['name']}", f"gguf_{ftype['name'].lower()}"),
        family="gguf",
        description=ftype["description"] + f"; mix averaged for {shape_text}",
        source=spec["source"]
        + "; block sizes: "
        + _data.load("formats.json")["ggml_types"][base]["source"],
        note=spec["not_modelled"],
        group_bits=_groups(
            Fraction(0),
            embedding=embedding,
            lm_head=output,
            attention=attention,
            mlp=mlp,
            **kept,
        ),
        linear_bits=ggml_type_bits(base),
        group_size=_data.load("formats.json")["ggml_types"][base]["block_elems"],
        layout=f"{base}: "
        + " + ".join(
            f"{field} {size} B"
            for field, size in _data.load("formats.json")["ggml_types"][base][
                "fields"
            ].items()
        ),
    )


# --------------------------------------------------------------------------- microscaling


def _microscaling(entry: dict) -> WeightFormat:
    linear = Fraction(
        entry["block_elems"] * entry["element_bits"] + entry["scale_bits"],
        entry["block_elems"],
    )
    quantized = {g: linear for g in entry["quantized"]}
    return WeightFormat(
        name=entry["name"],
        aliases=tuple(entry.get("aliases", ())),
        family=entry["family"],
        description=entry["description"],
        source=entry["source"],
        note=entry.get("note", ""),
        group_bits=_groups(Fraction(entry["kept_bits"]), **quantized),
        linear_bits=linear,
        group_size=entry["block_elems"],
        layout=entry["layout"],
    )


# --------------------------------------------------------------------------- registry


@lru_cache(maxsize=None)
def _registry() -> dict[str, WeightFormat]:
    data = _data.load("formats.json")
    formats: list[WeightFormat] = [
        _uniform(get_precision(e["precision"]), e) for e in data["uniform"]
    ]
    for q in data["gptq"]["bits"]:
        formats += [gptq_format(q, g) for g in data["gptq"]["group_sizes"]]
    for q in data["awq"]["bits"]:
        formats += [awq_format(q, g) for g in data["awq"]["group_sizes"]]
    formats += [_bnb(e) for e in data["bitsandbytes"]]
    formats += [gguf_format(f["name"]) for f in data["gguf"]["ftypes"]]
    formats += [_microscaling(e) for e in data["microscaling"]]
    table: dict[str, WeightFormat] = {}
    for fmt in formats:
        for key in (fmt.name, *fmt.aliases):
            k = _check.normalise(key)
            if (
                k in table and table[k] is not fmt
            ):  # pragma: no cover - data-file consistency
                raise ValueError(
                    f"formats.json: {key!r} names both {table[k].name} and {fmt.name}"
                )
            table[k] = fmt
    return table


def format_names() -> list[str]:
    """Canonical names of the named weight formats (aliases not included), sorted."""
    return sorted({f.name for f in _registry().values()}, key=str.lower)


#: the precision that means "the checkpoint's own" (its quantization_config, else its
#: dtype; bf16 for a model without a checkpoint), the same as ``precision=None``
AS_PUBLISHED = "as published"


def is_as_published(precision: object) -> bool:
    """Whether ``precision`` asks for the checkpoint as published (``None`` or
    :data:`AS_PUBLISHED`)."""
    return precision is None or (
        isinstance(precision, str) and precision.strip().lower() == AS_PUBLISHED
    )


def get_format(
    name_or_bits: "str | int | Precision | WeightFormat", *, argument: str = "precision"
) -> WeightFormat:
    """Look a weight format up by name, or build a uniform one from a bit width or precision.

    Names are case- and separator-insensitive: ``"Q4_K_M"``, ``"gguf-q4_k_m"``,
    ``"gptq-4bit-128g"``, ``"gptq-int4"``, ``"awq"``, ``"nf4-dq"``, ``"bnb-int8"``, ``"mxfp4"``,
    ``"nvfp4"``. A bit width (``4``, ``"16bit"``) or a precision name from
    :mod:`vramlib.precisions` (``"bfloat16"``) gives a UNIFORM format, every group at that
    precision: the rule of thumb's convention. Named formats win over precisions of the same
    name (``"q8_0"`` is the GGUF file type). An unknown name raises ``ValueError`` with the
    closest names; a negative or fractional width (``"-5"``, ``"0,9"``) raises too.
    Messages call the value ``argument`` (the estimate's ``precision``).
    """
    if isinstance(name_or_bits, WeightFormat):
        return name_or_bits
    if isinstance(name_or_bits, Precision):
        return _uniform_for(name_or_bits)
    if isinstance(name_or_bits, bool) or not isinstance(
        name_or_bits, (str, int, float)
    ):
        raise TypeError(
            f"{argument} must be a format name such as 'Q4_K_M' or a bit width such "
            f"as 4, got {type(name_or_bits).__name__} {_check.shown(name_or_bits)}"
        )
    if isinstance(name_or_bits, float) and not name_or_bits.is_integer():
        raise ValueError(
            f"{argument} must be a whole bit width such as 4 (or a format name); "
            f"got {name_or_bits!r}"
        )
    if isinstance(name_or_bits, str):
        _check.text(argument, name_or_bits)
        found = _registry().get(_check.normalise(name_or_bits))
        if found is not None:
            return found
    try:
        precision = get_precision(name_or_bits, argument=argument)
    except ValueError as err:
        if isinstance(name_or_bits, str) and str(err).startswith("unknown "):
            raise _check.unknown(
                argument,
                name_or_bits,
                format_names() + ["<bits, e.g. 4>"],
                what="weight format",
            ) from None
        raise
    return _uniform_for(precision)


def _uniform_for(precision: Precision) -> WeightFormat:
    """The named uniform format for a precision when there is one (fp16 …), else a new one."""
    for entry in _data.load("formats.json")["uniform"]:
        if get_precision(entry["precision"]) == precision:
            return _registry()[_check.normalise(entry["name"])]
    return _uniform(precision)


def kv_cache_dtypes() -> list[str]:
    """KV-cache element types the serving engines offer (names of :mod:`vramlib.precisions`).

    vLLM's ``--kv-cache-dtype`` (fp8, fp8_e5m2; auto = the model's fp16/bf16) and llama.cpp's
    ``--cache-type-k/v`` (f16, bf16, q8_0, q4_0), plus int8 (LMDeploy, TensorRT-LLM).
    :func:`kv_cache_dtype_source` gives each one's source.
    """
    return [e["name"] for e in _data.load("formats.json")["kv_cache_dtypes"]]


def kv_cache_dtype_source(name: str) -> str:
    """Where a KV-cache dtype of :func:`kv_cache_dtypes` comes from (the engines' options)."""
    _check.text("name", name)
    entries = {
        _check.normalise(e["name"]): e
        for e in _data.load("formats.json")["kv_cache_dtypes"]
    }
    entry = entries.get(_check.normalise(name))
    if entry is None:
        raise _check.unknown("name", name, kv_cache_dtypes(), what="KV-cache dtype")
    return entry["source"] + (f" ({entry['note']})" if entry.get("note") else "")
