r"""Vision and audio encoders of multimodal checkpoints, counted module by module.

A multimodal checkpoint (Gemma 3, Qwen2.5-VL, Llama 4...) is a language model plus one
or more **towers**: an encoder that turns an image (or audio) into vectors, and a
**projector** that maps those vectors into the language model's hidden size. A
:class:`Tower` holds both counts and the tower's linear layers by transformers' module
names; :class:`~vramlib.models.ModelSpec` adds them to its parameters as the groups
``vision`` and ``audio``.

Each encoder below mirrors transformers 5.24's ``modeling_<type>.py`` for its
``model_type``; ``tests/validate/test_vision.py`` checks every count against the
meta-device parameter count of the full model. Symbols: :math:`H` the encoder's hidden
size, :math:`I` its MLP width, :math:`L` its layers, :math:`p` the patch size,
:math:`C` image channels, :math:`N` patch positions.

A ViT layer with biases (SigLIP, CLIP, Idefics3, Llama 4's encoder) holds

.. math::  4(H^2 + H) + 2HI + I + H + 4H

(q, k, v, output projections; two MLP matrices; two LayerNorms with biases). The
families differ in named ways written down at each encoder.

An encoder type, a key or an activation these readers do not know is refused with an
error naming the config key; nothing is dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from . import _check
from .layers.base import Linear

KINDS = ("vision", "audio")
_MISSING = object()


@dataclass(frozen=True)
class Tower:
    """One encoder of a multimodal model and its projector into the language model.

    ``kind`` is ``"vision"`` or ``"audio"``; ``model_type`` the encoder config's type
    (``"siglip_vision_model"``); ``encoder_params`` and ``projector_params`` the
    parameters of each part as transformers builds them; ``linears`` their linear layers
    (``kind`` ``"vision"``, ``"audio"`` or ``"projector"``); ``layers`` and ``hidden``
    the encoder's depth and width, for descriptions; ``wrapper`` the multimodal
    model_type it belongs to and ``image`` the sizes its image-token rule reads, as
    ``(key, value)`` pairs (:func:`vramlib.multimodal.image_tokens`); ``buffers`` the
    elements of persistent buffers the encoder keeps in its checkpoint besides its
    parameters (Gemma 4's clipping bounds and standardization statistics), which
    transformers does not count as parameters but loads with them.
    """

    kind: str
    model_type: str
    encoder_params: int
    projector_params: int
    linears: tuple[Linear, ...] = ()
    layers: int = 0
    hidden: int = 0
    wrapper: str = ""
    image: tuple[tuple[str, int], ...] = ()
    buffers: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise _check.unknown("kind", self.kind, KINDS, what="tower kind")
        _check.integer("encoder_params", self.encoder_params, minimum=0)
        _check.integer("projector_params", self.projector_params, minimum=0)
        _check.integer("buffers", self.buffers, minimum=0)

    @property
    def params(self) -> int:
        """Encoder plus projector."""
        return self.encoder_params + self.projector_params

    def describe(self) -> str:
        return (
            f"{self.kind} tower {self.model_type}: {self.layers} layers, hidden "
            f"{self.hidden}; encoder {self.encoder_params:,} + projector "
            f"{self.projector_params:,} parameters"
        )


class Sub:
    """Typed access to one sub-config (``vision_config``...): the file's value, else
    the configuration class's default; errors name the key as ``where.key``."""

    def __init__(self, cfg: dict, defaults: dict, where: str):
        if not isinstance(cfg, dict):
            raise TypeError(
                f"config key {where!r} must be an object, got {_check.shown(cfg)}"
            )
        self.cfg, self.defaults, self.where = cfg, defaults, where

    def raw(self, key: str) -> Any:
        if self.cfg.get(key) is not None:
            return self.cfg[key]
        return self.defaults.get(key, _MISSING)

    def int(self, key: str, *, minimum: int = 1) -> int:
        value = self.raw(key)
        if value is _MISSING:
            raise ValueError(
                f"config key '{self.where}.{key}' is required and is missing"
            )
        return _check.integer(
            f"config key '{self.where}.{key}'", value, minimum=minimum
        )

    def flag(self, key: str) -> bool:
        value = self.raw(key)
        if value is _MISSING:
            return False
        if not isinstance(value, bool):
            raise TypeError(
                f"config key '{self.where}.{key}' must be true or false, got "
                f"{_check.shown(value)}"
            )
        return value

    def number(self, key: str) -> float:
        value = self.raw(key)
        return _check.number(f"config key '{self.where}.{key}'", value)

    def ints(self, key: str, *, minimum: int = 0) -> list[int]:
        value = self.raw(key)
        if value is _MISSING:
            return []
        if isinstance(value, bool) or not isinstance(value, (list, tuple)):
            raise TypeError(
                f"config key '{self.where}.{key}' must be a list of "
                f"integers, got {_check.shown(value)}"
            )
        return [
            _check.integer(f"config key '{self.where}.{key}' item", v, minimum=minimum)
            for v in value
        ]


class Parts:
    """Linear layers and other parameters, added up as an encoder is read."""

    def __init__(self, kind: str):
        self.kind = kind
        self.linears: list[Linear] = []
        self.other = 0  # encoder parameters outside linear layers
        self.projector_other = 0  # projector parameters outside linear layers
        self.buffers = 0  # elements of persistent buffers the checkpoint stores

    def linear(
        self,
        name: str,
        n_in: int,
        n_out: int,
        bias: bool = False,
        count: int = 1,
        kind: str | None = None,
    ) -> None:
        self.linears.append(Linear(name, n_in, n_out, bias, count, kind or self.kind))

    def encoder_params(self) -> int:
        return self.other + sum(x.params for x in self.linears if x.kind != "projector")

    def projector_params(self) -> int:
        return self.projector_other + sum(
            x.params for x in self.linears if x.kind == "projector"
        )


#: activations transformers 5.24 knows that hold no learned parameters
ACTIVATIONS = (
    "gelu",
    "gelu_10",
    "gelu_fast",
    "gelu_new",
    "gelu_python",
    "gelu_pytorch_tanh",
    "gelu_python_tanh",
    "gelu_accurate",
    "quick_gelu",
    "relu",
    "relu2",
    "relu6",
    "sigmoid",
    "silu",
    "swish",
    "tanh",
    "linear",
    "mish",
    "laplace",
    "leaky_relu",
    "hardswish",
)


def _activation(s: Sub, key: str) -> None:
    act = s.raw(key)
    if act is _MISSING:
        return
    if not isinstance(act, str) or act not in ACTIVATIONS:
        raise _check.unknown(
            f"config key '{s.where}.{key}'",
            act,
            ACTIVATIONS,
            what="parameter-free activation",
        )


def _square(s: Sub, key: str) -> int:
    value = s.raw(key)
    if isinstance(value, (list, tuple)) and len(value) == 2 and value[0] == value[1]:
        value = value[0]
    return _check.integer(f"config key '{s.where}.{key}'", value)


def _vit_layers(
    p: Parts,
    h: int,
    i: int,
    n: int,
    *,
    attn: tuple[str, ...],
    mlp: tuple[str, str] = ("fc1", "fc2"),
) -> None:
    r"""``n`` ViT layers with biases everywhere: :math:`4(H^2+H) + 2HI + I + H` in
    linears plus two LayerNorms (:math:`4H`)."""
    for name in attn:
        p.linear(name, h, h, True, n)
    p.linear(mlp[0], h, i, True, n)
    p.linear(mlp[1], i, h, True, n)
    p.other += n * 4 * h


# ---- the encoders --------------------------------------------------------------------
# Each takes the sub-config and returns (Parts, layers, hidden). Projector linears are
# added by the wrapper (vramlib.multimodal) with kind "projector".


def siglip(s: Sub, p: Parts) -> tuple[int, int]:
    r"""SigLIP (``siglip_vision_model``; Gemma 3, some LLaVA): a conv patch embedding
    with bias (:math:`C p^2 H + H`), learned positions (:math:`N H`, :math:`N =
    (\text{image}/p)^2`), ViT layers, a final LayerNorm (:math:`2H`), and, when
    ``vision_use_head``, the attention-pooling head (probe :math:`H`, fused
    in-projection
    :math:`3H^2 + 3H`, out-projection, LayerNorm, MLP)."""
    h, i, n = (
        s.int("hidden_size"),
        s.int("intermediate_size"),
        s.int("num_hidden_layers"),
    )
    s.int("num_attention_heads")
    _activation(s, "hidden_act")
    c, patch, image = (
        s.int("num_channels"),
        _square(s, "patch_size"),
        _square(s, "image_size"),
    )
    p.other += c * patch * patch * h + h + (image // patch) ** 2 * h
    _vit_layers(p, h, i, n, attn=("k_proj", "v_proj", "q_proj", "out_proj"))
    p.other += 2 * h
    if s.flag("vision_use_head"):
        p.other += h + 3 * h * h + 3 * h + 2 * h
        p.linear("out_proj", h, h, True)
        p.linear("fc1", h, i, True)
        p.linear("fc2", i, h, True)
    return n, h


def idefics3(s: Sub, p: Parts) -> tuple[int, int]:
    """Idefics3 / SmolVLM's SigLIP encoder: as :func:`siglip` without the pooling
    head."""
    h, i, n = (
        s.int("hidden_size"),
        s.int("intermediate_size"),
        s.int("num_hidden_layers"),
    )
    s.int("num_attention_heads")
    _activation(s, "hidden_act")
    c, patch, image = (
        s.int("num_channels"),
        _square(s, "patch_size"),
        _square(s, "image_size"),
    )
    p.other += c * patch * patch * h + h + (image // patch) ** 2 * h + 2 * h
    _vit_layers(p, h, i, n, attn=("k_proj", "v_proj", "q_proj", "out_proj"))
    return n, h


def clip(s: Sub, p: Parts) -> tuple[int, int]:
    r"""CLIP's vision transformer (``clip_vision_model``; LLaVA): a class embedding
    (:math:`H`), a conv patch embedding without bias (:math:`C p^2 H`), positions for
    the patches and the class token (:math:`(N+1) H`), LayerNorms before and after
    (:math:`4H`), ViT layers."""
    h, i, n = (
        s.int("hidden_size"),
        s.int("intermediate_size"),
        s.int("num_hidden_layers"),
    )
    s.int("num_attention_heads")
    _activation(s, "hidden_act")
    c, patch, image = (
        s.int("num_channels"),
        _square(s, "patch_size"),
        _square(s, "image_size"),
    )
    p.other += h + c * patch * patch * h + ((image // patch) ** 2 + 1) * h + 4 * h
    _vit_layers(p, h, i, n, attn=("k_proj", "v_proj", "q_proj", "out_proj"))
    return n, h


def pixtral(s: Sub, p: Parts) -> tuple[int, int]:
    r"""Pixtral (Mistral 3): a conv patch embedding without bias (:math:`C p^2 H`), an
    RMSNorm before the layers; each layer q, k, v, o of :math:`H \times H` without bias,
    a gated MLP (:math:`3HI`) and two RMSNorms (:math:`2H`)."""
    h, i, n = (
        s.int("hidden_size"),
        s.int("intermediate_size"),
        s.int("num_hidden_layers"),
    )
    s.int("num_attention_heads")
    _activation(s, "hidden_act")
    c, patch = s.int("num_channels"), _square(s, "patch_size")
    p.other += c * patch * patch * h + h + n * 2 * h
    for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
        p.linear(name, h, h, False, n)
    p.linear("gate_proj", h, i, False, n)
    p.linear("up_proj", h, i, False, n)
    p.linear("down_proj", i, h, False, n)
    return n, h


def qwen2_5_vl(s: Sub, p: Parts) -> tuple[int, int]:
    r"""Qwen2.5-VL's encoder: a 3-D conv patch embedding without bias (:math:`C t p^2
    H`, :math:`t` frames per patch); each block two RMSNorms, a fused qkv
    (:math:`3H^2 + 3H`), an output projection, a gated MLP with biases; the merger
    (counted as the projector): an RMSNorm, then :math:`Hm^2 \to Hm^2 \to H_{out}`
    with biases, :math:`m` the spatial merge size."""
    h, i, n = s.int("hidden_size"), s.int("intermediate_size"), s.int("depth")
    s.int("num_heads")
    _activation(s, "hidden_act")
    c, t, patch = (
        s.int("in_channels"),
        s.int("temporal_patch_size"),
        s.int("patch_size"),
    )
    m, out = s.int("spatial_merge_size"), s.int("out_hidden_size")
    p.other += c * t * patch * patch * h + n * 2 * h
    p.linear("qkv", h, 3 * h, True, n)
    p.linear("proj", h, h, True, n)
    p.linear("gate_proj", h, i, True, n)
    p.linear("up_proj", h, i, True, n)
    p.linear("down_proj", i, h, True, n)
    wide = h * m * m
    p.linear("mlp.0", wide, wide, True, kind="projector")
    p.linear("mlp.2", wide, out, True, kind="projector")
    p.projector_other += h  # ln_q, an RMSNorm
    return n, h


def qwen3_vl(s: Sub, p: Parts, *, deepstack: bool = True) -> tuple[int, int]:
    r"""Qwen3-VL's encoder (Qwen3.5's without the deep-stack mergers): a 3-D conv patch
    embedding with bias, learned positions (``num_position_embeddings``
    :math:`\times H`);
    each block two LayerNorms (:math:`4H`), fused qkv and output projection with
    biases, an MLP ``linear_fc1``/``linear_fc2`` with biases. The merger (projector):
    a LayerNorm over :math:`H` (:math:`2H`), :math:`Hm^2 \to Hm^2 \to H_{out}` with
    biases; each deep-stack merger the same with its LayerNorm over :math:`Hm^2`."""
    h, i, n = s.int("hidden_size"), s.int("intermediate_size"), s.int("depth")
    s.int("num_heads")
    _activation(s, "hidden_act")
    c, t, patch = (
        s.int("in_channels"),
        s.int("temporal_patch_size"),
        s.int("patch_size"),
    )
    m, out = s.int("spatial_merge_size"), s.int("out_hidden_size")
    p.other += c * t * patch * patch * h + h + s.int("num_position_embeddings") * h
    p.other += n * 4 * h
    p.linear("qkv", h, 3 * h, True, n)
    p.linear("proj", h, h, True, n)
    p.linear("linear_fc1", h, i, True, n)
    p.linear("linear_fc2", i, h, True, n)
    wide = h * m * m
    stacks = len(s.ints("deepstack_visual_indexes")) if deepstack else 0
    p.linear("linear_fc1", wide, wide, True, 1 + stacks, kind="projector")
    p.linear("linear_fc2", wide, out, True, 1 + stacks, kind="projector")
    p.projector_other += 2 * h + stacks * 2 * wide
    return n, h


def qwen3_5(s: Sub, p: Parts) -> tuple[int, int]:
    """Qwen3.5's encoder: Qwen3-VL's without deep-stack mergers (transformers 5.24's
    Qwen3.5 vision model builds none, whatever ``deepstack_visual_indexes`` says)."""
    return qwen3_vl(s, p, deepstack=False)


def llama4(s: Sub, p: Parts) -> tuple[int, int]:
    r"""Llama 4's encoder: patches unfolded and projected without bias (:math:`C p^2
    H`), a class embedding (:math:`H`), positions for patches and class token
    (:math:`(N+1)H`), LayerNorms before and after (:math:`4H`), ViT layers (q, k, v,
    o and fc1, fc2 all with biases). Its pixel-shuffle adapter (``vision_adapter``:
    :math:`I \times P_{in}` and :math:`P_{out}^2`, no biases) is counted with the
    projector."""
    h, i, n = (
        s.int("hidden_size"),
        s.int("intermediate_size"),
        s.int("num_hidden_layers"),
    )
    heads = s.int("num_attention_heads")
    _activation(s, "hidden_act")
    c, patch, image = (
        s.int("num_channels"),
        _square(s, "patch_size"),
        _square(s, "image_size"),
    )
    if h % heads:
        raise ValueError(
            f"config key '{s.where}.hidden_size' ({h}) must be a multiple "
            f"of '{s.where}.num_attention_heads' ({heads})"
        )
    p.other += h + ((image // patch) ** 2 + 1) * h + 4 * h
    p.linear("patch_embedding", c * patch * patch, h)
    _vit_layers(p, h, i, n, attn=("q_proj", "k_proj", "v_proj", "o_proj"))
    p_in, p_out = s.int("projector_input_dim"), s.int("projector_output_dim")
    p.linear("fc1", i, p_in, False, kind="projector")
    p.linear("fc2", p_out, p_out, False, kind="projector")
    return n, h


def gemma4_vision(s: Sub, p: Parts) -> tuple[int, int]:
    r"""Gemma 4's encoder: patches projected without bias (:math:`3p^2 H`), a
    two-axis position table (:math:`2 P H`, ``position_embedding_size``); each layer
    q, k, v, o without bias (:math:`n_h d_h`, :math:`n_{kv} d_h` wide), q and k norms
    (:math:`2 d_h`), a gated MLP, four RMSNorms (:math:`4H`). Its pooler holds no
    parameters. Buffers the checkpoint stores: with ``standardize``, a bias and a scale
    (:math:`2H`); with ``use_clipped_linears``, four clipping bounds per linear layer
    of the encoder (seven a layer)."""
    h, i, n = (
        s.int("hidden_size"),
        s.int("intermediate_size"),
        s.int("num_hidden_layers"),
    )
    heads, kv, d = (
        s.int("num_attention_heads"),
        s.int("num_key_value_heads"),
        s.int("head_dim"),
    )
    _activation(s, "hidden_activation")
    patch = s.int("patch_size")
    p.other += 2 * s.int("position_embedding_size") * h
    p.linear("input_proj", 3 * patch * patch, h)
    p.linear("q_proj", h, heads * d, False, n)
    p.linear("k_proj", h, kv * d, False, n)
    p.linear("v_proj", h, kv * d, False, n)
    p.linear("o_proj", heads * d, h, False, n)
    p.linear("gate_proj", h, i, False, n)
    p.linear("up_proj", h, i, False, n)
    p.linear("down_proj", i, h, False, n)
    p.other += n * (2 * d + 4 * h)
    if s.flag("standardize"):
        p.buffers += 2 * h
    if s.flag("use_clipped_linears"):
        p.buffers += 4 * 7 * n
    return n, h


def gemma4_audio(s: Sub, p: Parts) -> tuple[int, int]:
    r"""Gemma 4's audio encoder (a Conformer): two 3x3 convolutions without bias that
    subsample the spectrogram (channels :math:`c_0, c_1`, each with a LayerNorm weight),
    a projection of :math:`(c_0/4) c_1` features to :math:`H`; each layer two
    feed-forward blocks (:math:`H \to 4H \to H` and two RMSNorms each), attention (q,
    k, v, output, a relative-position key projection, a per-dimension scale of
    :math:`d_h`), a light convolution block (:math:`H \to 2H`, a depthwise kernel of
    :math:`K` taps, :math:`H \to H`, two RMSNorms) and three RMSNorms; an output
    projection to ``output_proj_dims`` with bias. With ``use_clipped_linears``, each of
    a layer's ten linear layers (two per feed-forward block, q, k, v and the output of
    attention, the two of the convolution block) stores four clipping bounds as
    buffers."""
    h, n, heads = (
        s.int("hidden_size"),
        s.int("num_hidden_layers"),
        s.int("num_attention_heads"),
    )
    _activation(s, "hidden_act")
    chans = s.ints("subsampling_conv_channels", minimum=1)
    if len(chans) != 2:
        raise ValueError(
            f"config key '{s.where}.subsampling_conv_channels' must list two "
            f"channel counts, got {_check.shown(chans)}"
        )
    c0, c1 = chans
    k, out = s.int("conv_kernel_size"), s.int("output_proj_dims")
    d = h // heads
    p.other += c0 * 9 + c0 + c1 * c0 * 9 + c1
    p.linear("input_proj_linear", (c0 // 4) * c1, h)
    p.linear("ffw_layer_1", h, 4 * h, False, 2 * n)
    p.linear("ffw_layer_2", 4 * h, h, False, 2 * n)
    for name in ("q_proj", "k_proj", "v_proj"):
        p.linear(name, h, heads * d, False, n)
    p.linear("post", h, h, False, n)
    p.linear("relative_k_proj", h, heads * d, False, n)
    p.linear("linear_start", h, 2 * h, False, n)
    p.linear("linear_end", h, h, False, n)
    p.other += n * (4 * h + d + h * k + 2 * h + 3 * h)
    p.linear("output_proj", h, out, True)
    if s.flag("use_clipped_linears"):
        p.buffers += 4 * 10 * n
    return n, h


# Class defaults of the encoder configs in transformers 5.24 (keys that shape weights).
DEFAULTS: dict[str, dict[str, Any]] = {
    "siglip_vision_model": dict(
        hidden_size=768,
        intermediate_size=3072,
        num_hidden_layers=12,
        num_attention_heads=12,
        num_channels=3,
        image_size=224,
        patch_size=16,
        hidden_act="gelu_pytorch_tanh",
        vision_use_head=True,
    ),
    "clip_vision_model": dict(
        hidden_size=768,
        intermediate_size=3072,
        num_hidden_layers=12,
        num_attention_heads=12,
        num_channels=3,
        image_size=224,
        patch_size=32,
        hidden_act="quick_gelu",
    ),
    "pixtral": dict(
        hidden_size=1024,
        intermediate_size=4096,
        num_hidden_layers=24,
        num_attention_heads=16,
        num_channels=3,
        image_size=1024,
        patch_size=16,
        hidden_act="gelu",
        head_dim=64,
    ),
    "idefics3_vision": dict(
        hidden_size=1152,
        intermediate_size=3072,
        num_hidden_layers=12,
        num_attention_heads=16,
        num_channels=3,
        image_size=224,
        patch_size=32,
        hidden_act="gelu_pytorch_tanh",
    ),
    "qwen2_5_vl_vision": dict(
        depth=32,
        hidden_size=3584,
        hidden_act="silu",
        intermediate_size=3420,
        num_heads=16,
        in_channels=3,
        patch_size=14,
        spatial_merge_size=2,
        temporal_patch_size=2,
        out_hidden_size=3584,
    ),
    "qwen3_vl_vision": dict(
        depth=27,
        hidden_size=1152,
        hidden_act="gelu_pytorch_tanh",
        intermediate_size=4304,
        num_heads=16,
        in_channels=3,
        patch_size=16,
        spatial_merge_size=2,
        temporal_patch_size=2,
        out_hidden_size=3584,
        num_position_embeddings=2304,
        deepstack_visual_indexes=[8, 16, 24],
    ),
    "llama4_vision_model": dict(
        hidden_size=768,
        hidden_act="gelu",
        num_hidden_layers=34,
        num_attention_heads=16,
        num_channels=3,
        intermediate_size=5632,
        vision_output_dim=7680,
        image_size=448,
        patch_size=14,
        pixel_shuffle_ratio=0.5,
        projector_input_dim=4096,
        projector_output_dim=4096,
    ),
    "gemma4_vision": dict(
        hidden_size=768,
        intermediate_size=3072,
        num_hidden_layers=16,
        num_attention_heads=12,
        num_key_value_heads=12,
        head_dim=64,
        hidden_activation="gelu_pytorch_tanh",
        pooling_kernel_size=3,
        patch_size=16,
        position_embedding_size=10240,
        use_clipped_linears=False,
        standardize=False,
    ),
    "gemma4_audio": dict(
        hidden_size=1024,
        num_hidden_layers=12,
        num_attention_heads=8,
        hidden_act="silu",
        subsampling_conv_channels=[128, 32],
        conv_kernel_size=5,
        output_proj_dims=1536,
        use_clipped_linears=True,
    ),
}
DEFAULTS["smolvlm_vision"] = DEFAULTS["idefics3_vision"]
DEFAULTS["qwen3_vl_moe_vision"] = DEFAULTS["qwen3_vl_vision"]
DEFAULTS["qwen3_5_vision"] = {
    k: v
    for k, v in DEFAULTS["qwen3_vl_vision"].items()
    if k != "deepstack_visual_indexes"
}
DEFAULTS["qwen3_5_moe_vision"] = DEFAULTS["qwen3_5_vision"]

#: encoder model_type -> (reader, kind)
ENCODERS: dict[str, tuple[Callable[[Sub, Parts], tuple[int, int]], str]] = {
    "siglip_vision_model": (siglip, "vision"),
    "clip_vision_model": (clip, "vision"),
    "pixtral": (pixtral, "vision"),
    "idefics3_vision": (idefics3, "vision"),
    "smolvlm_vision": (idefics3, "vision"),
    "qwen2_5_vl_vision": (qwen2_5_vl, "vision"),
    "qwen3_vl_vision": (qwen3_vl, "vision"),
    "qwen3_vl_moe_vision": (qwen3_vl, "vision"),
    "qwen3_5_vision": (qwen3_5, "vision"),
    "qwen3_5_moe_vision": (qwen3_5, "vision"),
    "llama4_vision_model": (llama4, "vision"),
    "gemma4_vision": (gemma4_vision, "vision"),
    "gemma4_audio": (gemma4_audio, "audio"),
}


def encoder(model_type: str, cfg: dict, where: str) -> tuple[Parts, int, int]:
    """Read one encoder sub-config of type ``model_type`` (already resolved by the
    wrapper). Returns the parts (encoder and projector linears, other parameters) and
    the encoder's layers and hidden size."""
    reader, kind = ENCODERS[model_type]
    s = Sub(cfg, DEFAULTS[model_type], where)
    p = Parts(kind)
    n, h = reader(s, p)
    return p, n, h
