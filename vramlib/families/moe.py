r"""Readers for attention-and-MLP families of 2025: dense, and mixtures of experts.

Every layer of these models is softmax attention plus a dense MLP or a mixture of
experts. Each differs from the llama layout in named ways, read from transformers
5.24's ``configuration_<type>.py`` and ``modeling_<type>.py``:

* ``olmo3`` (OLMo 3): sliding-window layers (three in four by default) and full ones;
  q/k norms over all heads; the two norms sit after attention and after the MLP.
* ``smollm3`` (SmolLM3): layers without rotary positions (``no_rope_layers``: no
  effect on weights or cache); an optional window on those layers.
* ``seed_oss`` (Seed-OSS): q/k/v biases (``attention_bias``), an optional output
  bias (``attention_out_bias``), optional MLP biases.
* ``ministral3`` (Ministral 3): the llama layout; every layer slides when
  ``sliding_window`` is set.
* ``apertus`` (Apertus): a plain up/down MLP with the xIELU activation, whose two
  learned scalars per layer are counted in ``norm``; q/k norms per head.
* ``glm4_moe`` (GLM-4.5/4.6): the first ``first_k_dense_replace`` layers dense, the
  rest routed plus shared experts; optional q/k norms; q/k/v biases; the
  multi-token-prediction layers the checkpoint ships but transformers does not build
  are recorded in ``mtp_layers`` and not counted.
* ``minimax_m2`` (MiniMax-M2): routed experts of ``intermediate_size`` in every
  layer, no shared expert; q/k norms over all heads.
* ``ernie4_5_moe`` (ERNIE 4.5 MoE): experts on layers ``moe_layer_start_index`` to
  ``moe_layer_end_index``, every ``moe_layer_interval``-th; shared experts; the
  router's score-correction bias is a parameter here; ``use_bias`` puts biases on
  every linear layer, the LM head included (:math:`V` more, even when tied).
* ``hunyuan_v1_moe`` (Hunyuan-A13B): routed experts plus a shared MLP in every
  layer, both of ``intermediate_size``; q/k norms per head; ``moe_topk`` may differ
  by layer.

The cache is :class:`~vramlib.layers.Attention`'s: a key and a value row per token,
capped by the window on sliding layers (what transformers keeps there: see
:mod:`vramlib.kv`).

Refused rather than sized: a ``sliding_window`` or ``attention_chunk_size`` on a
type whose attention never slides (transformers' DynamicCache would trim to it while
the attention reads everything), layers marked sliding without a window, an
activation with learned parameters where they are not counted, and keys describing
modules that transformers does not build as the checkpoint has them (Hunyuan's
cross-layer attention, per-layer expert counts or widths; a MiniMax shared expert).
"""

from __future__ import annotations

from typing import Any, Callable

from .. import _arch, _check
from ..layers.attention import Attention
from ..layers.ffn import DenseMLP, MoE
from ..layers.layer import Layer

#: ``hidden_act`` names transformers 5.24 knows (``activations.ACT2CLS``), with the
#: learned parameters one instance holds (xIELU: alpha_p, alpha_n; PReLU: a slope)
ACTIVATIONS: dict[str, int] = {
    **dict.fromkeys(
        (
            "gelu",
            "gelu_10",
            "gelu_fast",
            "gelu_new",
            "gelu_python",
            "gelu_pytorch_tanh",
            "gelu_python_tanh",
            "gelu_accurate",
            "hardswish",
            "laplace",
            "leaky_relu",
            "linear",
            "mish",
            "quick_gelu",
            "relu",
            "relu2",
            "relu6",
            "sigmoid",
            "silu",
            "sqrtsoftplus",
            "swish",
            "tanh",
        ),
        0,
    ),
    "prelu": 1,
    "xielu": 2,
}

_SLIDING = ("full_attention", "sliding_attention")

# Class defaults in transformers 5.24 for the keys that shape parameters or the cache.
DEFAULTS: dict[str, dict[str, Any]] = {
    "olmo3": dict(
        vocab_size=50304,
        intermediate_size=11008,
        num_key_value_heads=None,
        hidden_act="silu",
        max_position_embeddings=2048,
        tie_word_embeddings=False,
        attention_bias=False,
        sliding_window=4096,
        layer_types=None,
    ),
    "smollm3": dict(
        vocab_size=128256,
        intermediate_size=11008,
        num_key_value_heads=4,
        hidden_act="silu",
        max_position_embeddings=32768,
        use_sliding_window=False,
        sliding_window=None,
        no_rope_layers=None,
        no_rope_layer_interval=4,
        layer_types=None,
        attention_bias=False,
        mlp_bias=False,
        tie_word_embeddings=True,
    ),
    "seed_oss": dict(
        vocab_size=155136,
        intermediate_size=27648,
        num_key_value_heads=8,
        hidden_act="silu",
        max_position_embeddings=524288,
        tie_word_embeddings=False,
        attention_bias=True,
        attention_out_bias=False,
        mlp_bias=False,
        head_dim=128,
    ),
    "ministral3": dict(
        vocab_size=131072,
        intermediate_size=14336,
        num_key_value_heads=8,
        head_dim=128,
        hidden_act="silu",
        max_position_embeddings=262144,
        tie_word_embeddings=False,
        sliding_window=None,
    ),
    "apertus": dict(
        vocab_size=131072,
        intermediate_size=14336,
        num_key_value_heads=None,
        hidden_act="xielu",
        max_position_embeddings=65536,
        tie_word_embeddings=False,
        attention_bias=False,
    ),
    "glm4_moe": dict(
        vocab_size=151552,
        intermediate_size=10944,
        num_key_value_heads=8,
        hidden_act="silu",
        max_position_embeddings=131072,
        tie_word_embeddings=False,
        attention_bias=False,
        moe_intermediate_size=1408,
        num_experts_per_tok=8,
        n_shared_experts=1,
        n_routed_experts=128,
        first_k_dense_replace=1,
        use_qk_norm=False,
        num_nextn_predict_layers=1,
    ),
    "minimax_m2": dict(
        vocab_size=200064,
        intermediate_size=1536,
        num_key_value_heads=8,
        head_dim=128,
        hidden_act="silu",
        max_position_embeddings=196608,
        tie_word_embeddings=False,
        num_experts_per_tok=8,
        num_local_experts=256,
    ),
    "ernie4_5_moe": dict(
        vocab_size=103424,
        intermediate_size=12288,
        num_key_value_heads=4,
        hidden_act="silu",
        max_position_embeddings=131072,
        tie_word_embeddings=True,
        use_bias=False,
        moe_intermediate_size=1536,
        moe_k=6,
        moe_num_experts=64,
        moe_num_shared_experts=2,
        moe_layer_start_index=1,
        moe_layer_end_index=-1,
        moe_layer_interval=1,
    ),
    "hunyuan_v1_moe": dict(
        vocab_size=290943,
        intermediate_size=11008,
        num_key_value_heads=None,
        hidden_act="silu",
        max_position_embeddings=2048,
        tie_word_embeddings=False,
        attention_bias=False,
        num_experts=1,
        moe_topk=1,
        head_dim=None,
    ),
}

# attribute_map of the configuration classes: another name in a file -> the name read
RENAMED: dict[str, dict[str, str]] = {
    "glm4_moe": {
        "num_local_experts": "n_routed_experts",
        "num_mtp_layers": "num_nextn_predict_layers",
    },
    "minimax_m2": {"num_experts": "num_local_experts"},
    "ernie4_5_moe": {"num_experts": "moe_num_experts", "num_experts_per_tok": "moe_k"},
    "hunyuan_v1_moe": {
        "num_experts_per_tok": "moe_topk",
        "num_local_experts": "num_experts",
    },
}


# ---- shared pieces -----------------------------------------------------------------


def _refuse(r, key: str, value: Any, why: str) -> ValueError:
    return ValueError(
        f"config key {key!r} is {_check.shown(value)} in a "
        f"{r.model_type} config: {why}. vramlib refuses rather than "
        f"guess what the checkpoint holds"
    )


def _never_slides(r) -> None:
    """Refuse a window or chunk on a type whose attention reads the whole context:
    transformers' DynamicCache would still trim to it (``get_layer_types_and_kwargs``
    in ``cache_utils``), so what it keeps and what attention reads would differ."""
    for key in ("sliding_window", "attention_chunk_size"):
        if r.cfg.get(key) is not None:
            raise _refuse(
                r,
                key,
                r.cfg[key],
                "this model's attention reads the whole "
                "context, yet transformers' cache would trim to it",
            )


def _activation(r, *, counted: bool = False) -> int:
    """Learned parameters of one ``hidden_act`` instance. An activation with
    parameters is refused unless the reader counts them (``counted``)."""
    act = r.raw("hidden_act")
    if not isinstance(act, str) or act not in ACTIVATIONS:
        raise _check.unknown(
            "config key 'hidden_act'", act, ACTIVATIONS, what="activation"
        )
    if ACTIVATIONS[act] and not counted:
        raise _refuse(
            r,
            "hidden_act",
            act,
            "an activation with learned parameters, which this reader does not count",
        )
    return ACTIVATIONS[act]


def _head_dim(r, hidden: int, heads: int, null_splits: bool) -> int:
    """``head_dim`` from the file, else the class default, else hidden / heads.

    ``null_splits``: the class turns ``null`` into hidden / heads (Seed-OSS);
    elsewhere transformers cannot build from a null, which is refused.
    """
    value = r.raw("head_dim")
    if value is None and not null_splits:
        raise ValueError(
            f"config key 'head_dim' must be an integer >= 1 in a "
            f"{r.model_type} config, got null (transformers cannot build "
            f"the model from it)"
        )
    if value is None or value is _arch._MISSING:
        return _arch._split_head_dim(r, hidden, heads)
    return _check.integer("config key 'head_dim'", value, minimum=1)


def _shape(r, *, null_splits: bool = False, null_kv: bool = True) -> dict:
    """The flat fields every reader here shares: sizes, heads, head size, and
    ``intermediate_size``. ``null_kv``: a null ``num_key_value_heads`` means as many
    as query heads (else the class cannot take it, and it is refused)."""
    if r.cfg.get("per_layer_config") is not None:
        raise _refuse(
            r,
            "per_layer_config",
            r.cfg["per_layer_config"],
            "per-layer overrides are not modelled",
        )
    spec = _arch._common(r)
    hidden, heads = spec["hidden_size"], spec["num_attention_heads"]
    kv = _arch._heads(r, heads) if null_kv else r.int("num_key_value_heads")
    if heads % kv:
        raise ValueError(
            f"config key 'num_attention_heads' ({heads}) must be a "
            f"multiple of 'num_key_value_heads' ({kv})"
        )
    spec.update(
        num_key_value_heads=kv,
        head_dim=_head_dim(r, hidden, heads, null_splits),
        intermediate_size=r.int("intermediate_size"),
    )
    return spec


def _attention(spec: dict, **kw: Any) -> Attention:
    return Attention(
        spec["hidden_size"],
        spec["num_attention_heads"],
        spec["num_key_value_heads"],
        spec["head_dim"],
        **kw,
    )


def _stack(n: int, part: Callable[[int], tuple], make: Callable[..., Layer]) -> tuple:
    """``n`` layers: ``part(i)`` describes layer i (a hashable tuple), ``make(*part)``
    builds it; alike layers share one object."""
    made: dict[tuple, Layer] = {}
    out = []
    for i in range(n):
        key = part(i)
        if key not in made:
            made[key] = make(*key)
        out.append(made[key])
    return tuple(out)


def _window_kinds(r, n: int, default: Callable[[int], bool]) -> list[str]:
    """The file's ``layer_types`` (checked), else ``default(i)`` (True: sliding)."""
    given = r.raw("layer_types")
    if given is None or given is _arch._MISSING:
        return [
            "sliding_attention" if default(i) else "full_attention" for i in range(n)
        ]
    if not isinstance(given, (list, tuple)) or len(given) != n:
        raise ValueError(
            f"config key 'layer_types' must be a list of {n} entries (one "
            f"per layer, num_hidden_layers = {n}), got "
            f"{_check.shown(given)}"
        )
    _arch._known_layer_types(r, given, _SLIDING)
    return list(given)


def _span(kind: str, window: int | None) -> dict:
    return dict(span="sliding", window=window) if kind == "sliding_attention" else {}


def _top_k(r, key: str, experts: int, experts_key: str) -> int:
    k = r.int(key)
    if k > experts:
        raise ValueError(
            f"config key {key!r} ({k}) exceeds the number of experts "
            f"{experts_key!r} ({experts})"
        )
    return k


def _with_layers(spec: dict, layers: tuple, top_k: int | None = None) -> dict:
    """``layers``, and the flat MoE fields read off the first layer with experts."""
    moe = next((x.ffn for x in layers if x.ffn.kind == "moe"), None)
    if moe is not None:
        spec.update(
            num_experts=moe.experts,
            experts_per_token=top_k or moe.top_k,
            moe_intermediate_size=moe.width,
            shared_expert_intermediate_size=moe.shared_width,
        )
    spec["layers"] = layers
    return spec


# ---- dense families ----------------------------------------------------------------


def _olmo3(r):
    spec = _shape(r)
    _activation(r)
    n, h = spec["num_hidden_layers"], spec["hidden_size"]
    window = r.int("sliding_window", null=None)
    kinds = _window_kinds(r, n, lambda i: (i + 1) % 4 != 0)
    slides = "sliding_attention" in kinds
    if slides and window is None:
        raise _refuse(
            r,
            "sliding_window",
            None,
            "layers marked sliding_attention need "
            "a window (transformers 5.24 cannot run them without one)",
        )
    bias = r.flag("attention_bias")
    spec.update(
        qkv_bias=bias,
        o_bias=bias,
        qk_norm="full",
        sliding_window=window if slides else None,
    )
    mlp = DenseMLP(h, spec["intermediate_size"])
    return _with_layers(
        spec,
        _stack(
            n,
            lambda i: (kinds[i],),
            lambda kind: Layer(
                _attention(
                    spec,
                    qkv_bias=bias,
                    o_bias=bias,
                    qk_norm="full",
                    **_span(kind, window),
                ),
                mlp,
                h,
            ),
        ),
    )


def _no_rope_layers(r, n: int) -> list[int]:
    """SmolLM3's per-layer rotary switch (1: rotary positions, 0: none), checked."""
    given = r.raw("no_rope_layers")
    if given is None or given is _arch._MISSING:
        every = r.int("no_rope_layer_interval")
        return [int((i + 1) % every != 0) for i in range(n)]
    if (
        not isinstance(given, (list, tuple))
        or len(given) != n
        or any(isinstance(v, float) or v not in (0, 1) for v in given)
    ):
        raise ValueError(
            f"config key 'no_rope_layers' must be a list of {n} entries "
            f"(num_hidden_layers = {n}), each 1 (the layer uses rotary "
            f"positions) or 0 (it does not), got {_check.shown(given)}"
        )
    return [int(v) for v in given]


def _smollm3(r):
    spec = _shape(r)
    _activation(r)
    n, h = spec["num_hidden_layers"], spec["hidden_size"]
    rope = _no_rope_layers(r, n)  # no weights, no cache: checked, then only a default
    use_window = r.flag("use_sliding_window")
    window = r.int("sliding_window", null=None)
    can_slide = use_window and window is not None
    kinds = _window_kinds(r, n, lambda i: can_slide and not rope[i])
    slides = "sliding_attention" in kinds
    if slides and not can_slide:
        raise _refuse(
            r,
            "layer_types",
            kinds,
            "it marks layers sliding_attention "
            "while use_sliding_window is false or sliding_window is null; "
            "transformers 5.24 would attend to everything there yet trim "
            "their cache (or fail)",
        )
    bias, mlp_bias = r.flag("attention_bias"), r.flag("mlp_bias")
    spec.update(
        qkv_bias=bias,
        o_bias=bias,
        mlp_bias=mlp_bias,
        sliding_window=window if slides else None,
    )
    mlp = DenseMLP(h, spec["intermediate_size"], bias=mlp_bias)
    return _with_layers(
        spec,
        _stack(
            n,
            lambda i: (kinds[i],),
            lambda kind: Layer(
                _attention(spec, qkv_bias=bias, o_bias=bias, **_span(kind, window)),
                mlp,
                h,
            ),
        ),
    )


def _seed_oss(r):
    _never_slides(r)
    spec = _shape(r, null_splits=True)
    _activation(r)
    qkv, out = r.flag("attention_bias"), r.flag("attention_out_bias")
    mlp_bias = r.flag("mlp_bias")
    spec.update(qkv_bias=qkv, o_bias=out, mlp_bias=mlp_bias)
    h = spec["hidden_size"]
    layer = Layer(
        _attention(spec, qkv_bias=qkv, o_bias=out),
        DenseMLP(h, spec["intermediate_size"], bias=mlp_bias),
        h,
    )
    return _with_layers(spec, (layer,) * spec["num_hidden_layers"])


def _ministral3(r):
    if r.cfg.get("attention_chunk_size") is not None:
        raise _refuse(
            r,
            "attention_chunk_size",
            r.cfg["attention_chunk_size"],
            "Ministral 3 has no chunked attention, yet transformers' cache "
            "would trim to it",
        )
    spec = _shape(r, null_kv=False)
    _activation(r)
    window = r.int("sliding_window", null=None)
    spec["sliding_window"] = window
    h = spec["hidden_size"]
    kind = "sliding_attention" if window is not None else "full_attention"
    layer = Layer(
        _attention(spec, **_span(kind, window)),
        DenseMLP(h, spec["intermediate_size"]),
        h,
    )
    return _with_layers(spec, (layer,) * spec["num_hidden_layers"])


def _apertus(r):
    _never_slides(r)
    spec = _shape(r)
    act = _activation(r, counted=True)
    h, bias = spec["hidden_size"], r.flag("attention_bias")
    spec.update(qkv_bias=bias, o_bias=bias, qk_norm="head", mlp_gated=False)
    layer = Layer(
        _attention(spec, qkv_bias=bias, o_bias=bias, qk_norm="head"),
        DenseMLP(h, spec["intermediate_size"], gated=False),
        h,
        extra=(("norm", act),) if act else (),
    )
    return _with_layers(spec, (layer,) * spec["num_hidden_layers"])


# ---- mixture-of-experts families ---------------------------------------------------


def _glm4_moe(r):
    _never_slides(r)
    spec = _shape(r, null_kv=False)
    _activation(r)
    n, h = spec["num_hidden_layers"], spec["hidden_size"]
    bias = r.flag("attention_bias")
    qk_norm = "head" if r.flag("use_qk_norm") else "none"
    experts = r.int("n_routed_experts")
    top_k = _top_k(r, "num_experts_per_tok", experts, "n_routed_experts")
    width = r.int("moe_intermediate_size")
    shared = width * r.int("n_shared_experts", minimum=0)
    first_dense = r.int("first_k_dense_replace", minimum=0)
    spec.update(
        qkv_bias=bias,
        qk_norm=qk_norm,
        mtp_layers=r.int("num_nextn_predict_layers", minimum=0, null=0),
    )
    attn = _attention(spec, qkv_bias=bias, qk_norm=qk_norm)
    dense = DenseMLP(h, spec["intermediate_size"])
    moe = MoE(h, experts, top_k, width, shared_width=shared, score_bias_buffer="F32")
    return _with_layers(
        spec,
        _stack(
            n,
            lambda i: (i >= first_dense,),
            lambda routed: Layer(attn, moe if routed else dense, h),
        ),
    )


def _minimax_m2(r):
    _never_slides(r)
    if r.cfg.get("use_qk_norm") is False:
        raise _refuse(
            r,
            "use_qk_norm",
            False,
            "transformers 5.24 always builds MiniMax-M2's q/k norms",
        )
    if r.cfg.get("qk_norm_type", "per_layer") != "per_layer":
        raise _refuse(
            r,
            "qk_norm_type",
            r.cfg["qk_norm_type"],
            "transformers 5.24 builds q/k norms over all heads ('per_layer') only",
        )
    if r.cfg.get("shared_intermediate_size") not in (None, 0):
        raise _refuse(
            r,
            "shared_intermediate_size",
            r.cfg["shared_intermediate_size"],
            "transformers 5.24 builds no shared expert for MiniMax-M2",
        )
    spec = _shape(r, null_kv=False)
    _activation(r)
    h = spec["hidden_size"]
    experts = r.int("num_local_experts")
    top_k = _top_k(r, "num_experts_per_tok", experts, "num_local_experts")
    spec["qk_norm"] = "full"
    layer = Layer(
        _attention(spec, qk_norm="full"),
        MoE(h, experts, top_k, spec["intermediate_size"], score_bias_buffer="model"),
        h,
    )
    return _with_layers(spec, (layer,) * spec["num_hidden_layers"])


def _ernie4_5_moe(r):
    _never_slides(r)
    spec = _shape(r, null_kv=False)
    _activation(r)
    n, h, v = spec["num_hidden_layers"], spec["hidden_size"], spec["vocab_size"]
    bias = r.flag("use_bias")
    experts = r.int("moe_num_experts")
    top_k = _top_k(r, "moe_k", experts, "moe_num_experts")
    width = r.int("moe_intermediate_size")
    shared = width * r.int("moe_num_shared_experts", minimum=0)
    start = r.int("moe_layer_start_index", minimum=0)
    end = r.int("moe_layer_end_index", minimum=-1)
    end = n - 1 if end == -1 else end  # as Ernie4_5_MoeConfig.__post_init__
    every = r.int("moe_layer_interval")
    spec.update(qkv_bias=bias, o_bias=bias, mlp_bias=bias)
    if bias:  # lm_head's bias, there even when its weight is the embedding's
        spec["extra_params"] = (("bias", v),)
    attn = _attention(spec, qkv_bias=bias, o_bias=bias)
    dense = DenseMLP(h, spec["intermediate_size"], bias=bias)
    moe = MoE(
        h,
        experts,
        top_k,
        width,
        shared_width=shared,
        score_bias_param=True,
        mlp_bias=bias,
    )

    def routed(i: int) -> tuple:
        return ((i + 1) % every == 0 and start <= i <= end,)

    return _with_layers(
        spec,
        _stack(
            n, routed, lambda has_experts: Layer(attn, moe if has_experts else dense, h)
        ),
    )


def _per_layer(r, key: str, n: int) -> list[int] | None:
    """A Hunyuan key that is one integer or one per layer (None when absent)."""
    given = r.raw(key)
    if given is None or given is _arch._MISSING:
        return None
    if isinstance(given, (list, tuple)):
        if len(given) != n:
            raise ValueError(
                f"config key {key!r} must be one integer or a list of {n} "
                f"(one per layer, num_hidden_layers = {n}), got "
                f"{_check.shown(given)}"
            )
        return [_check.integer(f"config key {key!r} item", x) for x in given]
    return [_check.integer(f"config key {key!r}", given)] * n


def _hunyuan_v1_moe(r):
    _never_slides(r)
    for key, value, why in (
        (
            "use_cla",
            True,
            "cross-layer KV sharing, which transformers 5.24's Hunyuan does not build",
        ),
        ("use_mixed_mlp_moe", False, "transformers 5.24 always builds the shared MLP"),
        ("use_qk_norm", False, "transformers 5.24 always builds the q/k norms"),
    ):
        if r.cfg.get(key) is value:
            raise _refuse(r, key, value, why)
    if r.cfg.get("head_dim") is None:  # the class default is null too
        raise ValueError(
            "config key 'head_dim' is required for a hunyuan_v1_moe model "
            "and is missing or null (transformers 5.24 cannot build one "
            "without it)"
        )
    spec = _shape(r)
    _activation(r)
    n, h = spec["num_hidden_layers"], spec["hidden_size"]
    width = spec["intermediate_size"]
    if isinstance(r.raw("num_experts"), (list, tuple)):
        raise _refuse(
            r,
            "num_experts",
            r.raw("num_experts"),
            "transformers 5.24 "
            "builds the same number of experts in every layer (an integer)",
        )
    experts = r.int("num_experts")
    ks = _per_layer(r, "moe_topk", n) or []
    if ks and max(ks) > experts:
        raise ValueError(
            f"config key 'moe_topk' ({max(ks)}) exceeds the number of "
            f"experts 'num_experts' ({experts})"
        )
    # keys of the released checkpoints that transformers ignores: they must agree with
    # what it builds (experts and one shared MLP of intermediate_size in every layer)
    for key, built in (("moe_intermediate_size", width), ("num_shared_expert", 1)):
        given = _per_layer(r, key, n)
        if given is not None and set(given) != {built}:
            raise _refuse(
                r,
                key,
                r.raw(key),
                f"transformers 5.24 ignores it and builds {built} in every layer",
            )
    bias = r.flag("attention_bias")
    spec.update(qkv_bias=bias, o_bias=bias, qk_norm="head")
    attn = _attention(spec, qkv_bias=bias, o_bias=bias, qk_norm="head")
    return _with_layers(
        spec,
        _stack(
            n,
            lambda i: (ks[i],),
            lambda k: Layer(
                attn, MoE(h, experts, k, width, shared_width=width, router_name="wg"), h
            ),
        ),
        top_k=max(ks),
    )


READERS: dict[str, Callable[[Any], dict]] = {
    "olmo3": _olmo3,
    "smollm3": _smollm3,
    "seed_oss": _seed_oss,
    "ministral3": _ministral3,
    "apertus": _apertus,
    "glm4_moe": _glm4_moe,
    "minimax_m2": _minimax_m2,
    "ernie4_5_moe": _ernie4_5_moe,
    "hunyuan_v1_moe": _hunyuan_v1_moe,
}
