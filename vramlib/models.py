r"""Model architectures: exact parameter counts from a Hugging Face ``config.json``.

A :class:`ModelSpec` holds the sizes that decide how many weights a decoder-only transformer has
and how much it caches per token. :meth:`ModelSpec.from_hf_config` reads them from a
``config.json`` (filling absent keys with transformers' defaults for that ``model_type``), and
:meth:`ModelSpec.param_count` adds the weights up exactly: it equals
``sum(p.numel() for p in AutoModelForCausalLM.from_config(cfg).parameters())`` in transformers 5.17,
which ``tests/validate`` checks for every supported type and every catalogue entry.

Symbols (the book's): :math:`V` vocabulary, :math:`H` hidden size, :math:`L` layers, :math:`n_h`
query heads, :math:`n_{kv}` key/value heads, :math:`d_h` head size, :math:`I` MLP width,
:math:`E` routed experts of width :math:`I_e`, :math:`k` experts per token. One llama-style layer has

.. math::
    \underbrace{2 H n_h d_h + 2 H n_{kv} d_h}_{\text{attention}} + \underbrace{3 H I}_{\text{MLP}}
    + \underbrace{2H}_{\text{norms}}

weights, and the whole model :math:`V H` (embedding) :math:`+ V H` (LM head, unless tied)
:math:`+ L \cdot \text{layer} + H` (final norm). The other types differ in named ways (biases,
extra norms, fused or plain MLPs, experts, latent attention), each written down in
:meth:`ModelSpec.param_groups`.

The catalogue (:func:`get_model`, :func:`model_names`) is ``vramlib/data/models.json``: configs of
published models keyed by Hugging Face repository id, each with its source.
"""

from __future__ import annotations

import copy
import os
import stat
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from pathlib import Path

from . import _arch, _check, _data
from .layers import Layer, LatentAttention, Linear
from .layers.stack import uniform_stack
from .towers import Tower

GROUPS = ("embedding", "lm_head", "attention", "mlp", "router", "norm", "bias")
#: the towers of a multimodal checkpoint (:mod:`vramlib.multimodal`): keys of
#: :meth:`ModelSpec.param_groups` only for a model that has them, so that a language
#: model's groups stay the seven above
TOWER_GROUPS = ("vision", "audio")
ALL_GROUPS = GROUPS + TOWER_GROUPS
SUPPORTED_MODEL_TYPES = _arch.SUPPORTED
#: bytes per element of the fixed buffer dtypes (vramlib.layers.layer.BUFFER_DTYPES)
_BUFFER_BYTES = {"F32": 4, "I64": 8}


@dataclass(frozen=True)
class ModelSpec:
    """The architecture of one decoder-only language model, as sizes (not weights).

    Core sizes: ``vocab_size`` (V), ``hidden_size`` (H), ``num_hidden_layers`` (L),
    ``num_attention_heads`` (n_h), ``num_key_value_heads`` (n_kv: the K/V heads actually computed and
    cached; 1 for multi-query Falcon), ``head_dim`` (d_h), ``intermediate_size`` (I, the dense MLP's
    width), ``tie_word_embeddings`` (the LM head reuses the embedding matrix).

    Layout flags: ``qkv_bias``/``o_bias`` (biases on the q, k, v / output projections; for MLA on
    q_a and kv_a / o), ``mlp_bias``, ``mlp_gated`` (three matrices gate/up/down, else two: up/down),
    ``qk_norm`` (``"none"``; ``"head"``: one d_h-sized norm each for q and k, as Qwen3 and Gemma 3;
    ``"full"``: norms over all heads, n_h·d_h and n_kv·d_h, as OLMo 2 and Cohere), ``norms_per_layer``
    (hidden-sized norms in each layer: 1 Cohere/parallel Falcon, 2 most, 4 Gemma 2/3), ``norm_bias``
    (LayerNorm with a bias, else RMSNorm-like weight only).

    Mixture of experts: ``num_experts`` (E, routed; 0 = dense), ``experts_per_token`` (k),
    ``moe_intermediate_size`` (I_e), ``shared_expert_intermediate_size`` (width of the always-on
    shared expert MLP, 0 = none; DeepSeek's ``n_shared_experts`` are one MLP of n·I_e),
    ``shared_expert_gate`` (Qwen2-MoE's sigmoid gate, an H×1 matrix), ``mlp_layer_types`` (``"dense"``
    or ``"moe"`` per layer).

    Multi-head latent attention (DeepSeek-V3): ``kv_lora_rank`` (``None`` = ordinary attention),
    ``q_lora_rank`` (``None`` = full-rank q projection), ``qk_nope_head_dim``, ``qk_rope_head_dim``,
    ``v_head_dim``.

    Attention span: ``sliding_window`` (tokens, ``None`` if no layer slides) and ``layer_types``
    (``"full_attention"`` or ``"sliding_attention"`` per layer).

    ``mtp_layers``: DeepSeek's multi-token-prediction layers, published in the checkpoint but not
    built by transformers and not counted here. ``name`` and ``source`` say what the spec is of.

    The stack: ``layers`` holds one :class:`~vramlib.layers.Layer` per layer (token mixer,
    feed-forward block, norms); it is the truth that parameters and cache are summed from. Readers
    of the 2025–2026 families give it; without it, it is built from the flat sizes above (every
    layer alike but for its span and its MLP kind), with transformers' module names
    ``module_names`` = (attention names, MLP names) where they differ from the llama names.
    ``extra_params``: model-level parameters besides embedding, LM head and final norm, as
    ``(group, count)`` pairs (per-layer input embeddings, for example).
    ``max_position_embeddings``: the longest context the config declares (``None`` if unknown).
    ``defaulted_keys``: the config keys that were absent and took transformers' class defaults.
    ``towers``: the vision and audio encoders of a multimodal checkpoint, each with its
    projector (:class:`~vramlib.towers.Tower`); the language model is the rest.
    """

    model_type: str
    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    intermediate_size: int
    tie_word_embeddings: bool = False
    qkv_bias: bool = False
    o_bias: bool = False
    mlp_bias: bool = False
    mlp_gated: bool = True
    qk_norm: str = "none"
    norms_per_layer: int = 2
    norm_bias: bool = False
    num_experts: int = 0
    experts_per_token: int = 0
    moe_intermediate_size: int = 0
    shared_expert_intermediate_size: int = 0
    shared_expert_gate: bool = False
    mlp_layer_types: tuple[str, ...] = ()
    kv_lora_rank: int | None = None
    q_lora_rank: int | None = None
    qk_nope_head_dim: int = 0
    qk_rope_head_dim: int = 0
    v_head_dim: int = 0
    sliding_window: int | None = None
    layer_types: tuple[str, ...] = ()
    mtp_layers: int = 0
    name: str | None = None
    source: str | None = None
    layers: tuple[Layer, ...] = ()
    extra_params: tuple[tuple[str, int], ...] = ()
    max_position_embeddings: int | None = None
    defaulted_keys: tuple[str, ...] = ()
    module_names: tuple[tuple[str, ...], tuple[str, ...]] = ()
    towers: tuple[Tower, ...] = ()
    # the checkpoint as published: its quantization_config and dtype, and the tensors' bytes
    # where headers were read (vramlib.checkpoint.source.Checkpoint)
    checkpoint: object = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        _check.text("model_type", self.model_type)
        for field in (
            "vocab_size",
            "hidden_size",
            "num_hidden_layers",
            "num_attention_heads",
            "num_key_value_heads",
            "head_dim",
            "intermediate_size",
            "norms_per_layer",
        ):
            _check.integer(field, getattr(self, field), minimum=1)
        for field in (
            "num_experts",
            "experts_per_token",
            "moe_intermediate_size",
            "shared_expert_intermediate_size",
            "qk_nope_head_dim",
            "qk_rope_head_dim",
            "v_head_dim",
            "mtp_layers",
        ):
            _check.integer(field, getattr(self, field), minimum=0)
        for field in (
            "tie_word_embeddings",
            "qkv_bias",
            "o_bias",
            "mlp_bias",
            "mlp_gated",
            "norm_bias",
            "shared_expert_gate",
        ):
            if not isinstance(getattr(self, field), bool):
                raise TypeError(
                    f"{field} must be True or False, got {getattr(self, field)!r}"
                )
        if self.qk_norm not in ("none", "head", "full"):
            raise _check.unknown(
                "qk_norm", self.qk_norm, ("none", "head", "full"), what="qk_norm kind"
            )
        if self.num_attention_heads % self.num_key_value_heads:
            raise ValueError(
                f"num_attention_heads ({self.num_attention_heads}) must be a multiple of "
                f"num_key_value_heads ({self.num_key_value_heads})"
            )
        n = self.num_hidden_layers
        if n > _arch.MAX_LAYERS:
            raise ValueError(
                f"num_hidden_layers must be at most {_arch.MAX_LAYERS:,}, got {n:,}"
            )
        if self.layers and not isinstance(self.layers, _Derived):
            self._take_layers()
        else:
            self._check_flat_layers()
        mlps = self.mlp_layer_types
        if "moe" in mlps:
            _check.integer("num_experts", self.num_experts, minimum=1)
            _check.integer("experts_per_token", self.experts_per_token, minimum=1)
            _check.integer(
                "moe_intermediate_size", self.moe_intermediate_size, minimum=1
            )
            if self.experts_per_token > self.num_experts:
                raise ValueError(
                    f"experts_per_token ({self.experts_per_token}) exceeds num_experts "
                    f"({self.num_experts})"
                )
        if self.sliding_window is not None or "sliding_attention" in self.layer_types:
            _check.integer("sliding_window", self.sliding_window, minimum=1)
        if self.kv_lora_rank is not None:
            _check.integer("kv_lora_rank", self.kv_lora_rank, minimum=1)
            for field in ("qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim"):
                _check.integer(field, getattr(self, field), minimum=1)
        if self.q_lora_rank is not None:
            _check.integer("q_lora_rank", self.q_lora_rank, minimum=1)
        if self.max_position_embeddings is not None:
            _check.integer(
                "max_position_embeddings", self.max_position_embeddings, minimum=1
            )
        for group, count in self.extra_params:
            if group not in GROUPS:
                raise _check.unknown(
                    "extra_params group", group, GROUPS, what="parameter group"
                )
            _check.integer(f"extra_params[{group!r}]", count, minimum=0)
        object.__setattr__(self, "defaulted_keys", tuple(self.defaulted_keys))
        object.__setattr__(self, "towers", tuple(self.towers))
        if not all(isinstance(t, Tower) for t in self.towers):
            raise TypeError(f"towers must hold Tower objects, got {self.towers!r}")
        if not self.layers or isinstance(self.layers, _Derived):
            names = dict(zip(("attention_names", "mlp_names"), self.module_names))
            object.__setattr__(self, "layers", _Derived(uniform_stack(self, **names)))

    def _check_flat_layers(self) -> None:
        """Without ``layers``: the flat ``layer_types``/``mlp_layer_types`` describe the stack."""
        n = self.num_hidden_layers
        layers = tuple(self.layer_types) or ("full_attention",) * n
        mlps = (
            tuple(self.mlp_layer_types)
            or (("moe" if self.num_experts else "dense"),) * n
        )
        object.__setattr__(self, "layer_types", layers)
        object.__setattr__(self, "mlp_layer_types", mlps)
        if len(layers) != n or not set(layers) <= {
            "full_attention",
            "sliding_attention",
        }:
            raise ValueError(
                f"layer_types must hold {n} entries, each 'full_attention' or "
                f"'sliding_attention', got {layers!r}"
            )
        if len(mlps) != n or not set(mlps) <= {"dense", "moe"}:
            raise ValueError(
                f"mlp_layer_types must hold {n} entries, each 'dense' or 'moe', got {mlps!r}"
            )

    def _take_layers(self) -> None:
        """With ``layers``: they are the truth, and the flat per-layer kinds are read off them."""
        layers = tuple(self.layers)
        if len(layers) != self.num_hidden_layers or not all(
            isinstance(x, Layer) for x in layers
        ):
            raise ValueError(
                f"layers must hold num_hidden_layers ({self.num_hidden_layers}) "
                f"Layer objects, got {len(layers)}"
            )
        object.__setattr__(self, "layers", layers)
        object.__setattr__(self, "layer_types", tuple(x.layer_type for x in layers))
        object.__setattr__(self, "mlp_layer_types", tuple(x.ffn.kind for x in layers))

    # ---- reading configs -------------------------------------------------------------------

    @classmethod
    def from_hf_config(
        cls, source: "dict | str | os.PathLike", *, name: str | None = None
    ) -> "ModelSpec":
        """A spec from a Hugging Face config: a dict, a path to ``config.json``, or a folder holding one.

        Plain JSON only; nothing is executed. Absent keys take the defaults of transformers'
        configuration class for the ``model_type`` (5.17), except that ``hidden_size``,
        ``num_hidden_layers`` and ``num_attention_heads`` must be present. A multimodal
        config (``gemma3``, ``qwen2_5_vl``, ``llava``...:
        :data:`vramlib.multimodal.SUPPORTED`) is read as its language model
        (``text_config``, by that model's own reader) plus its towers (:attr:`towers`).
        Supported types: see ``SUPPORTED_MODEL_TYPES``.
        """
        if name is not None:
            _check.text("name", name)
        if isinstance(source, dict):
            _check.json_like("source", source)
            cfg, where = source, None
        elif isinstance(source, (str, os.PathLike)):
            path = os.fspath(source)
            if not isinstance(path, str) or not path.strip():
                raise ValueError(
                    "source must be a path to config.json or a folder holding one, "
                    "got an empty path"
                )
            cfg, where = _read_json(Path(path)), _check.shown(path).strip("'\"")
            if not isinstance(cfg, dict):
                raise TypeError(
                    f"{where}: a config.json must hold a JSON object ({{...}}), "
                    f"got a JSON {type(cfg).__name__}"
                )
        else:
            raise TypeError(
                f"source must be a dict, a path to config.json or a folder holding one, "
                f"got {type(source).__name__} {_check.shown(source)}"
            )
        try:
            fields = _arch.spec_fields(cfg)
        except (TypeError, ValueError) as err:
            if where is None:
                raise
            raise type(err)(f"{where}: {err}") from None
        return cls(**fields, name=name, source=where)

    # ---- shape -----------------------------------------------------------------------------

    @property
    def is_moe(self) -> bool:
        """True if any layer routes tokens to experts."""
        return "moe" in self.mlp_layer_types

    @property
    def uses_mla(self) -> bool:
        """True for multi-head latent attention (DeepSeek-V3): K and V come from a cached latent."""
        return any(isinstance(x.mixer, LatentAttention) for x in self.layers)

    @property
    def moe_layers(self) -> int:
        """How many layers have experts."""
        return self.mlp_layer_types.count("moe")

    @property
    def sliding_layers(self) -> int:
        """How many layers attend within a sliding window."""
        return self.layer_types.count("sliding_attention")

    # ---- parameters -------------------------------------------------------------------------

    def param_groups(self) -> dict[str, int]:
        r"""Parameters by role; the values add up to :meth:`param_count`.

        The model is a stack of layers (:attr:`layers`, see :mod:`vramlib.layers`), and each layer
        counts its own: its token mixer, its feed-forward block and its norms. Around them:

        * ``embedding``: token embedding, :math:`VH` (no supported type has learned positions).
        * ``lm_head``: :math:`VH`, or 0 when tied to the embedding.
        * ``attention``: each token mixer's projection matrices; for llama-style attention
          :math:`L(2Hn_hd_h + 2Hn_{kv}d_h)`, for MLA q_a (:math:`H r_q`), q_b
          (:math:`r_q n_h (d_{nope}+d_{rope})`), kv_a (:math:`H(r_{kv}+d_{rope})`), kv_b
          (:math:`r_{kv} n_h (d_{nope}+d_v)`), o (:math:`n_h d_v H`).
        * ``mlp``: dense MLPs (:math:`3HI` gated, :math:`2HI` plain), every routed expert
          (:math:`E \cdot 3HI_e` per MoE layer) and shared expert (:math:`3HI_s`).
        * ``router``: expert routers (:math:`EH` per MoE layer) and Qwen2-MoE's shared-expert gate
          (:math:`H`). DeepSeek-V3's ``e_score_correction_bias`` is a buffer in transformers, not a
          parameter, so it is not counted (E per MoE layer: 14,848 for DeepSeek-V3).
        * ``norm``: every norm's weight (and bias, for LayerNorm): per-layer norms, q/k norms, MLA's
          q_a/kv_a norms, the final norm; also other small per-channel vectors that formats keep
          in high precision (attention sinks, state-space decay and skip vectors).
        * ``bias``: biases of linear layers.

        * ``vision``, ``audio``: the towers of a multimodal checkpoint, encoder and
          projector together (:attr:`towers`; :mod:`vramlib.multimodal`); present
          only when the model has towers (:data:`TOWER_GROUPS`).

        ``extra_params`` adds model-level parts a family has besides these (per-layer input
        embeddings, for example), by group.
        """
        return dict(self._groups)

    @cached_property
    def _groups(self) -> dict[str, int]:
        h, v = self.hidden_size, self.vocab_size
        per_layer: dict[int, tuple[dict[str, int], int]] = {}
        for layer in self.layers:  # many layers are alike: count each distinct one once
            key = id(layer)
            groups, n = per_layer.get(key, (layer.params(), 0))
            per_layer[key] = (groups, n + 1)
        total = dict.fromkeys(GROUPS, 0)
        total["embedding"] = v * h
        total["lm_head"] = 0 if self.tie_word_embeddings else v * h
        total["norm"] = h * (2 if self.norm_bias else 1)
        for groups, n in per_layer.values():
            for group, count in groups.items():
                total[group] += n * count
        for group, count in self.extra_params:
            total[group] += count
        if self.towers:
            total.update(dict.fromkeys(TOWER_GROUPS, 0))
        for tower in self.towers:
            total[tower.kind] += tower.params
        return total

    def buffers(self) -> dict[str, int]:
        """Elements of the persistent buffers the checkpoint stores beside the
        parameters, by dtype (``"model"`` for the model's own dtype, else a safetensors
        name): routers' score-correction biases kept as buffers, Gemma 4's layer scalars
        and encoder statistics, DeepSeek-V4's token-to-expert tables. transformers
        does not count them as parameters (nor does :meth:`param_count`), but they are
        saved and loaded with the weights, so the weights' bytes include them."""
        total: dict[str, int] = {}
        for layer in self.layers:
            for dtype, count in layer.stored_buffers():
                total[dtype] = total.get(dtype, 0) + count
        for tower in self.towers:
            if tower.buffers:
                total["model"] = total.get("model", 0) + tower.buffers
        return total

    def buffer_bytes(self, model_bytes: "int | Fraction" = 2) -> int:
        """Bytes of :meth:`buffers`, with ``model_bytes`` per element of the model's
        own dtype (2 for bf16)."""
        total = Fraction(0)
        for dtype, count in self.buffers().items():
            total += count * (model_bytes if dtype == "model" else _BUFFER_BYTES[dtype])
        return -(-total.numerator // total.denominator)

    def param_count(self) -> int:
        """Every parameter transformers builds for this model (tied embeddings once), exactly.

        Equal to ``sum(p.numel() for p in
        AutoModelForCausalLM.from_config(cfg).parameters())``;
        for a multimodal checkpoint, to the same sum over the full model its
        ``architectures`` names (``*ForConditionalGeneration``), towers included.
        Not included: buffers (rotary tables, DeepSeek's router correction bias) and
        multi-token-prediction layers, which published checkpoints hold but transformers does not
        build (``mtp_layers``).
        """
        return sum(self._groups.values())

    def _expert_weights(self) -> int:
        """Weights of one routed expert in one layer (always gated: gate, up, down)."""
        return 3 * self.hidden_size * self.moe_intermediate_size

    def linear_modules(self) -> tuple[Linear, ...]:
        """Every kind of linear layer in the model by transformers' module name, with how many of
        each the whole model holds (``count``), the LM head included (a module even when its
        weight is tied to the embedding, so ``Linear.params`` would count that matrix twice).
        Experts stored as fused tensors appear once per tensor name with ``count`` = experts x
        layers. These are the names LoRA's ``target_modules`` match."""
        merged: dict[tuple, int] = {}
        for layer in self.layers:
            for lin in layer.mixer.linears() + layer.ffn.linears():
                key = (lin.name, lin.in_features, lin.out_features, lin.bias, lin.kind)
                merged[key] = merged.get(key, 0) + lin.count
        out = [Linear(n, i, o, b, c, k) for (n, i, o, b, k), c in merged.items()]
        out.append(Linear("lm_head", self.hidden_size, self.vocab_size, kind="lm_head"))
        for tower in self.towers:  # kinds "vision", "audio", "projector"
            out.extend(tower.linears)
        return tuple(out)

    def active_param_count(self) -> int:
        r"""Parameters one token passes through: the total less the routed experts it skips.

        .. math::  P_\text{active} = P - L_\text{MoE} (E - k) \cdot 3 H I_e

        Convention (the one behind Mixtral's "12.9B active" and DeepSeek-V3's "37B activated"):
        everything that is not a routed expert counts, including the embedding table and the LM
        head (each once; tied: once in all), routers and shared experts. For a dense model it
        equals :meth:`param_count`.
        """
        skipped = sum(
            (lay.ffn.experts - lay.ffn.top_k) * lay.ffn.expert_params()
            for lay in self.layers
            if lay.ffn.kind == "moe"
        )
        return self.param_count() - skipped

    def describe(self) -> str:
        """A few lines: what the model is, its shape, and its parameter counts."""
        label = self.name or self.model_type
        attn = (
            f"MLA (kv_lora_rank {self.kv_lora_rank}, q_lora_rank {self.q_lora_rank}), "
            f"{self.num_attention_heads} heads"
            if self.uses_mla
            else f"{self.num_attention_heads} heads, {self.num_key_value_heads} KV heads x {self.head_dim}"
        )
        lines = [
            f"{label} ({self.model_type}): {self.num_hidden_layers} layers, hidden {self.hidden_size}, "
            f"vocab {self.vocab_size}",
            f"  attention: {attn}"
            + (
                f"; {self.sliding_layers} of {self.num_hidden_layers} layers slide over "
                f"{self.sliding_window} tokens"
                if self.sliding_layers
                else ""
            ),
        ]
        if self.is_moe:
            lines.append(
                f"  MoE: {self.moe_layers} layers x {self.num_experts} experts of "
                f"{self.moe_intermediate_size}, {self.experts_per_token} per token"
                + (
                    f", shared {self.shared_expert_intermediate_size}"
                    if self.shared_expert_intermediate_size
                    else ""
                )
            )
        for tower in self.towers:
            lines.append("  " + tower.describe())
        total, active = self.param_count(), self.active_param_count()
        lines.append(
            f"  parameters: {total:,}"
            + (f" ({active:,} active)" if active != total else "")
        )
        return "\n".join(lines)

    def __repr__(self) -> str:
        label = f"{self.name!r}, " if self.name else ""
        return (
            f"ModelSpec({label}{self.model_type}, L={self.num_hidden_layers}, H={self.hidden_size}, "
            f"params={self.param_count():,})"
        )


class _Derived(tuple):
    """A layer stack built from the flat fields. ``dataclasses.replace`` hands it back to the
    constructor, which then builds it again from the (possibly changed) flat fields."""


def _read_json(path: Path) -> object:
    """Parse a config.json (or the config.json in a folder), with errors naming the
    file.

    Only a regular file is read (not a FIFO, a device such as ``/dev/zero`` or a
    socket), at most
    :data:`vramlib._check.MAX_JSON_BYTES` of it, as UTF-8 with or without a byte-order
    mark; JSON nested deeper than :data:`vramlib._check.MAX_JSON_DEPTH` is refused
    before parsing.
    """
    shown = _check.shown(str(path))
    if "\x00" in str(path):
        raise ValueError(
            f"config path {shown} holds a NUL character; no file is named so"
        )
    try:
        if path.is_dir():
            folder, path = shown, path / "config.json"
            if not path.exists():
                raise FileNotFoundError(f"folder {folder} holds no config.json")
            shown = _check.shown(str(path))
        elif not path.exists():
            raise FileNotFoundError(f"config file {shown} does not exist")
        if not stat.S_ISREG(path.stat().st_mode):
            raise ValueError(
                f"{shown} is not a regular file (a device, pipe or socket); "
                f"give a config.json file or its folder"
            )
        with path.open("rb") as fh:
            data = fh.read(_check.MAX_JSON_BYTES + 1)
    except OSError as err:
        if err.errno is None:  # one of the messages above
            raise
        reason = err.strerror or type(err).__name__
        raise OSError(f"cannot read {shown}: {reason}") from None
    if len(data) > _check.MAX_JSON_BYTES:
        raise ValueError(
            f"{shown} is larger than {_check.MAX_JSON_BYTES:,} bytes; a config.json is "
            f"a few kB"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(
            f"{shown}: not UTF-8 text ({err.reason} at byte {err.start})"
        ) from None
    return _check.json_text(text, shown)


# ---- the catalogue -------------------------------------------------------------------------


def _index(data: dict) -> tuple[dict[str, dict], dict[str, dict[str, int]]]:
    """Entries by id, and lookup keys -> {id: rank}: the full id (rank 0), an alias (1), the name
    without its organisation (2). Keys are normalised (case and separators dropped)."""
    by_id: dict[str, dict] = {}
    keys: dict[str, dict[str, int]] = {}
    for entry in data["models"]:
        model_id = entry["id"]
        by_id[model_id] = entry
        named = (
            [(model_id, 0)]
            + [(a, 1) for a in entry.get("aliases", [])]
            + [(model_id.split("/")[-1], 2)]
        )
        for key, rank in named:
            ranks = keys.setdefault(_check.normalise(key), {})
            ranks[model_id] = min(rank, ranks.get(model_id, rank))
    return by_id, keys


def _catalogue(data: object) -> dict:
    """The packaged catalogue, or a private one (``data=``) checked for its shape."""
    return _data.load("models.json") if data is None else _check.catalogue_data(data)


def _lookup(name: object, data: dict | None = None) -> dict:
    by_id, keys = _index(_catalogue(data))
    _check.text("name", name)
    ranks = keys.get(_check.normalise(name), {})
    best = [i for i, r in ranks.items() if r == min(ranks.values())] if ranks else []
    if len(best) > 1:
        raise ValueError(
            f"model name {name!r} is ambiguous: it matches {', '.join(sorted(best))}; "
            f"give the full repository id"
        )
    if not best:
        known = (
            list(by_id)
            + [k.split("/")[-1] for k in by_id]
            + [a for e in by_id.values() for a in e.get("aliases", [])]
        )
        raise _check.unknown("name", name, known, what="model")
    return by_id[best[0]]


def model_names(data: dict | None = None) -> list[str]:
    """Repository ids of the catalogue's models (``vramlib/data/models.json``), in file order."""
    return [e["id"] for e in _catalogue(data)["models"]]


def catalogue_entry(name: str, data: dict | None = None) -> dict:
    """The catalogue's record for a model: id, aliases, source, published_params (as published, a
    string such as ``"8.03B"``), published_params_source, note and config (a copy, safe to change)."""
    return copy.deepcopy(_lookup(name, data))


def get_model(name: str, data: dict | None = None) -> ModelSpec:
    """The :class:`ModelSpec` of a catalogue model by Hugging Face id, case-insensitive, with or without
    the organisation (``"meta-llama/Llama-3.1-8B"``, ``"llama-3.1-8b"``), or an alias.

    Unknown names raise ``ValueError`` with the closest known ones. ``data`` replaces the packaged
    catalogue (a dict in the same format), for tests and for private catalogues.
    """
    try:
        entry = _lookup(name, data)
    except ValueError as err:
        # checkpoint hook (issue 13): a file, a folder or a Hub id (org/name)
        if data is None and isinstance(name, str) and _not_catalogue(name):
            from .checkpoint.source import load

            try:
                return load(name)
            except (ValueError, OSError) as hub_err:
                if os.path.exists(os.path.expanduser(name)):  # a path: no look-alikes
                    raise ValueError(str(hub_err)) from None
                raise ValueError(f"{hub_err} ({err})") from None
        raise
    if data is not None:
        return _from_entry(entry)
    # the packaged catalogue: a spec is immutable, so each entry is built once
    seen, spec = _BUILT.get(id(entry), (None, None))
    if seen is not entry:
        spec = _from_entry(entry)
        _BUILT[id(entry)] = (entry, spec)
    return spec


_BUILT: dict[int, tuple[dict, ModelSpec]] = {}


def _from_entry(entry: dict) -> ModelSpec:
    try:
        fields = _arch.spec_fields(entry["config"])
    except (TypeError, ValueError) as err:
        raise type(err)(f"catalogue entry {entry['id']!r}: {err}") from None
    spec = ModelSpec(**fields, name=entry["id"], source=entry.get("source"))
    if "quantization_config" in entry["config"]:  # checkpoint hook (issue 13)
        from .checkpoint.source import Checkpoint, with_checkpoint

        spec = with_checkpoint(
            spec, Checkpoint.from_config(entry["config"], f"catalogue: {entry['id']}")
        )
    return spec


def _not_catalogue(name: str) -> bool:
    """A model argument to look for outside the catalogue: an existing path, a checkpoint
    file name, or a Hub id (org/name)."""
    path = Path(os.path.expanduser(name))
    if (
        name.endswith((".gguf", ".safetensors", ".json"))
        or (path / "config.json").is_file()
    ):
        return True
    from .checkpoint.hub import is_repo_id

    return not path.exists() and is_repo_id(name)


def _positive_int(value: object) -> "int | None":
    return (
        value
        if isinstance(value, int) and not isinstance(value, bool) and value > 0
        else None
    )


def model_max_context(spec: "ModelSpec", config: "dict | None" = None) -> "int | None":
    """The longest context the model was built for (``max_position_embeddings``), or
    ``None``.

    Read from the spec when it records it, else from ``config`` (a multimodal wrapper's
    from its ``text_config``, which is the model sized)."""
    own = _positive_int(getattr(spec, "max_position_embeddings", None))
    if own is not None or not isinstance(config, dict):
        return own
    text = config.get("text_config")
    if isinstance(text, dict) and "max_position_embeddings" in text:
        return _positive_int(text.get("max_position_embeddings"))
    return _positive_int(config.get("max_position_embeddings"))
