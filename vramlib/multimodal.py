r"""Multimodal checkpoints: a language model plus vision (and audio) towers.

A wrapper config (``model_type`` ``gemma3``, ``qwen2_5_vl``, ``llava``...) holds a
``text_config`` and a ``vision_config`` (Gemma 4 also an ``audio_config``). The language
model is read by whichever reader handles its own ``model_type``
(:mod:`vramlib._arch`, :mod:`vramlib.families`); the towers by :mod:`vramlib.towers`;
the projector that maps a tower's output into the language model is added here, per
wrapper, as transformers 5.24 builds it (``modeling_<wrapper>.py``). The whole count
equals the meta-device parameter count of the class the configs' ``architectures``
name (``*ForConditionalGeneration``), which ``tests/validate/test_vision.py`` checks.

Projectors (:math:`H_v` the encoder's width, :math:`H_t` the language model's):

* ``gemma3``: an :math:`H_v \times H_t` matrix and an RMSNorm over :math:`H_v`.
* ``gemma4``: :math:`H_v \times H_t` per tower (audio: ``output_proj_dims`` wide).
* ``llava``: :math:`H_v n_f \to H_t \to H_t` (:math:`n_f` the feature layers), with
  biases unless ``multimodal_projector_bias`` is false.
* ``mistral3``: an RMSNorm, a patch merger (:math:`H_v m^2 \to H_v`), then as LLaVA
  (biases off by default).
* ``idefics3``, ``smolvlm``: one matrix :math:`H_v s^2 \to H_t` (pixel shuffle by the
  ``scale_factor`` :math:`s`).
* ``qwen2_5_vl``, ``qwen3_vl``, ``qwen3_vl_moe``, ``qwen3_5``, ``qwen3_5_moe``: the
  vision model's own merger (:mod:`vramlib.towers`).
* ``llama4``: the encoder's pixel-shuffle adapter and ``vision_output_dim`` :math:`\to
  H_t`.

The LM head: tied to the embedding when the wrapper config's ``tie_word_embeddings``
says so (its class default where absent; LLaVA and Qwen2.5-VL also take a ``true``
from the text config, as their configuration classes do); Llama 4's head sits in its
text model and follows ``text_config``.

Images become tokens in the language model's context: :func:`image_tokens`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from . import _check, towers
from .towers import Parts, Sub, Tower

_MISSING = object()


@dataclass(frozen=True)
class _Slot:
    """One sub-config of a wrapper: its key, the encoder (or text) type transformers
    uses when the file names none, the types it accepts, and whether it may be null
    (no tower built)."""

    key: str
    default: str
    accepted: tuple[str, ...]
    optional: bool = False


@dataclass(frozen=True)
class _Wrapper:
    text: _Slot
    towers: tuple[_Slot, ...]
    defaults: dict
    projector: Callable[[Sub, dict, str, Parts, Sub], None]
    tie: str = "outer"  # "outer", "outer_or_text" (BC forwarding), "text"
    flat_text: bool = False  # text keys may sit at the top level (Qwen2.5-VL)


def _feature_layers(w: Sub) -> int:
    value = w.raw("vision_feature_layer")
    if isinstance(value, (list, tuple)):
        if not value:
            raise ValueError(
                f"config key 'vision_feature_layer' must name at least one "
                f"layer, got {_check.shown(value)}"
            )
        return len(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"config key 'vision_feature_layer' must be an integer or a list "
            f"of integers, got {_check.shown(value)}"
        )
    return 1


def _gemma3(w: Sub, text: dict, key: str, p: Parts, v: Sub) -> None:
    hv = v.int("hidden_size")
    p.projector_other += hv * text["hidden_size"] + hv


def _gemma4(w: Sub, text: dict, key: str, p: Parts, v: Sub) -> None:
    width = v.int("output_proj_dims") if key == "audio_config" else v.int("hidden_size")
    p.linear("embedding_projection", width, text["hidden_size"], kind="projector")


def _llava(w: Sub, text: dict, key: str, p: Parts, v: Sub) -> None:
    ht, bias = text["hidden_size"], w.flag("multimodal_projector_bias")
    p.linear(
        "linear_1",
        v.int("hidden_size") * _feature_layers(w),
        ht,
        bias,
        kind="projector",
    )
    p.linear("linear_2", ht, ht, bias, kind="projector")


def _mistral3(w: Sub, text: dict, key: str, p: Parts, v: Sub) -> None:
    hv, m = v.int("hidden_size"), w.int("spatial_merge_size")
    p.projector_other += hv
    p.linear("merging_layer", hv * m * m, hv, kind="projector")
    _llava(w, text, key, p, v)


def _idefics3(w: Sub, text: dict, key: str, p: Parts, v: Sub) -> None:
    s = w.int("scale_factor")
    p.linear(
        "proj", v.int("hidden_size") * s * s, text["hidden_size"], kind="projector"
    )


def _own_merger(w: Sub, text: dict, key: str, p: Parts, v: Sub) -> None:
    """The Qwen vision models carry their merger (read with the encoder)."""


def _llama4(w: Sub, text: dict, key: str, p: Parts, v: Sub) -> None:
    p.linear(
        "linear_1", v.int("vision_output_dim"), text["hidden_size"], kind="projector"
    )


def _slot(key: str, default: str, *accepted: str, optional: bool = False) -> _Slot:
    return _Slot(key, default, (default,) + accepted, optional)


_VISION = "vision_config"
_AUTO_VISION = ("siglip_vision_model", "clip_vision_model", "pixtral")
#: text types a wrapper that takes any language model (AutoConfig) may hold; the reader
#: for each is looked up in vramlib._arch when the config is read
_ANY = ()

WRAPPERS: dict[str, _Wrapper] = {
    "gemma3": _Wrapper(
        _slot("text_config", "gemma3_text"),
        (_slot(_VISION, "siglip_vision_model", *_AUTO_VISION[1:]),),
        dict(tie_word_embeddings=True, mm_tokens_per_image=256),
        _gemma3,
    ),
    "gemma4": _Wrapper(
        _slot("text_config", "gemma4_text"),
        (
            _slot(_VISION, "gemma4_vision", optional=True),
            _slot("audio_config", "gemma4_audio", optional=True),
        ),
        dict(tie_word_embeddings=True),
        _gemma4,
    ),
    "llava": _Wrapper(
        _Slot("text_config", "llama", _ANY),
        (_slot(_VISION, "clip_vision_model", *_AUTO_VISION),),
        dict(
            tie_word_embeddings=False,
            vision_feature_layer=-2,
            multimodal_projector_bias=True,
            image_seq_length=576,
            vision_feature_select_strategy="default",
        ),
        _llava,
        tie="outer_or_text",
    ),
    "mistral3": _Wrapper(
        _Slot("text_config", "mistral", _ANY),
        (_slot(_VISION, "pixtral", *_AUTO_VISION),),
        dict(
            tie_word_embeddings=True,
            vision_feature_layer=-1,
            multimodal_projector_bias=False,
            spatial_merge_size=2,
        ),
        _mistral3,
    ),
    "idefics3": _Wrapper(
        _Slot("text_config", "llama", _ANY),
        # SmolVLM's published configs name it "idefics3"; transformers builds its
        # Idefics3VisionConfig whatever the name says
        (_slot(_VISION, "idefics3_vision", "idefics3"),),
        dict(tie_word_embeddings=False, scale_factor=2),
        _idefics3,
    ),
    "smolvlm": _Wrapper(
        _Slot("text_config", "llama", _ANY),
        (_slot(_VISION, "smolvlm_vision"),),
        dict(tie_word_embeddings=False, scale_factor=2),
        _idefics3,
    ),
    "qwen2_5_vl": _Wrapper(
        _slot("text_config", "qwen2_5_vl_text"),
        (_slot(_VISION, "qwen2_5_vl_vision", "qwen2_5_vl"),),
        dict(tie_word_embeddings=False),
        _own_merger,
        tie="outer_or_text",
        flat_text=True,
    ),
    "qwen3_vl": _Wrapper(
        _slot("text_config", "qwen3_vl_text"),
        (_slot(_VISION, "qwen3_vl_vision", "qwen3_vl"),),
        dict(tie_word_embeddings=False),
        _own_merger,
    ),
    "qwen3_vl_moe": _Wrapper(
        _slot("text_config", "qwen3_vl_moe_text"),
        (_slot(_VISION, "qwen3_vl_moe_vision", "qwen3_vl_moe"),),
        dict(tie_word_embeddings=False),
        _own_merger,
    ),
    "qwen3_5": _Wrapper(
        _slot("text_config", "qwen3_5_text"),
        (_slot(_VISION, "qwen3_5_vision", "qwen3_5"),),
        dict(tie_word_embeddings=False),
        _own_merger,
    ),
    "qwen3_5_moe": _Wrapper(
        _slot("text_config", "qwen3_5_moe_text"),
        (_slot(_VISION, "qwen3_5_moe_vision", "qwen3_5_moe"),),
        dict(tie_word_embeddings=False),
        _own_merger,
    ),
    "llama4": _Wrapper(
        _slot("text_config", "llama4_text"),
        (_slot(_VISION, "llama4_vision_model"),),
        dict(),
        _llama4,
        tie="text",
    ),
}
SUPPORTED = tuple(WRAPPERS)

#: keys of a wrapper config that are not the flat text config of Qwen2.5-VL
_OUTER_KEYS = (
    "model_type",
    "architectures",
    "vision_config",
    "text_config",
    "image_token_id",
    "video_token_id",
    "vision_start_token_id",
    "vision_end_token_id",
    "vision_token_id",
    "quantization_config",
)


def _sub_type(wrapper: str, slot: _Slot, cfg: dict) -> str:
    given = cfg.get("model_type", slot.default)
    if not isinstance(given, str):
        raise TypeError(
            f"config key '{slot.key}.model_type' must be a string, got "
            f"{_check.shown(given)}"
        )
    if slot.accepted and given not in slot.accepted:
        kind = "language model" if slot.key == "text_config" else "encoder"
        raise ValueError(
            f"config key '{slot.key}.model_type' is {given!r}, a {kind} vramlib "
            f"does not read inside a {wrapper} model (it reads "
            f"{', '.join(slot.accepted)}); it refuses rather than drop or guess at "
            f"that part of the model"
        )
    return given


def _text_config(wrapper: str, w: _Wrapper, cfg: dict) -> dict:
    inner = cfg.get("text_config")
    if inner is None and w.flat_text:
        inner = {k: v for k, v in cfg.items() if k not in _OUTER_KEYS}
        inner["model_type"] = w.text.default
    if not isinstance(inner, dict):
        raise ValueError(
            f"config key 'text_config' is required for a {wrapper} model "
            f"(its language model) and is missing or not an object"
        )
    text_type = _sub_type(wrapper, w.text, inner)
    return {**inner, "model_type": text_type}


def wrapper_fields(cfg: dict, read_text: Callable[[dict], dict]) -> dict:
    """The ModelSpec fields of a multimodal wrapper config: its language model's fields
    (``read_text`` reads the text config by its own model_type), the LM head's tie as
    the wrapper decides it, and ``towers``."""
    wrapper = cfg["model_type"]
    w = WRAPPERS[wrapper]
    outer = Sub(cfg, w.defaults, "config")
    text_cfg = _text_config(wrapper, w, cfg)
    try:
        fields = read_text(text_cfg)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{wrapper} text_config: {err}") from None
    built: list[Tower] = []
    for slot in w.towers:
        sub = cfg.get(slot.key, _MISSING)
        if sub is None and slot.optional:
            continue  # transformers builds no such tower
        if sub is _MISSING or not isinstance(sub, dict):
            raise ValueError(
                f"config key {slot.key!r} is required for a {wrapper} model and is "
                f"missing or not an object: transformers would build its default "
                f"{slot.default} encoder, which need not be this checkpoint's; vramlib "
                f"refuses rather than guess"
            )
        enc_type = _sub_type(wrapper, slot, sub)
        enc_type = slot.default if enc_type not in towers.ENCODERS else enc_type
        parts, n_layers, hidden = towers.encoder(enc_type, sub, slot.key)
        v = Sub(sub, towers.DEFAULTS[enc_type], slot.key)
        w.projector(outer, fields, slot.key, parts, v)
        kind = towers.ENCODERS[enc_type][1]
        built.append(
            Tower(
                kind,
                enc_type,
                parts.encoder_params(),
                parts.projector_params(),
                tuple(parts.linears),
                n_layers,
                hidden,
                wrapper,
                _image_keys(wrapper, outer, v, kind),
                parts.buffers,
            )
        )
    if w.tie != "text":
        tie = outer.flag("tie_word_embeddings")
        if w.tie == "outer_or_text" and not tie:
            tie = (
                fields["tie_word_embeddings"]
                if wrapper == "llava"
                else text_cfg.get("tie_word_embeddings") is True
            )
        fields["tie_word_embeddings"] = tie
    fields["towers"] = tuple(built)
    return fields


# ---- sizes the image-token rules read ------------------------------------------------

#: the sizes each family's image-token rule reads, from the wrapper or encoder config
_IMAGE_KEYS: dict[str, tuple[tuple[str, str], ...]] = {
    "gemma3": (("outer", "mm_tokens_per_image"),),
    "llava": (("vision", "image_size"), ("vision", "patch_size")),
    "mistral3": (
        ("vision", "patch_size"),
        ("vision", "image_size"),
        ("outer", "spatial_merge_size"),
    ),
    "idefics3": (
        ("vision", "image_size"),
        ("vision", "patch_size"),
        ("outer", "scale_factor"),
    ),
    "qwen2_5_vl": (("vision", "patch_size"), ("vision", "spatial_merge_size")),
    "qwen3_vl": (("vision", "patch_size"), ("vision", "spatial_merge_size")),
    "llama4": (("vision", "image_size"), ("vision", "patch_size")),
    "gemma4": (("vision", "patch_size"), ("vision", "pooling_kernel_size")),
}
for _same, _as in (
    ("smolvlm", "idefics3"),
    ("qwen3_vl_moe", "qwen3_vl"),
    ("qwen3_5", "qwen3_vl"),
    ("qwen3_5_moe", "qwen3_vl"),
):
    _IMAGE_KEYS[_same] = _IMAGE_KEYS[_as]


def _image_keys(wrapper: str, outer: Sub, v: Sub, kind: str) -> tuple:
    if kind != "vision":
        return ()
    out = []
    for where, key in _IMAGE_KEYS[wrapper]:
        s = outer if where == "outer" else v
        value = s.raw(key)
        if (
            isinstance(value, (list, tuple))
            and len(value) == 2
            and value[0] == value[1]
        ):
            value = value[0]
        out.append((key, _check.integer(f"config key '{s.where}.{key}'", value)))
    return tuple(out)


# ---- language models that exist only inside a wrapper --------------------------------
# Their configuration classes in transformers 5.24 (configuration_qwen2_5_vl.py,
# configuration_qwen3_vl.py, configuration_qwen3_vl_moe.py); the layers are Qwen2's
# (q/k/v biases) and Qwen3's (per-head q/k norms, experts every decoder_sparse_step).

TEXT_DEFAULTS: dict[str, dict[str, Any]] = {
    "qwen2_5_vl_text": dict(
        vocab_size=152064,
        intermediate_size=29568,
        num_key_value_heads=8,
        tie_word_embeddings=False,
        use_sliding_window=False,
        sliding_window=4096,
        max_window_layers=80,
        layer_types=None,
        max_position_embeddings=32768,
    ),
    "qwen3_vl_text": dict(
        vocab_size=151936,
        intermediate_size=22016,
        num_key_value_heads=32,
        head_dim=128,
        tie_word_embeddings=False,
        attention_bias=False,
        max_position_embeddings=128000,
    ),
    "qwen3_vl_moe_text": dict(
        vocab_size=151936,
        intermediate_size=5632,
        num_key_value_heads=16,
        head_dim=None,
        tie_word_embeddings=True,
        attention_bias=False,
        decoder_sparse_step=1,
        moe_intermediate_size=1408,
        num_experts_per_tok=4,
        num_experts=60,
        mlp_only_layers=None,
        max_position_embeddings=128000,
    ),
}
TEXT_RENAMED = {"qwen3_vl_moe_text": {"num_local_experts": "num_experts"}}


def _qwen2_5_vl_text(r):
    from . import _arch

    return _arch._qwen2(r)


def _qwen3_vl_text(r):
    from . import _arch

    bias = r.flag("attention_bias")
    return _arch._dense(r, qkv_bias=bias, o_bias=bias, qk_norm="head")


def _qwen3_vl_moe_text(r):
    from . import _arch

    spec = _qwen3_vl_text(r)
    n_experts = r.int("num_experts", minimum=0)
    layers = _arch._moe_layers(r, spec["num_hidden_layers"], n_experts)
    return _arch._moe(
        r,
        spec,
        experts_key="num_experts",
        intermediate_key="moe_intermediate_size",
        layers=layers,
        minimum_experts=0,
    )


TEXT_READERS = {
    "qwen2_5_vl_text": _qwen2_5_vl_text,
    "qwen3_vl_text": _qwen3_vl_text,
    "qwen3_vl_moe_text": _qwen3_vl_moe_text,
}


# ---- images in the context: how many tokens one image becomes ------------------------

#: the processors' class defaults in transformers 5.24 that the counts below read when
#: the caller gives none (a checkpoint's preprocessor_config.json may set others:
#: pass them)
PROCESSOR_DEFAULTS: dict[str, dict[str, int]] = {
    # Qwen2VLImageProcessor: min_pixels 56*56, max_pixels 28*28*1280
    "qwen": dict(min_pixels=56 * 56, max_pixels=28 * 28 * 1280),
    # Llama4ImageProcessor: max_patches 16 tiles, resize_to_max_canvas False
    "llama4": dict(max_patches=16),
    # Gemma4ImageProcessor: max_soft_tokens 280
    "gemma4": dict(max_soft_tokens=280),
    # Idefics3ImageProcessor / SmolVLMImageProcessor: size longest_edge 4*364,
    # max_image_size longest_edge 364
    "idefics3": dict(longest_edge=4 * 364, max_image_size=364),
}


def _vision(spec: Any) -> Tower:
    found = [t for t in getattr(spec, "towers", ()) if t.kind == "vision"]
    if not found:
        label = getattr(spec, "name", None) or getattr(spec, "model_type", spec)
        raise ValueError(
            f"{label} has no vision tower: images add no tokens to a "
            f"language model alone"
        )
    return found[0]


def _qwen(keys: dict, w: int, h: int, min_pixels: int, max_pixels: int) -> int:
    """Qwen2-VL's ``smart_resize``: each side rounded to a multiple of
    :math:`f = p m` (patch times merge), the area brought within [min, max] pixels;
    one token per :math:`f \\times f` cell, plus <|vision_start|> and <|vision_end|>."""
    f = keys["patch_size"] * keys["spatial_merge_size"]
    if max(h, w) / min(h, w) > 200:
        raise ValueError(
            f"an image of {w}x{h} pixels is refused by the processor: "
            f"its aspect ratio exceeds 200"
        )
    hb, wb = round(h / f) * f, round(w / f) * f
    if hb * wb > max_pixels:
        beta = math.sqrt(h * w / max_pixels)
        hb = max(f, math.floor(h / beta / f) * f)
        wb = max(f, math.floor(w / beta / f) * f)
    elif hb * wb < min_pixels:
        beta = math.sqrt(min_pixels / (h * w))
        hb, wb = math.ceil(h * beta / f) * f, math.ceil(w * beta / f) * f
    return (hb // f) * (wb // f) + 2


def _llama4(keys: dict, w: int, h: int, max_patches: int) -> int:
    """Llama 4: the image fits the smallest canvas of up to ``max_patches`` square tiles
    it can be upscaled into without distortion (else the least downscaled); each tile
    and one global view give :math:`(S/p)^2 r^2` tokens (:math:`r` the pixel-shuffle
    ratio, 0.5: 144 for 336-pixel tiles), with separators between tiles and rows and
    <|image_start|>, <|image|>, <|image_end|>."""
    side = keys["image_size"]
    canvases = []
    for chunks in range(max_patches, 0, -1):
        for a in range(1, chunks + 1):
            if chunks % a == 0:
                canvases.append((a, chunks // a))
    scales = [min(a * side / h, b * side / w) for a, b in canvases]
    up = [s for s in scales if s >= 1]
    pick = min(up) if up else max(scales)
    rows, cols = min(
        (c for c, s in zip(canvases, scales) if s == pick), key=lambda c: c[0] * c[1]
    )
    per_tile = (side // keys["patch_size"]) ** 2 // 4  # downsample ratio 1/0.5**2
    tiles = rows * cols * per_tile + rows * (cols - 1) + rows if rows * cols > 1 else 0
    return tiles + 1 + per_tile + 2


def _pixtral(keys: dict, w: int, h: int, longest_edge: int) -> int:
    """Pixtral (Mistral 3): the image shrunk to fit ``longest_edge``, then one token per
    :math:`pm \\times pm` cell (rounded up), an [IMG_BREAK] after each row and
    [IMG_END] in place of the last."""
    cell = keys["patch_size"] * keys["spatial_merge_size"]
    ratio = max(h / longest_edge, w / longest_edge)
    if ratio > 1:
        h, w = int(math.floor(h / ratio)), int(math.floor(w / ratio))
    rows, cols = (h - 1) // cell + 1, (w - 1) // cell + 1
    return rows * (cols + 1)


def _idefics3(
    keys: dict, w: int, h: int, longest_edge: int, max_image_size: int
) -> int:
    """Idefics3 / SmolVLM: the image resized to ``longest_edge`` (even sides), cut
    into tiles of ``max_image_size``; each tile and one global view give
    :math:`((S/p)^2 / s^2)` tokens (:math:`S` the encoder's image size, :math:`s` the
    scale factor), with a <fake_token_around_image> and a <row_i_col_j> tag per tile,
    a newline per row and the global view's three markers. Counted as the processor
    does when the tokenizer merges "\\n\\n" into one token."""
    seq = (keys["image_size"] // keys["patch_size"]) ** 2 // keys["scale_factor"] ** 2
    aspect = w / h
    if w >= h:
        w, h = longest_edge, int(longest_edge / aspect)
        h += h % 2
    else:
        h, w = longest_edge, int(longest_edge * aspect)
        w += w % 2
    h, w = max(h, 1), max(w, 1)
    if w >= h and w > 4096:
        w, h = 4096, int(4096 / (w / h))
    elif h > w and h > 4096:
        h, w = 4096, int(4096 * (w / h))
    h, w = max(h, 1), max(w, 1)
    rh = math.ceil(h / max_image_size) * max_image_size
    rw = math.ceil(w / max_image_size) * max_image_size
    rows = cols = 0
    if rh > max_image_size or rw > max_image_size:
        rows, cols = math.ceil(rh / max_image_size), math.ceil(rw / max_image_size)
    return seq + 3 + rows * ((seq + 2) * cols + 1)


def _gemma4(keys: dict, w: int, h: int, max_soft_tokens: int) -> int:
    """Gemma 4: the image scaled to at most ``max_soft_tokens`` pooled cells (each
    :math:`k p` pixels square, :math:`k` the pooling kernel), keeping its aspect
    ratio; one soft token per cell, between <start_of_image> and <end_of_image>."""
    p, k = keys["patch_size"], keys["pooling_kernel_size"]
    max_patches = max_soft_tokens * k * k
    factor = math.sqrt(max_patches * p * p / (h * w))
    side = k * p
    th = int(math.floor(factor * h / side)) * side
    tw = int(math.floor(factor * w / side)) * side
    if th == 0 and tw == 0:
        raise ValueError(f"an image of {w}x{h} pixels resizes to nothing")
    longest = (max_patches // (k * k)) * side
    if th == 0:
        th, tw = side, min(int(math.floor(w / h)) * side, longest)
    elif tw == 0:
        tw, th = side, min(int(math.floor(h / w)) * side, longest)
    return (th // p) * (tw // p) // (k * k) + 2


def image_tokens(spec: Any, width: int, height: int, **processor: int) -> int:
    r"""Context tokens one image of ``width`` x ``height`` pixels becomes, as the
    family's processor in transformers 5.24 lays it out: the positions the image's
    embeddings fill plus the marker tokens the processor itself inserts around them.

    * Gemma 3: fixed, ``mm_tokens_per_image`` (256) soft tokens plus <start_of_image>
      and <end_of_image>: 258 (without pan-and-scan; the processor also puts two
      blank lines of text around them).
    * LLaVA: fixed, :math:`(S/p)^2` (576 for a 336-pixel CLIP with patch 14); the image
      is resized to the encoder's size.
    * Qwen2.5-VL, Qwen3-VL, Qwen3.5: :math:`\lceil h'/f \rceil \lceil w'/f \rceil + 2`
      after ``smart_resize`` (``min_pixels``, ``max_pixels``; :math:`f` = 28 or 32).
    * Mistral 3 (Pixtral): rows x (columns + 1) of :math:`pm`-pixel cells after fitting
      ``longest_edge`` (default: the encoder's ``image_size``).
    * Idefics3, SmolVLM: tiles of ``max_image_size`` plus a global view, each
      :math:`(S/p)^2/s^2` tokens (169 for Idefics3's 364-pixel tiles), with markers.
    * Llama 4: up to ``max_patches`` (16) 336-pixel tiles plus a global view, 144 tokens
      each, with separators and three markers (147 for one tile).
    * Gemma 4: at most ``max_soft_tokens`` (280) pooled cells plus two markers.

    ``processor`` overrides the processor's settings named above (a checkpoint's
    ``preprocessor_config.json`` may set them); unknown names are refused.
    """
    tower = _vision(spec)
    width = _check.integer("width", width)
    height = _check.integer("height", height)
    keys = dict(tower.image)
    wrapper = tower.wrapper

    def opts(family: str, **extra: int) -> dict[str, int]:
        allowed = {**PROCESSOR_DEFAULTS.get(family, {}), **extra}
        for name in processor:
            if name not in allowed:
                raise _check.unknown(
                    "processor setting",
                    name,
                    allowed,
                    what=f"{wrapper} processor setting",
                )
        return {k: _check.integer(k, processor.get(k, v)) for k, v in allowed.items()}

    if wrapper == "gemma3":
        opts("gemma3")
        return keys["mm_tokens_per_image"] + 2
    if wrapper == "llava":
        opts("llava")
        return (keys["image_size"] // keys["patch_size"]) ** 2
    if wrapper.startswith(("qwen2_5_vl", "qwen3")):
        return _qwen(keys, width, height, **opts("qwen"))
    if wrapper == "mistral3":
        return _pixtral(
            keys, width, height, **opts("mistral3", longest_edge=keys["image_size"])
        )
    if wrapper in ("idefics3", "smolvlm"):
        return _idefics3(keys, width, height, **opts("idefics3"))
    if wrapper == "llama4":
        return _llama4(keys, width, height, **opts("llama4"))
    if wrapper == "gemma4":
        return _gemma4(keys, width, height, **opts("gemma4"))
    raise ValueError(f"no image-token rule for a {wrapper} model")  # pragma: no cover


#: families whose image becomes a fixed number of tokens whatever its size
FIXED_PER_IMAGE = ("gemma3", "llava")


def tokens_for_images(spec: Any, images: int, image_size: Any = None) -> int:
    """Context tokens ``images`` images of ``image_size`` = (width, height) add, for
    :func:`vramlib.estimate`. The size may be left out only where the count is fixed."""
    tower = _vision(spec)
    if image_size is None:
        if tower.wrapper not in FIXED_PER_IMAGE:
            raise ValueError(
                f"image_size=(width, height) is required: a {tower.wrapper} "
                f"image becomes a number of tokens that depends on its size"
            )
        width = height = 1
    else:
        if not isinstance(image_size, (tuple, list)) or len(image_size) != 2:
            raise TypeError(
                f"image_size must be (width, height) in pixels, got "
                f"{_check.shown(image_size)}"
            )
        width, height = image_size
    return images * image_tokens(spec, width, height)
