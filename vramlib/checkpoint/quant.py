r"""Weights as a checkpoint publishes them: its ``quantization_config``, tensor by
tensor.

A quantized checkpoint does not store one precision. Each linear layer the method
converts holds its packed weight plus the tensors that decode it (scales, zero points,
group indices, global scales); the layers it leaves out (the LM head, routers, the list
each format names) stay in the model's own dtype, as do embeddings and norms. For a
linear layer of :math:`K` inputs and :math:`N` outputs the stored bytes are, by method
(the layouts are read from the code that writes or loads them, cited at each function):

* fp8, block :math:`b_o \times b_i`: :math:`NK + 4\lceil N/b_o\rceil\lceil K/b_i\rceil`
  (an fp32 ``weight_scale_inv`` per block; one scalar per tensor without blocks);
* fbgemm_fp8: :math:`NK + 4N` (an fp32 scale per output channel);
* compressed-tensors: the packed weight and a scale per tensor, channel, group or block;
  zero points when asymmetric, ``g_idx`` for group act-order; nvfp4's fp8 scale per 16
  and fp32 global scale;
* ModelOpt FP8 / NVFP4: :math:`NK + 8` / :math:`NK/2 + NK/16 + 8`;
* mxfp4 (gpt-oss): experts only, :math:`NK/2 + NK/32` (e2m1 pairs, an e8m0 scale per
  32);
* GPTQ (:math:`q` bits, group :math:`g`):
  :math:`qNK/8 + 2N\lceil K/g\rceil + qN\lceil K/g\rceil/8 + 4K`;
* AWQ (GEMM): :math:`qNK/8 + 2N\lceil K/g\rceil + qN\lceil K/g\rceil/8`;
* bitsandbytes 4-bit: :math:`\lceil NK/2\rceil`, an absmax per 64 values (fp32; or
  uint8 plus an fp32 absmax per 256 blocks when double-quantized), code books and a JSON
  quant state;
* bitsandbytes 8-bit: :math:`NK + 4N`.

:func:`published_weights` adds these up over every linear module of a
:class:`~vramlib.models.ModelSpec` (:meth:`~vramlib.models.ModelSpec.linear_modules`,
walked layer by layer so that ignore lists naming single layers apply) and the
parameters that are not linear layers. An unknown method, or a key with a value the
method does not have, is an error naming that key: a quantized checkpoint is never sized
as bf16 by default.
"""

from __future__ import annotations

import fnmatch
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from .. import _check
from ..layers import Linear
from .dtypes import SAFETENSORS_BYTES, VRAMLIB_NAME, nbytes

METHODS = (
    "fp8",
    "fbgemm_fp8",
    "compressed-tensors",
    "modelopt",
    "mxfp4",
    "gptq",
    "awq",
    "bitsandbytes",
)

#: estimate groups (``vramlib.formats.GROUPS``) of each kind of linear layer
_GROUP_OF_KIND = {
    "attention": "attention",
    "mixer": "attention",
    "mlp": "mlp",
    "expert": "mlp",
    "shared_expert": "mlp",
    "router": "router",
    "lm_head": "lm_head",
}


@dataclass(frozen=True)
class Stored:
    """One tensor a quantized module stores: its name suffix, safetensors dtype,
    elements."""

    suffix: str
    dtype: str
    elements: int

    @property
    def nbytes(self) -> int:
        return nbytes(self.dtype, self.elements)


@dataclass(frozen=True)
class ModuleBytes:
    """Linear modules of one name and shape stored one way: ``count`` copies in the
    model.

    ``scheme`` says how (``"fp8 block 128x128"``, ``"bf16"``); ``tensors`` what one copy
    stores; ``params`` and ``nbytes`` cover all copies."""

    name: str
    kind: str
    in_features: int
    out_features: int
    scheme: str
    count: int
    params: int
    nbytes: int
    tensors: tuple[Stored, ...]

    @property
    def group(self) -> str:
        return _GROUP_OF_KIND.get(
            self.kind, "attention" if self.kind != "lm_head" else "lm_head"
        )


@dataclass(frozen=True)
class WeightsBreakdown:
    """The bytes a checkpoint stores for one model, module by module.

    ``method`` is the ``quant_method`` as published (``"none"`` for a plain checkpoint),
    ``label`` a short name for answers (``"fp8 block 128x128 + bf16"``), ``dtype`` the
    safetensors name of the unquantized tensors, ``modules`` the linear layers and
    ``other`` the remaining parameters by group (embedding, norms...) as (group, params,
    bytes). ``kv_cache_dtype``: the cache type the checkpoint's KV scheme asks for, if
    any.
    """

    method: str
    label: str
    dtype: str
    modules: tuple[ModuleBytes, ...]
    other: tuple[tuple[str, int, int], ...]
    kv_cache_dtype: str | None = None
    source: str = ""

    @property
    def total_bytes(self) -> int:
        return sum(m.nbytes for m in self.modules) + sum(b for _, _, b in self.other)

    @property
    def params(self) -> int:
        """Parameters as transformers counts them (quantization tensors not
        included)."""
        return sum(m.params for m in self.modules) + sum(p for _, p, _ in self.other)

    def group_bytes(self) -> dict[str, int]:
        """Bytes by the estimate's parameter groups (embedding, lm_head, attention, mlp,
        router, norm): what :func:`vramlib.estimate` splits over tensor-parallel
        GPUs."""
        out: dict[str, int] = {}
        for m in self.modules:
            out[m.group] = out.get(m.group, 0) + m.nbytes
        for group, _, b in self.other:
            out[group] = out.get(group, 0) + b
        return out

    def by_scheme(self) -> dict[str, int]:
        """Bytes of linear layers by how they are stored, plus ``"other"``."""
        out: dict[str, int] = {}
        for m in self.modules:
            out[m.scheme] = out.get(m.scheme, 0) + m.nbytes
        out["other (embedding, norms)"] = sum(b for _, _, b in self.other)
        return out

    def __str__(self) -> str:
        rows = "\n".join(f"  {k}: {v:,} B" for k, v in self.by_scheme().items())
        return f"{self.label}: {self.total_bytes:,} bytes of weights\n{rows}"


# ---- the modules of a model, by full name
# ---------------------------------------------


# Where transformers (5.24) keeps each part of a decoder layer, by model type, where it
# is not the common layout (model.layers.N.self_attn, .mlp, .mlp.experts,
# .mlp.shared_experts); tests/validate/test_module_names.py holds every family to it.
_LAYERS = {"gpt_neox": "gpt_neox.layers", "falcon": "transformer.h"}
_LAYERS["mamba2"] = "backbone.layers"
_ATTENTION = {
    "gpt_neox": "attention",
    "falcon": "self_attention",
    "nemotron_h": "mixer",
}
_SSM = dict.fromkeys(("granitemoehybrid", "falcon_h1", "jamba"), "mamba")
_FFN = dict.fromkeys(("falcon_h1", "jamba", "lfm2", "llama4_text"), "feed_forward")
_FFN.update(nemotron_h="mixer", granitemoehybrid="block_sparse_moe")
_SHARED = {"llama4_text": "shared_expert", "hunyuan_v1_moe": "shared_mlp"}
#: model types whose shared expert (or dense MLP) sits beside the experts, in the layer
_SHARED_IN_LAYER = {"granitemoehybrid": "shared_mlp"}
#: routers kept inside a submodule of the feed-forward block
_ROUTER_PARENT = {"hunyuan_v1_moe": "gate"}
_MIXER_ATTR = {
    "GatedDeltaNet": "linear_attn",
    "ShortConv": "conv",
    "ParallelHybrid": "",  # its linears name their own parents (self_attn, mamba)
}


def _shared_parent(model_type: str) -> str:
    if model_type in _SHARED:
        return _SHARED[model_type]
    return "shared_expert" if model_type.startswith("qwen") else "shared_experts"


def _mixer_attr(model_type: str, mixer: Any) -> str:
    kind = type(mixer).__name__
    if kind in _MIXER_ATTR:
        return _MIXER_ATTR[kind]
    if kind in ("Mamba1", "Mamba2"):
        return _SSM.get(model_type, "mixer")
    return _ATTENTION.get(model_type, "self_attn")


def _join(*parts: str) -> str:
    return ".".join(p for p in parts if p)


def layers_prefix(spec: Any) -> str:
    """The path of the decoder layers in the checkpoint: ``model.layers``, or a
    multimodal model's ``model.language_model.layers`` (transformers 5)."""
    if getattr(spec, "towers", ()):
        return "model.language_model.layers"
    return _LAYERS.get(spec.model_type, "model.layers")


def module_names(
    spec: Any, *, fused_experts: bool = False
) -> Iterator[tuple[str, Linear]]:
    """Every linear module of ``spec`` by transformers' full name, with one copy's
    shape.

    Experts are named by expert 0 (``model.layers.3.mlp.experts.0.gate_proj``) with
    ``count`` = the experts in that layer, and stored split (gate, up, down) as
    published checkpoints store them, unless ``fused_experts`` (gpt-oss keeps
    ``gate_up_proj`` fused, as transformers 5 builds every family).
    The LM head is ``lm_head``. The names are what ignore lists match; a multimodal
    model's layers are under ``model.language_model`` (:func:`layers_prefix`)."""
    mt = spec.model_type
    shared = _shared_parent(mt)
    ffn_attr = _FFN.get(mt, "mlp")
    prefix = layers_prefix(spec)
    for i, layer in enumerate(spec.layers):
        base = f"{prefix}.{i}"
        mixer = _mixer_attr(mt, layer.mixer)
        for lin in layer.mixer.linears():
            yield _join(base, mixer, lin.parent, lin.name), lin
        # Gemma 4's feed-forward parts hang off the layer itself (lin.parent says where)
        ffn = "" if type(layer.ffn).__name__ == "Gemma4FeedForward" else ffn_attr
        if mt in _SHARED_IN_LAYER and type(layer.ffn).__name__ == "DenseMLP":
            ffn = _SHARED_IN_LAYER[mt]
        for lin in layer.ffn.linears():
            if lin.kind == "expert":
                experts = _join(base, ffn, lin.parent or "experts")
                if (
                    lin.name == "gate_up_proj"
                    and not fused_experts
                    and lin.out_features % 2 == 0
                ):
                    half = lin.out_features // 2
                    for part in ("gate_proj", "up_proj"):
                        yield (
                            f"{experts}.0.{part}",
                            Linear(
                                part,
                                lin.in_features,
                                half,
                                lin.bias,
                                lin.count,
                                "expert",
                            ),
                        )
                    continue
                where = experts + ("" if fused_experts else ".0")
                yield f"{where}.{lin.name}", lin
            elif lin.kind == "shared_expert":
                if mt in _SHARED_IN_LAYER:
                    yield _join(base, _SHARED_IN_LAYER[mt], lin.name), lin
                else:
                    yield _join(base, ffn, shared, lin.name), lin
            elif lin.kind == "router":
                parent = lin.parent or _ROUTER_PARENT.get(mt, "")
                yield _join(base, ffn, parent, lin.name), lin
            else:
                yield _join(base, ffn, lin.parent, lin.name), lin
    h, v = spec.hidden_size, spec.vocab_size
    ple = {getattr(x.ffn, "per_layer_input", 0) for x in spec.layers} - {0}
    if ple:  # Gemma 4's per-layer inputs: one projection for the whole model
        width = len(spec.layers) * ple.pop()
        model = prefix.rsplit(".layers", 1)[0]
        yield (
            f"{model}.per_layer_model_projection",
            Linear("per_layer_model_projection", h, width, kind="mlp"),
        )
    yield "lm_head", Linear("lm_head", h, v, kind="lm_head")


# ---- matching ignore lists, as each library does
# -----------------------------------------


def _transformers_skips(full: str, patterns: list[str]) -> bool:
    """transformers' ``should_convert_module`` (quantizers/quantizers_utils.py, 5.24),
    negated: a pattern matches from the start up to a module boundary, as a regex with
    the
    same boundary, or as a suffix."""
    boundary = r"(?:(?<=\.)|(?=\.|$))"
    for p in patterns:
        try:
            if re.match(rf"(?:{p}){boundary}", full):
                return True
        except re.error:
            pass
        if full.endswith(p):
            return True
    return False


def _ct_matches(full: str, targets: list[str]) -> bool:
    """compressed-tensors' name matching: ``re:`` prefixes a regex matched from the
    start,
    ``Linear`` matches every linear layer, anything else is a module name (whole)."""
    for t in targets:
        if t.startswith("re:"):
            if re.match(t[3:], full):
                return True
        elif t == "Linear" or t == full:
            return True
    return False


def _modelopt_excluded(full: str, patterns: list[str]) -> bool:
    """ModelOpt's ``exclude_modules``: shell-style wildcards on module names, a pattern
    naming a parent module excluding what is inside it."""
    for p in patterns:
        if fnmatch.fnmatchcase(full, p) or full.startswith(p.rstrip("*.") + ".") and p:
            return True
    return False


# ---- reading the config --------------------------------------------------------------


class _Cfg:
    """Typed access to a quantization_config; errors name the key as the file spells
    it."""

    def __init__(self, cfg: dict, prefix: str = "quantization_config"):
        self.cfg, self.prefix = cfg, prefix

    def where(self, key: str) -> str:
        return f"{self.prefix}.{key}"

    def get(self, key: str, default: Any = None) -> Any:
        return self.cfg.get(key, default)

    def int(
        self,
        key: str,
        default: Any = None,
        *,
        minimum: int = 1,
        allowed: tuple[int, ...] = (),
    ) -> Any:
        value = self.cfg.get(key, default)
        if value is None:
            return None
        out = _check.integer(self.where(key), value, minimum=minimum)
        if allowed and out not in allowed:
            raise ValueError(
                f"{self.where(key)} is {out}; accepted: {', '.join(map(str, allowed))}"
            )
        return out

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.cfg.get(key, default)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise TypeError(f"{self.where(key)} must be true or false, got {value!r}")
        return value

    def names(self, key: str) -> list[str]:
        value = self.cfg.get(key)
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            raise TypeError(
                f"{self.where(key)} must be a list of module names, got "
                f"{_check.shown(value)}"
            )
        return value

    def choice(self, key: str, accepted: tuple[str, ...], default: Any = None) -> Any:
        value = self.cfg.get(key, default)
        if value is None:
            return None
        if not isinstance(value, str) or value.lower() not in accepted:
            raise _check.unknown(self.where(key), value, accepted, what="value")
        return value.lower()


# ---- the layouts ---------------------------------------------------------------------

Rule = Callable[[str, Linear], "tuple[str, tuple[Stored, ...]] | None"]


def _plain(
    lin: Linear, dtype: str, bias_dtype: str | None = None
) -> tuple[Stored, ...]:
    out = (Stored("weight", dtype, lin.in_features * lin.out_features),)
    if lin.bias:
        out += (Stored("bias", bias_dtype or dtype, lin.out_features),)
    return out


def _bias(lin: Linear, dtype: str) -> tuple[Stored, ...]:
    return (Stored("bias", dtype, lin.out_features),) if lin.bias else ()


def _quantizable(lin: Linear) -> bool:
    """Layers the transformers-based methods convert: not routers, not the LM head
    (``get_keys_to_not_convert`` keeps the output embedding in full precision)."""
    return lin.kind not in ("router", "lm_head")


def _fp8(q: _Cfg, dtype: str) -> tuple[str, Rule]:
    """DeepSeek-style fine-grained FP8: transformers' ``FP8Linear``
    (integrations/finegrained_fp8.py, 5.24): an e4m3 weight and ``weight_scale_inv``,
    fp32 (e8m0 with ``scale_fmt: ue8m0``) of ceil(N/b_o) x ceil(K/b_i) blocks, or one
    fp32 scalar without ``weight_block_size``; a static activation scheme adds an fp32
    ``activation_scale``."""
    q.choice("fmt", ("e4m3", "float8_e4m3fn"))
    scheme = q.choice("activation_scheme", ("dynamic", "static"), "dynamic")
    block = q.get("weight_block_size")
    if block is not None:
        if (
            not isinstance(block, list)
            or len(block) != 2
            or not all(
                isinstance(b, int) and not isinstance(b, bool) and b > 0 for b in block
            )
        ):
            raise ValueError(
                f"{q.where('weight_block_size')} must be two positive "
                f"integers such as [128, 128], got {_check.shown(block)}"
            )
    scale_fmt = q.choice("scale_fmt", ("float", "ue8m0"), "float")
    sdtype = "F8_E8M0" if scale_fmt == "ue8m0" else "F32"
    skip = q.names("modules_to_not_convert")
    label = f"fp8 block {block[0]}x{block[1]}" if block else "fp8 per-tensor"

    def rule(full: str, lin: Linear):
        if not _quantizable(lin) or _transformers_skips(full, skip):
            return None
        n, k = lin.out_features, lin.in_features
        scales = math.ceil(n / block[0]) * math.ceil(k / block[1]) if block else 1
        out = (
            Stored("weight", "F8_E4M3", n * k),
            Stored("weight_scale_inv", sdtype, scales),
        )
        if scheme == "static":
            out += (Stored("activation_scale", "F32", 1),)
        return label, out + _bias(lin, dtype)

    return label, rule


def _fbgemm_fp8(q: _Cfg, dtype: str) -> tuple[str, Rule]:
    """Meta's FP8 checkpoints: transformers' ``FbgemmFp8Linear``
    (integrations/fbgemm_fp8.py, 5.24): an e4m3 weight, an fp32 ``weight_scale`` per
    output channel (N x 1), an fp32 bias; ``input_scale_ub`` is a non-persistent buffer,
    not
    stored."""
    skip = q.names("modules_to_not_convert")
    label = "fp8 per-channel (fbgemm)"

    def rule(full: str, lin: Linear):
        if not _quantizable(lin) or _transformers_skips(full, skip):
            return None
        n, k = lin.out_features, lin.in_features
        return label, (
            Stored("weight", "F8_E4M3", n * k),
            Stored("weight_scale", "F32", n),
        ) + _bias(lin, "F32")

    return label, rule


def _mxfp4(q: _Cfg, dtype: str) -> tuple[str, Rule]:
    """gpt-oss's MXFP4: only the experts' fused ``gate_up_proj`` and ``down_proj`` are
    stored as ``*_blocks`` (uint8, two e2m1 values per byte: [E, N, K/32, 16]) and
    ``*_scales`` (uint8 e8m0, one per 32 values: [E, N, K/32]) (transformers'
    integrations/mxfp4.py, 5.24, ``Mxfp4GptOssExperts``); everything else stays in the
    model dtype. ``modules_to_not_convert`` is honoured for expert modules too."""
    skip = q.names("modules_to_not_convert")
    label = "mxfp4 (experts)"

    def rule(full: str, lin: Linear):
        if lin.kind != "expert" or _transformers_skips(full, skip):
            return None
        n, k = lin.out_features, lin.in_features
        if k % 32:
            raise ValueError(
                f"mxfp4 needs input widths divisible by 32; {full} has {k}"
            )
        return label, (
            Stored(f"{lin.name}_blocks", "U8", n * k // 2),
            Stored(f"{lin.name}_scales", "U8", n * k // 32),
        ) + _bias(lin, dtype)

    return label, rule


def _packed_rows(k: int, bits: int) -> int:
    """int32 words holding ``k`` values of ``bits`` bits, packed without crossing words
    when 32 is a multiple of bits (2, 4, 8), contiguously otherwise (3 bits)."""
    if 32 % bits == 0:
        return math.ceil(k / (32 // bits))
    return math.ceil(k * bits / 32)


def _gptq(q: _Cfg, dtype: str) -> tuple[str, Rule]:
    """GPTQ (AutoGPTQ / GPTQModel ``QuantLinear``, as transformers' GPTQ integration
    loads it): ``qweight`` int32 [K·q/32, N], ``qzeros`` int32 [G, N·q/32], ``scales``
    fp16 [G, N] with G = ceil(K/g) groups (one when ``group_size`` is -1), ``g_idx``
    int32 [K] (stored whether or not ``desc_act`` reorders it), an fp16 bias where the
    layer has one. (AutoGPTQ's files of 2023 also hold an all-zero fp16 bias for
    layers without one, which loaders skip: github.com/AutoGPTQ/AutoGPTQ/issues/555;
    they are not counted.) The LM head is quantized only with ``lm_head: true``;
    ``modules_in_block_to_quantize`` limits the rest."""
    bits = q.int("bits", allowed=(2, 3, 4, 8))
    if bits is None:
        raise ValueError(f"{q.where('bits')} is required for GPTQ and is missing")
    g = q.get("group_size", 128)
    if g is None or g == -1:
        g = None
    else:
        g = q.int("group_size")
    q.flag("desc_act")
    fmt = q.choice("checkpoint_format", ("gptq", "gptq_v2"), "gptq")
    lm_head = q.flag("lm_head")
    inside = q.get("modules_in_block_to_quantize")
    names: set[str] | None = None
    if inside is not None:
        if not isinstance(inside, list):
            raise TypeError(f"{q.where('modules_in_block_to_quantize')} must be a list")
        names = {
            n for part in inside for n in (part if isinstance(part, list) else [part])
        }
    skip = q.names("modules_to_not_convert")
    label = (
        f"gptq {bits}-bit"
        + (f" g{g}" if g else " per-channel")
        + (" (v2)" if fmt == "gptq_v2" else "")
    )

    def rule(full: str, lin: Linear):
        if lin.kind == "router" or (lin.kind == "lm_head" and not lm_head):
            return None
        if _transformers_skips(full, skip):
            return None
        if (
            names is not None
            and lin.kind != "lm_head"
            and not any(full.endswith("." + n) for n in names)
        ):
            return None
        n, k = lin.out_features, lin.in_features
        groups = math.ceil(k / g) if g else 1
        return label, (
            Stored("qweight", "I32", _packed_rows(k, bits) * n),
            Stored("qzeros", "I32", groups * _packed_rows(n, bits)),
            Stored("scales", "F16", groups * n),
            Stored("g_idx", "I32", k),
        ) + _bias(lin, "F16")

    return label, rule


def _awq(q: _Cfg, dtype: str) -> tuple[str, Rule]:
    """AWQ in the GEMM layout (AutoAWQ ``WQLinear_GEMM``, which transformers' AWQ
    integration loads): ``qweight`` int32 [K, N·q/32], ``qzeros`` int32 [K/g, N·q/32],
    ``scales`` fp16 [K/g, N], an fp16 bias. ``modules_to_not_convert`` is honoured;
    routers
    and the LM head stay unquantized."""
    bits = q.int("bits", 4, allowed=(4,))
    g = q.int("group_size", 128)
    version = q.choice(
        "version", ("gemm", "gemv", "gemv_fast", "exllama", "ipex"), "gemm"
    )
    if version not in ("gemm", "exllama", "ipex"):
        raise ValueError(
            f"{q.where('version')} is {q.get('version')!r}: vramlib knows the "
            f"GEMM layout (also used by exllama and ipex), not {version}"
        )
    q.flag("zero_point", True)
    skip = q.names("modules_to_not_convert")
    label = f"awq {bits}-bit g{g}"

    def rule(full: str, lin: Linear):
        if not _quantizable(lin) or _transformers_skips(full, skip):
            return None
        n, k = lin.out_features, lin.in_features
        groups = math.ceil(k / g)
        return label, (
            Stored("qweight", "I32", k * _packed_rows(n, bits)),
            Stored("qzeros", "I32", groups * _packed_rows(n, bits)),
            Stored("scales", "F16", groups * n),
        ) + _bias(lin, "F16")

    return label, rule


def _bnb_state_json(n: int, k: int, quant_type: str, dtype: str, nested: bool) -> int:
    """Length of the JSON quant state bitsandbytes packs into a uint8 tensor
    (``QuantState.as_dict(packed=True)``). Its ``nested_offset`` is a float whose
    printed length varies; 20 characters (``0.`` and 18 digits) are assumed, so this
    part is exact
    to within a few bytes per module."""
    state = {
        "quant_type": quant_type,
        "blocksize": 64,
        "dtype": {"BF16": "bfloat16", "F16": "float16", "F32": "float32"}.get(
            dtype, "bfloat16"
        ),
        "shape": [n, k],
    }
    if nested:
        state.update(
            nested_blocksize=256,
            nested_dtype="float32",
            nested_offset=0.012345678901234567,
        )
    return len(json.dumps(state).encode())


def _bnb(q: _Cfg, dtype: str) -> tuple[str, Rule]:
    """bitsandbytes (``Linear4bit`` / ``Linear8bitLt`` as transformers saves them,
    quantizers/quantizer_bnb_4bit.py and _8bit.py, 5.24). 4-bit: the weight packed two
    per byte, ``absmax`` per 64 values (fp32; or uint8 with ``nested_absmax`` fp32 per
    256 blocks and a 256-entry fp32 ``nested_quant_map`` when
    ``bnb_4bit_use_double_quant``), a 16-entry fp32 ``quant_map`` and the JSON quant
    state. 8-bit: int8 weight, fp32 ``SCB`` per output row, a one-byte
    ``weight_format``. ``llm_int8_skip_modules`` are
    left out (the LM head by default)."""
    four, eight = q.flag("load_in_4bit"), q.flag("load_in_8bit")
    if four == eight:
        raise ValueError(
            f"{q.where('load_in_4bit')} and {q.where('load_in_8bit')}: exactly "
            f"one must be true for a bitsandbytes checkpoint"
        )
    skip = q.names("llm_int8_skip_modules")
    if four:
        kind = q.choice("bnb_4bit_quant_type", ("nf4", "fp4"), "nf4")
        nested = q.flag("bnb_4bit_use_double_quant")
        label = f"bnb {kind}" + (" double-quant" if nested else "")
    else:
        label = "bnb int8"

    def rule(full: str, lin: Linear):
        if not _quantizable(lin) or _transformers_skips(full, skip):
            return None
        n, k = lin.out_features, lin.in_features
        if eight:
            return label, (
                Stored("weight", "I8", n * k),
                Stored("SCB", "F32", n),
                Stored("weight_format", "U8", 1),
            ) + _bias(lin, dtype)
        blocks = math.ceil(n * k / 64)
        out = (Stored("weight", "U8", math.ceil(n * k / 2)),)
        if nested:
            out += (
                Stored("weight.absmax", "U8", blocks),
                Stored("weight.nested_absmax", "F32", math.ceil(blocks / 256)),
                Stored("weight.nested_quant_map", "F32", 256),
            )
        else:
            out += (Stored("weight.absmax", "F32", blocks),)
        out += (
            Stored("weight.quant_map", "F32", 16),
            Stored(
                f"weight.quant_state.bitsandbytes__{kind}",
                "U8",
                _bnb_state_json(n, k, kind, dtype, nested),
            ),
        )
        return label, out + _bias(lin, dtype)

    return label, rule


# compressed-tensors ------------------------------------------------------------------

_CT_FORMATS = (
    "float-quantized",
    "int-quantized",
    "pack-quantized",
    "naive-quantized",
    "nvfp4-pack-quantized",
    "mxfp4-pack-quantized",
    "dense",
)


def _ct_args(args: Any, where: str) -> dict | None:
    if args is None:
        return None
    if not isinstance(args, dict):
        raise TypeError(f"{where} must be an object, got {_check.shown(args)}")
    return args


def _ct_scale_count(n: int, k: int, a: _Cfg) -> int:
    strategy = a.choice(
        "strategy",
        ("tensor", "channel", "group", "block", "tensor_group", "token", "attn_head"),
        "tensor",
    )
    if strategy in ("tensor", "token"):
        return 1
    if strategy == "channel":
        return n
    if strategy in ("group", "tensor_group"):
        g = a.int("group_size")
        if g is None:
            raise ValueError(
                f"{a.where('group_size')} is required for the {strategy} strategy"
            )
        return n * math.ceil(k / g)
    if strategy == "block":
        b = a.get("block_structure")
        if (
            not isinstance(b, list)
            or len(b) != 2
            or not all(isinstance(x, int) for x in b)
        ):
            raise ValueError(
                f"{a.where('block_structure')} must be two integers such as "
                f"[128, 128], got {_check.shown(b)}"
            )
        return math.ceil(n / b[0]) * math.ceil(k / b[1])
    raise ValueError(f"{a.where('strategy')} {strategy!r} does not apply to weights")


def _compressed_tensors(q: _Cfg, dtype: str) -> tuple[str, Rule]:
    """compressed-tensors (llm-compressor's checkpoints; vLLM and transformers load
    them). Each of ``config_groups`` targets modules (``Linear``, names, ``re:``
    regexes) less ``ignore``; its ``weights`` args give bits, type, strategy and
    symmetry, and the group's (or the config's) ``format`` the packing. Layout, from
    compressed-tensors' ``quantization/lifecycle/initialize.py`` and its compressors
    (``pack_quantized.py``, ``fp4_quantized.py``, ``naive_quantized.py``):

    * weight: 8-bit types one byte each (``weight``); ``pack-quantized``:
      ``weight_packed`` int32 [N, ceil(K·q/32)] plus ``weight_shape`` int64 [2];
      ``nvfp4``/``mxfp4``-pack: ``weight_packed`` uint8 [N, K/2];
    * ``weight_scale``: 1 (tensor), N (channel), N·K/g (group, tensor_group), blocks
      (block), in the model dtype, fp8 e4m3 for nvfp4, uint8 for mxfp4;
    * ``weight_zero_point`` only when asymmetric (packed int32 along N for
      pack-quantized);
    * ``weight_g_idx`` int32 [K] for ``actorder: group``;
    * ``weight_global_scale`` fp32 [1] for tensor_group (nvfp4); static input
      activations an ``input_scale`` (and ``input_global_scale`` for tensor_group).
    """
    groups = q.get("config_groups")
    if not isinstance(groups, dict) or not groups:
        raise ValueError(
            f"{q.where('config_groups')} is required for compressed-tensors "
            f"and must be a non-empty object, got {_check.shown(groups)}"
        )
    top_format = q.choice("format", _CT_FORMATS, None)
    ignore = q.names("ignore")
    compiled = []
    for gname, group in groups.items():
        where = f"{q.prefix}.config_groups.{gname}"
        if not isinstance(group, dict):
            raise TypeError(f"{where} must be an object, got {_check.shown(group)}")
        g = _Cfg(group, where)
        targets = g.names("targets")
        if not targets:
            raise ValueError(f"{where}.targets is required and is missing or empty")
        fmt = g.choice("format", _CT_FORMATS, None) or top_format
        w = _ct_args(group.get("weights"), f"{where}.weights")
        a = _ct_args(group.get("input_activations"), f"{where}.input_activations")
        if w is None:
            continue  # activations only: nothing stored per weight
        compiled.append(
            (
                targets,
                fmt,
                _Cfg(w, f"{where}.weights"),
                None if a is None else _Cfg(a, f"{where}.input_activations"),
            )
        )
    labels = []
    for _, fmt, w, _ in compiled:
        bits = w.int("num_bits", allowed=(2, 3, 4, 8, 16))
        wtype = w.choice("type", ("int", "float"), "int")
        strat = w.get("strategy", "tensor")
        tag = (
            "nvfp4"
            if fmt == "nvfp4-pack-quantized"
            else "mxfp4"
            if fmt == "mxfp4-pack-quantized"
            else f"{wtype}{bits}"
        )
        labels.append(
            f"{tag} {strat}"
            + (f" g{w.get('group_size')}" if strat in ("group", "tensor_group") else "")
        )
    label = "compressed-tensors " + " / ".join(dict.fromkeys(labels))

    def rule(full: str, lin: Linear):
        if _ct_matches(full, ignore):
            return None
        for (targets, fmt, w, a), tag in zip(compiled, labels):
            if not _ct_matches(full, targets):
                continue
            return tag, _ct_layout(lin, fmt, w, a, dtype)
        return None

    return label, rule


def _ct_layout(
    lin: Linear, fmt: str | None, w: _Cfg, a: _Cfg | None, dtype: str
) -> tuple[Stored, ...]:
    n, k = lin.out_features, lin.in_features
    bits = w.int("num_bits", allowed=(2, 3, 4, 8, 16))
    wtype = w.choice("type", ("int", "float"), "int")
    symmetric = w.flag("symmetric", True)
    if w.get("dynamic") not in (None, False):
        raise ValueError(
            f"{w.where('dynamic')} is {w.get('dynamic')!r}: weights are "
            f"quantized ahead of time, so it must be false"
        )
    strategy = w.get("strategy", "tensor")
    if fmt is None:
        fmt = (
            "float-quantized"
            if wtype == "float" and bits == 8
            else "pack-quantized"
            if wtype == "int" and bits < 8
            else "int-quantized"
            if wtype == "int"
            else None
        )
        if fmt is None:
            raise ValueError(
                f"{w.where('num_bits')}: {wtype}{bits} weights need a "
                f"'format' (such as nvfp4-pack-quantized)"
            )
    if fmt == "dense":
        return _plain(lin, dtype)
    scales = _ct_scale_count(n, k, w)
    sdtype = dtype
    if w.get("scale_dtype") is not None:
        from .dtypes import TORCH_TO_SAFETENSORS

        name = str(w.get("scale_dtype")).removeprefix("torch.")
        if name not in TORCH_TO_SAFETENSORS:
            raise _check.unknown(
                w.where("scale_dtype"),
                w.get("scale_dtype"),
                TORCH_TO_SAFETENSORS,
                what="dtype",
            )
        sdtype = TORCH_TO_SAFETENSORS[name]
    if fmt in ("nvfp4-pack-quantized", "mxfp4-pack-quantized"):
        if k % 2:
            raise ValueError(f"{fmt} packs pairs of inputs; {lin.name} has K = {k}")
        out = [Stored("weight_packed", "U8", n * k // 2)]
        sdtype = "F8_E4M3" if fmt.startswith("nv") else "U8"
    elif fmt == "pack-quantized":
        out = [
            Stored("weight_packed", "I32", n * _packed_rows(k, bits)),
            Stored("weight_shape", "I64", 2),
        ]
    elif fmt in ("float-quantized", "int-quantized", "naive-quantized"):
        if bits > 8:
            raise ValueError(f"{w.where('num_bits')} {bits} is not a quantized width")
        out = [Stored("weight", "F8_E4M3" if wtype == "float" else "I8", n * k)]
    else:
        raise ValueError(f"compressed-tensors format {fmt!r} is not one vramlib sizes")
    out.append(Stored("weight_scale", sdtype, scales))
    if strategy == "tensor_group":
        out.append(Stored("weight_global_scale", "F32", 1))
    if not symmetric:
        if fmt == "pack-quantized" and strategy in ("group", "channel"):
            out.append(
                Stored(
                    "weight_zero_point", "I32", _packed_rows(n, bits) * (scales // n)
                )
            )
        else:
            out.append(Stored("weight_zero_point", "I8", scales))
    if w.get("actorder") == "group":
        out.append(Stored("weight_g_idx", "I32", k))
    if a is not None:
        astrat = a.get("strategy", "tensor")
        dyn = a.get("dynamic", True)
        if astrat == "tensor_group" and dyn is not True:
            out.append(Stored("input_global_scale", "F32", 1))
        elif dyn is False:
            out.append(Stored("input_scale", dtype, 1))
            if not a.flag("symmetric", True):
                out.append(Stored("input_zero_point", "I8", 1))
    return tuple(out) + _bias(lin, dtype)


# ModelOpt
# ------------------------------------------------------------------------------


def _modelopt(q: _Cfg, dtype: str) -> tuple[str, Rule]:
    """NVIDIA ModelOpt checkpoints (``hf_quant_config.json``, or ``quant_method:
    modelopt`` in config.json), as vLLM's ``modelopt.py`` loads them. FP8: e4m3
    ``weight``, fp32 scalar ``weight_scale`` and ``input_scale``. NVFP4: ``weight``
    uint8 [N, K/2], fp8 e4m3 ``weight_scale`` per ``group_size`` (16) inputs, fp32
    scalars ``weight_scale_2`` and
    ``input_scale``. ``exclude_modules`` (wildcards) stay in the model dtype."""
    inner = q.get("quantization")
    cfg = _Cfg(inner, q.where("quantization")) if isinstance(inner, dict) else q
    algo = cfg.get("quant_algo")
    if not isinstance(algo, str) or algo.upper() not in ("FP8", "NVFP4"):
        raise _check.unknown(
            cfg.where("quant_algo"), algo, ("FP8", "NVFP4"), what="ModelOpt algorithm"
        )
    algo = algo.upper()
    exclude = cfg.names("exclude_modules") or cfg.names("ignore")
    g = cfg.int("group_size", 16) if algo == "NVFP4" else None
    label = f"modelopt {algo}" + (f" g{g}" if g else "")

    def rule(full: str, lin: Linear):
        if _modelopt_excluded(full, exclude):
            return None
        n, k = lin.out_features, lin.in_features
        if algo == "FP8":
            out = (
                Stored("weight", "F8_E4M3", n * k),
                Stored("weight_scale", "F32", 1),
                Stored("input_scale", "F32", 1),
            )
        else:
            out = (
                Stored("weight", "U8", n * k // 2),
                Stored("weight_scale", "F8_E4M3", n * math.ceil(k / g)),
                Stored("weight_scale_2", "F32", 1),
                Stored("input_scale", "F32", 1),
            )
        return label, out + _bias(lin, dtype)

    return label, rule


_METHODS: dict[str, Callable[[_Cfg, str], tuple[str, Rule]]] = {
    "fp8": _fp8,
    "fbgemm_fp8": _fbgemm_fp8,
    "compressed-tensors": _compressed_tensors,
    "modelopt": _modelopt,
    "mxfp4": _mxfp4,
    "gptq": _gptq,
    "awq": _awq,
    "bitsandbytes": _bnb,
}


def _method(qcfg: dict) -> str:
    method = qcfg.get("quant_method")
    if method is None and ("load_in_4bit" in qcfg or "load_in_8bit" in qcfg):
        method = "bitsandbytes"
    if method is None and isinstance(qcfg.get("quantization"), dict):
        method = "modelopt"  # hf_quant_config.json
    if method is None and qcfg.get("mode") in ("affine", "mxfp4", "nvfp4", "mxfp8"):
        raise ValueError(
            "quantization_config has 'bits', 'group_size' and 'mode' but no "
            "'quant_method': an MLX (mlx-lm / mlx-vlm) checkpoint, whose layout vramlib "
            "does not read; it refuses rather than size it as 16-bit. Methods vramlib "
            f"reads: {', '.join(METHODS)}"
        )
    if not isinstance(method, str):
        raise ValueError(
            "quantization_config.quant_method is required and is missing; "
            f"methods vramlib reads: {', '.join(METHODS)}"
        )
    key = (
        method.lower().replace("_", "-")
        if method.lower().startswith("compressed")
        else (method.lower())
    )
    if key not in _METHODS:
        raise _check.unknown(
            "quantization_config.quant_method",
            method,
            METHODS,
            what="quantization method",
        )
    return key


def kv_cache_dtype(qcfg: dict) -> str | None:
    """The KV-cache element type a checkpoint's scheme asks for (``fp8``), or ``None``:
    compressed-tensors' ``kv_cache_scheme`` (8-bit float) or ModelOpt's
    ``kv_cache_quant_algo: FP8``."""
    scheme = qcfg.get("kv_cache_scheme")
    if isinstance(scheme, dict):
        q = _Cfg(scheme, "quantization_config.kv_cache_scheme")
        bits = q.int("num_bits", allowed=(8,))
        if q.choice("type", ("int", "float"), "float") == "float" and bits == 8:
            return "fp8"
        return "int8"
    inner = (
        qcfg.get("quantization") if isinstance(qcfg.get("quantization"), dict) else qcfg
    )
    algo = inner.get("kv_cache_quant_algo")
    if isinstance(algo, str) and algo.upper() == "FP8":
        return "fp8"
    return None


def published_weights(
    spec: Any,
    quantization_config: "dict | None",
    *,
    dtype: str = "BF16",
    source: str = "",
) -> WeightsBreakdown:
    """Bytes of every tensor ``spec``'s checkpoint stores under ``quantization_config``.

    ``dtype`` is the safetensors name of the unquantized tensors (the config's
    ``torch_dtype``: see :func:`vramlib.checkpoint.dtypes.model_dtype`); ``None`` as the
    config means a plain checkpoint, all in ``dtype``. Raises ``ValueError`` naming the
    key for an unknown method or a value the method does not have.

    >>> from vramlib import get_model
    >>> spec = get_model("meta-llama/Llama-3.1-8B")
    >>> awq = {"quant_method": "awq", "bits": 4, "group_size": 128, "version": "gemm"}
    >>> w = published_weights(spec, awq)
    >>> w.label, round(w.total_bytes / 1e9, 2)
    ('awq 4-bit g128 + bf16', 5.73)
    """
    if dtype not in SAFETENSORS_BYTES:
        raise _check.unknown("dtype", dtype, SAFETENSORS_BYTES, what="dtype")
    if quantization_config is None:
        method, label, rule = "none", VRAMLIB_NAME.get(dtype, dtype.lower()), None
        kv = None
    else:
        if not isinstance(quantization_config, dict):
            raise TypeError(
                f"quantization_config must be an object, got "
                f"{_check.shown(quantization_config)}"
            )
        method = _method(quantization_config)
        label, rule = _METHODS[method](_Cfg(quantization_config), dtype)
        kv = kv_cache_dtype(quantization_config)
    plain_name = VRAMLIB_NAME.get(dtype, dtype.lower())
    rows: dict[tuple, list[int]] = {}
    tensors_of: dict[tuple, tuple[Stored, ...]] = {}
    tied = spec.tie_word_embeddings
    linear_params = 0
    attn_layers = 0
    for i, layer in enumerate(spec.layers):
        if layer.mixer.linears() and "attention" in type(layer.mixer).__name__.lower():
            attn_layers += 1
    for full, lin in module_names(spec, fused_experts=(method == "mxfp4")):
        if lin.kind == "lm_head" and tied:
            continue
        got = rule(full, lin) if rule is not None else None
        if got is None:
            scheme, stored = plain_name, _plain(lin, dtype)
        else:
            scheme, stored = got
        key = (lin.name, lin.kind, lin.in_features, lin.out_features, scheme)
        per = sum(s.nbytes for s in stored)
        acc = rows.setdefault(key, [0, 0, 0])
        acc[0] += lin.count
        acc[1] += lin.params
        acc[2] += per * lin.count
        tensors_of[key] = stored
        linear_params += lin.params
    modules = tuple(
        ModuleBytes(name, kind, k, n, scheme, c, p, b, tensors_of[key])
        for key, (c, p, b) in rows.items()
        for name, kind, k, n, scheme in [key]
    )
    groups = spec.param_groups()
    embed = groups["embedding"]
    # multimodal towers (issue 13) are kept unquantized, in the checkpoint's dtype
    towers = {k: groups.get(k, 0) for k in ("vision", "audio") if groups.get(k, 0)}
    rest = spec.param_count() - linear_params - embed - sum(towers.values())
    if rest < 0:
        raise ValueError(
            f"{spec.name or spec.model_type}: its linear layers hold more "
            f"parameters than the model; vramlib cannot split it by module"
        )
    other = (
        ("embedding", embed, nbytes(dtype, embed)),
        ("norm", rest, nbytes(dtype, rest)),
    ) + tuple((k, n, nbytes(dtype, n)) for k, n in towers.items())
    buffers = spec.buffer_bytes(SAFETENSORS_BYTES[dtype])
    if buffers:  # persistent buffers: stored beside the parameters, none themselves
        other += (("norm", 0, buffers),)
    if (
        kv is not None
        and quantization_config is not None
        and method in ("compressed-tensors", "modelopt")
    ):
        # a k_scale and a v_scale per attention layer
        sdtype = dtype if method == "compressed-tensors" else "F32"
        other += (("norm", 0, 2 * attn_layers * nbytes(sdtype, 1)),)
    if method != "none" and not any(m.scheme != plain_name for m in modules):
        raise ValueError(
            f"quantization_config ({method}) converts no linear layer of "
            f"{spec.name or spec.model_type}: its ignore or skip lists leave "
            f"out every module"
        )
    full_label = label if method == "none" else f"{label} + {plain_name}"
    return WeightsBreakdown(method, full_label, dtype, modules, other, kv, source)
