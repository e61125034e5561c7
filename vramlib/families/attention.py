r"""Readers: attention families whose layers differ in span, shape or what they keep.

* ``gpt_oss`` (gpt-oss-20b/120b): sliding windows of 128 tokens alternate with full
  attention, every layer has attention sinks (one logit per query head) and biased
  q/k/v/o; every layer is a mixture of experts whose experts and router carry biases.
* ``llama4_text`` (Llama 4 Scout/Maverick): three layers in four attend within chunks of
  ``attention_chunk_size`` tokens and use rotary positions; every fourth attends to the
  whole context without positions (NoPE). Mixture-of-experts layers (each with a shared
  expert of the experts' width) interleave with dense layers of
  ``intermediate_size_mlp``.
* ``gemma4_text`` (Gemma 4): local (sliding) and global layers of different head sizes
  and key/value heads, optional keys-as-values on global layers, the last layers reusing
  an earlier layer's keys and values, per-layer input embeddings, optional experts
  beside the dense MLP.
* ``cohere2`` (Command R7B, Command A): sliding and global layers, one norm per layer
  (parallel attention and MLP).
* ``exaone4`` (EXAONE 4.0): sliding and global layers, q/k norms per head, norms after
  attention and after the MLP.

What transformers 5.24 keeps in its ``DynamicCache``: every full-attention layer keeps
:math:`T` tokens; sliding and chunked layers (the same ``DynamicSlidingWindowLayer``,
with :math:`W` = ``attention_chunk_size`` for chunks) show :math:`\min(T, W - 1)` tokens
but hold :math:`\min(T, W)` in memory after a decoding step (vramlib's count; the whole
prompt right after a prefill), plus an 8-byte scalar with the window size; Gemma 4's
layers that reuse another layer's keys and values keep nothing. See
:mod:`vramlib.layers.attention` and ``tests/validate/test_attention_families.py``.

Each reader mirrors ``transformers/models/<type>/configuration_<type>.py`` and
``modeling_<type>.py`` of transformers 5.24; the defaults below were read from there.
"""

from __future__ import annotations

from typing import Any

from .. import _arch, _check
from ..layers.attention import Attention
from ..layers.ffn import DenseMLP, MoE
from ..layers.gemma4 import Gemma4FeedForward
from ..layers.layer import Layer

FULL, SLIDING, CHUNKED = "full_attention", "sliding_attention", "chunked_attention"

DEFAULTS: dict[str, dict[str, Any]] = {
    "gpt_oss": dict(
        vocab_size=201088,
        intermediate_size=2880,
        num_key_value_heads=8,
        head_dim=64,
        tie_word_embeddings=False,
        sliding_window=128,
        layer_types=None,
        num_local_experts=128,
        num_experts_per_tok=4,
        attention_bias=True,
        max_position_embeddings=131072,
    ),
    "llama4_text": dict(
        vocab_size=202048,
        intermediate_size=8192,
        intermediate_size_mlp=16384,
        num_key_value_heads=8,
        head_dim=128,
        tie_word_embeddings=False,
        num_experts_per_tok=1,
        num_local_experts=16,
        moe_layers=None,
        interleave_moe_layer_step=1,
        no_rope_layers=None,
        no_rope_layer_interval=4,
        attention_chunk_size=8192,
        layer_types=None,
        attention_bias=False,
        max_position_embeddings=131072,
    ),
    # global_head_dim and num_global_key_value_heads are not fields of Gemma4TextConfig:
    # its __post_init__ takes them from the file (512 and None when absent) to build
    # per_layer_config for the full-attention layers.
    "gemma4_text": dict(
        vocab_size=262144,
        intermediate_size=9216,
        num_key_value_heads=4,
        head_dim=256,
        tie_word_embeddings=True,
        attention_bias=False,
        sliding_window=512,
        layer_types=None,
        use_bidirectional_attention=None,
        vocab_size_per_layer_input=262144,
        hidden_size_per_layer_input=256,
        attention_k_eq_v=False,
        num_kv_shared_layers=0,
        enable_moe_block=False,
        use_double_wide_mlp=False,
        num_experts=None,
        top_k_experts=None,
        moe_intermediate_size=None,
        global_head_dim=512,
        num_global_key_value_heads=None,
        max_position_embeddings=131072,
    ),
    # sliding_window_pattern and head_dim are not fields of Cohere2Config: __post_init__
    # reads the pattern (4 when absent) only when layer_types is absent; a head_dim in
    # the file is set after __post_init__ derives hidden_size / num_attention_heads, so
    # it wins.
    "cohere2": dict(
        vocab_size=256000,
        intermediate_size=22528,
        num_key_value_heads=None,
        tie_word_embeddings=True,
        attention_bias=False,
        sliding_window=4096,
        layer_types=None,
        sliding_window_pattern=4,
        max_position_embeddings=8192,
    ),
    "exaone4": dict(
        vocab_size=102400,
        intermediate_size=16384,
        num_key_value_heads=32,
        tie_word_embeddings=False,
        sliding_window=4096,
        sliding_window_pattern=4,
        layer_types=None,
        max_position_embeddings=2048,
    ),
}

# attribute_map of GptOssConfig: a file may say num_experts for num_local_experts
RENAMED = {"gpt_oss": {"num_experts": "num_local_experts"}}


# ---- shared checks -------------------------------------------------------------------


def _no_per_layer_config(r: _arch._Reader) -> None:
    """transformers 5.24 lets any config carry ``per_layer_config`` (overrides by
    layer); the types read here other than Gemma 4 build their layers from the global
    keys, so a file with overrides describes layers this reader cannot see: refused."""
    if r.cfg.get("per_layer_config"):
        raise ValueError(
            f"config key 'per_layer_config' overrides settings layer by layer, "
            f"which a {r.model_type} model does not read in transformers 5.24; "
            f"vramlib refuses rather than size layers it cannot see"
        )


def _head_dim(r: _arch._Reader, hidden: int, heads: int) -> int:
    """``head_dim``, or hidden_size / num_attention_heads where the file has null."""
    value = r.int("head_dim", null=None)
    return value if value is not None else _arch._split_head_dim(r, hidden, heads)


def _top_k(r: _arch._Reader, key: str, experts: int, experts_key: str) -> int:
    k = r.int(key)
    if k > experts:
        raise ValueError(
            f"config key {key!r} ({k}) exceeds the number of experts "
            f"{experts_key!r} ({experts})"
        )
    return k


def _given_layer_types(
    r: _arch._Reader, n: int, accepted: tuple[str, ...]
) -> list | None:
    """The file's ``layer_types``, checked (n entries, each accepted), or None."""
    given = r.raw("layer_types")
    if given is None or given is _arch._MISSING:
        return None
    if not isinstance(given, (list, tuple)) or len(given) != n:
        raise ValueError(
            f"config key 'layer_types' must be a list of {n} entries (one per "
            f"layer, num_hidden_layers = {n}), got {_check.shown(given)}"
        )
    _arch._known_layer_types(r, given, accepted)
    return list(given)


def _stack(
    kinds: tuple[str, ...],
    mixers: dict[str, Any],
    ffns: list[Any],
    hidden: int,
    norms: int = 2,
) -> tuple[Layer, ...]:
    """One Layer per position, sharing one object among identical (mixer, ffn) pairs."""
    made: dict[tuple[int, int], Layer] = {}
    out = []
    for kind, ffn in zip(kinds, ffns):
        mixer = mixers[kind]
        key = (id(mixer), id(ffn))
        if key not in made:
            made[key] = Layer(mixer, ffn, hidden, norms)
        out.append(made[key])
    return tuple(out)


# ---- gpt-oss -------------------------------------------------------------------------


def _gpt_oss(r: _arch._Reader) -> dict:
    r"""gpt-oss: :math:`L` layers of attention with sinks and biases, each followed by
    :math:`E` biased experts (``num_local_experts``) of width ``intermediate_size``,
    :math:`k` per token, behind a biased router. Layer :math:`i` slides over
    ``sliding_window`` tokens when :math:`i` is even, unless ``layer_types`` says
    otherwise."""
    _no_per_layer_config(r)
    spec = _arch._common(r)
    n, h, heads = (
        spec["num_hidden_layers"],
        spec["hidden_size"],
        spec["num_attention_heads"],
    )
    kv, head_dim = _arch._heads(r, heads), _head_dim(r, h, heads)
    window = _arch._window(r)
    kinds = _arch._layer_types(r, n, window, lambda i: (i + 1) % 2 == 1)
    bias = r.flag("attention_bias")
    experts = r.int("num_local_experts")
    top_k = _top_k(r, "num_experts_per_tok", experts, "num_local_experts")
    width = r.int("intermediate_size")
    shape = dict(
        hidden=h,
        heads=heads,
        kv_heads=kv,
        head_dim=head_dim,
        qkv_bias=bias,
        o_bias=bias,
        sinks=True,
    )
    mixers = {FULL: Attention(**shape)}
    if SLIDING in kinds:
        mixers[SLIDING] = Attention(**shape, span="sliding", window=window)
    moe = MoE(
        h,
        experts,
        top_k,
        width,
        expert_bias=True,
        router_bias=True,
        router_name="router",
    )
    spec.update(
        num_key_value_heads=kv,
        head_dim=head_dim,
        intermediate_size=width,
        qkv_bias=bias,
        o_bias=bias,
        num_experts=experts,
        experts_per_token=top_k,
        moe_intermediate_size=width,
        sliding_window=window if SLIDING in kinds else None,
        layers=_stack(kinds, mixers, [moe] * n, h),
    )
    return spec


# ---- Llama 4 -------------------------------------------------------------------------


def _flags(r: _arch._Reader, key: str, n: int) -> list[bool]:
    value = r.raw(key)
    if not isinstance(value, (list, tuple)) or len(value) != n:
        raise ValueError(
            f"config key {key!r} must be a list of {n} entries (one per layer, "
            f"num_hidden_layers = {n}), got {_check.shown(value)}"
        )
    return [_check.integer(f"config key {key!r} item", v, minimum=0) > 0 for v in value]


def _llama4_text(r: _arch._Reader) -> dict:
    r"""Llama 4: layers whose ``no_rope_layers`` entry is 1 use rotary positions and,
    with ``attention_chunk_size`` :math:`C` set, attend within chunks of :math:`C`
    tokens; the others (every ``no_rope_layer_interval``-th by default) attend to
    everything, without positions. Layers listed in ``moe_layers`` (every
    ``interleave_moe_layer_step``-th by default) hold :math:`E` experts of width
    ``intermediate_size`` plus a shared expert of that width; the rest a dense MLP of
    ``intermediate_size_mlp``. Its q/k norm is a weightless L2 norm."""
    _no_per_layer_config(r)
    spec = _arch._common(r)
    n, h, heads = (
        spec["num_hidden_layers"],
        spec["hidden_size"],
        spec["num_attention_heads"],
    )
    kv, head_dim = _arch._heads(r, heads), _head_dim(r, h, heads)
    bias = r.flag("attention_bias")
    chunk = r.int("attention_chunk_size", null=None)
    # transformers builds the default list even when the file gives one
    interval = r.int("no_rope_layer_interval")
    if r.raw("no_rope_layers"):
        rope = _flags(r, "no_rope_layers", n)
    else:
        rope = [(i + 1) % interval != 0 for i in range(n)]
    given = _given_layer_types(r, n, (FULL, CHUNKED))
    if given is None:
        kinds = [CHUNKED if use and chunk is not None else FULL for use in rope]
    else:
        kinds = given
    if chunk is None:  # a chunked layer without a chunk size attends to everything
        kinds = [FULL] * n
    kinds = tuple(kinds)
    if r.raw("moe_layers") is None:
        step = r.int("interleave_moe_layer_step")
        moe_at = set(range(step - 1, n, step))
    else:
        moe_at = set(r.int_list("moe_layers"))
    is_moe = [i in moe_at for i in range(n)]
    shape = dict(
        hidden=h,
        heads=heads,
        kv_heads=kv,
        head_dim=head_dim,
        qkv_bias=bias,
        o_bias=bias,
    )
    mixers = {FULL: Attention(**shape)}
    if CHUNKED in kinds:
        mixers[CHUNKED] = Attention(**shape, span="chunked", window=chunk)
    ffns: list[Any] = [None] * n
    if any(is_moe):
        experts = r.int("num_local_experts")
        top_k = _top_k(r, "num_experts_per_tok", experts, "num_local_experts")
        width = r.int("intermediate_size")
        moe = MoE(h, experts, top_k, width, shared_width=width, router_name="router")
        ffns = [moe if m else None for m in is_moe]
        spec.update(
            num_experts=experts,
            experts_per_token=top_k,
            moe_intermediate_size=width,
            shared_expert_intermediate_size=width,
            intermediate_size=width,
        )
    if not all(is_moe):
        dense = DenseMLP(h, r.int("intermediate_size_mlp"))
        ffns = [f if f is not None else dense for f in ffns]
        spec.update(intermediate_size=dense.width)
    spec.update(
        num_key_value_heads=kv,
        head_dim=head_dim,
        qkv_bias=bias,
        o_bias=bias,
        layers=_stack(kinds, mixers, ffns, h),
    )
    return spec


# ---- Gemma 4 -------------------------------------------------------------------------

_OVERRIDES = ("head_dim", "num_key_value_heads")


def _per_layer_config(r: _arch._Reader, n: int) -> dict[int, dict[str, int]]:
    """A file's ``per_layer_config``: {layer: {head_dim or num_key_value_heads: n}}."""
    given = r.raw("per_layer_config")
    if given is None:
        return {}
    if not isinstance(given, dict):
        raise TypeError(
            f"config key 'per_layer_config' must be an object of layer indices, "
            f"got {_check.shown(given)}"
        )
    out: dict[int, dict[str, int]] = {}
    for key, overrides in given.items():
        try:
            layer = int(key)
        except (TypeError, ValueError):
            layer = -1
        if not 0 <= layer < n:
            raise ValueError(
                f"config key 'per_layer_config' has key {_check.shown(key)}; its "
                f"keys must be layer indices from 0 to {n - 1}"
            )
        if not isinstance(overrides, dict):
            raise TypeError(
                f"config key 'per_layer_config[{key}]' must be an object, got "
                f"{_check.shown(overrides)}"
            )
        for name, value in overrides.items():
            if name not in _OVERRIDES:
                raise ValueError(
                    f"config key 'per_layer_config[{key}]' overrides "
                    f"{_check.shown(name)}; a gemma4_text model's layers differ only "
                    f"in {', '.join(_OVERRIDES)} (transformers 5.24), and vramlib "
                    f"refuses rather than guess the rest"
                )
            out.setdefault(layer, {})[name] = _check.integer(
                f"config key 'per_layer_config[{key}].{name}'", value, minimum=1
            )
    return out


def _gemma4_overrides(
    r: _arch._Reader, kinds: list[str], k_eq_v: bool
) -> dict[int, dict[str, int]]:
    """Per-layer head size and key/value heads, as Gemma4TextConfig.__post_init__ sets
    them: the file's ``per_layer_config`` if it has the key, else ``global_head_dim``
    (and, with ``attention_k_eq_v``, ``num_global_key_value_heads``) on every
    full-attention layer."""
    if "per_layer_config" in r.cfg:
        return _per_layer_config(r, len(kinds))
    global_shape = {"head_dim": r.int("global_head_dim")}
    if k_eq_v:
        global_kv = r.int("num_global_key_value_heads", null=None)
        if global_kv is not None:
            global_shape["num_key_value_heads"] = global_kv
    return {i: dict(global_shape) for i, kind in enumerate(kinds) if kind == FULL}


def _gemma4_text(r: _arch._Reader) -> dict:
    r"""Gemma 4: ``layer_types`` (default: five sliding layers, then a full one; the
    last layer is always full) with local layers of ``head_dim`` and
    ``num_key_value_heads`` and global layers of their per-layer values; the last
    ``num_kv_shared_layers`` layers reuse the keys and values of the last earlier layer
    of their kind (no k/v projections, no cache). Every layer has q and k norms of its
    head size (a v norm without weights) and four hidden-sized norms; its feed-forward
    side is :class:`~vramlib.layers.gemma4.Gemma4FeedForward`."""
    spec = _arch._common(r)
    n, h, heads = (
        spec["num_hidden_layers"],
        spec["hidden_size"],
        spec["num_attention_heads"],
    )
    kv, head_dim = _arch._heads(r, heads), r.int("head_dim")
    bias = r.flag("attention_bias")
    window = r.int("sliding_window")
    mode = r.raw("use_bidirectional_attention")
    if mode not in (None, "vision", "all"):
        raise ValueError(
            f"config key 'use_bidirectional_attention' must be null, 'vision' or "
            f"'all', got {_check.shown(mode)}"
        )
    if mode == "all":
        window = window // 2 + 1  # as Gemma4TextConfig.__post_init__ does
    kinds = _given_layer_types(r, n, (SLIDING, FULL))
    if kinds is None:
        kinds = [SLIDING if (i + 1) % 6 else FULL for i in range(n)]
    kinds[-1] = FULL  # __post_init__ forces the last layer to full attention
    k_eq_v = r.flag("attention_k_eq_v")
    overrides = _gemma4_overrides(r, kinds, k_eq_v)
    shapes = []
    for i in range(n):
        layer = overrides.get(i, {})
        shape = (layer.get("head_dim", head_dim), layer.get("num_key_value_heads", kv))
        if heads % shape[1]:
            raise ValueError(
                f"config key 'num_attention_heads' ({heads}) must be a multiple of "
                f"the key/value heads of layer {i} ({shape[1]})"
            )
        shapes.append(shape)
    for kind in set(kinds):  # transformers' rotary tables need one shape per layer type
        if len({s for s, k in zip(shapes, kinds) if k == kind}) > 1:
            raise ValueError(
                f"config key 'per_layer_config' gives the {kind} layers different "
                f"shapes, which transformers 5.24 refuses (one per layer type)"
            )
    shared = r.int("num_kv_shared_layers", minimum=0)
    first_shared = n - shared
    if first_shared < 1 or set(kinds[:first_shared]) != set(kinds):
        raise ValueError(
            f"config key 'num_kv_shared_layers' ({shared}) leaves no earlier layer "
            f"to compute the keys and values of each kind the shared layers reuse "
            f"(layer_types: {', '.join(kinds)})"
        )
    width = r.int("intermediate_size")
    double = r.flag("use_double_wide_mlp")
    experts = top_k = expert_width = 0
    if r.flag("enable_moe_block"):
        experts = r.int("num_experts")
        top_k = _top_k(r, "top_k_experts", experts, "num_experts")
        expert_width = r.int("moe_intermediate_size")
    ple = r.int("hidden_size_per_layer_input", minimum=0, null=0)
    made: dict[tuple, Layer] = {}
    layers = []
    for i, kind in enumerate(kinds):
        reuse = i >= first_shared
        key = (kind, reuse)
        if key not in made:
            d, n_kv = shapes[i]
            span = dict(span="sliding", window=window) if kind == SLIDING else {}
            mixer = Attention(
                h,
                heads,
                n_kv,
                d,
                **span,
                qkv_bias=bias,
                o_bias=bias,
                qk_norm="head",
                k_eq_v=k_eq_v and kind == FULL,
                shares_kv=reuse,
                kv_proj=not reuse,
            )
            ffn = Gemma4FeedForward(
                h,
                width * (2 if double and reuse else 1),
                experts,
                top_k,
                expert_width,
                ple,
            )
            # layer_scalar: a persistent buffer of one value per layer
            made[key] = Layer(mixer, ffn, h, norms=4, buffers=(("model", 1),))
        layers.append(made[key])
    extra: tuple[tuple[str, int], ...] = ()
    if ple:
        extra = (
            ("embedding", r.int("vocab_size_per_layer_input") * n * ple),
            ("mlp", h * n * ple),
            ("norm", ple),
        )
    spec.update(
        num_key_value_heads=kv,
        head_dim=head_dim,
        intermediate_size=width,
        qkv_bias=bias,
        o_bias=bias,
        qk_norm="head",
        norms_per_layer=4,
        sliding_window=window if SLIDING in kinds else None,
        layers=tuple(layers),
        extra_params=extra,
    )
    if experts:
        spec.update(
            num_experts=experts,
            experts_per_token=top_k,
            moe_intermediate_size=expert_width,
        )
    return spec


# ---- Cohere 2 and EXAONE 4 -----------------------------------------------------------


def _with_layers(spec: dict) -> dict:
    """Uniform sliding/full layers: ModelSpec builds the stack from the flat fields."""
    return spec


def _cohere2(r: _arch._Reader) -> dict:
    r"""Command R7B / Command A: :math:`d_h` is hidden_size / num_attention_heads (the
    class sets it so, but a ``head_dim`` in the file is applied after and wins); layer
    :math:`i` slides unless :math:`(i + 1)` is a multiple of ``sliding_window_pattern``
    (4), or as ``layer_types`` says; one LayerNorm (weight only) per layer, biases on
    q, k, v, o with ``attention_bias``."""
    _no_per_layer_config(r)
    head_dim = _arch._head_dim(r, r.int("hidden_size"), r.int("num_attention_heads"))
    bias = r.flag("attention_bias")

    def sliding(i: int) -> bool:
        return (i + 1) % r.int("sliding_window_pattern") != 0

    return _with_layers(
        _arch._dense(
            r,
            qkv_bias=bias,
            o_bias=bias,
            norms=1,
            window=_arch._window(r),
            sliding=sliding,
            head_dim=head_dim,
        )
    )


def _exaone4(r: _arch._Reader) -> dict:
    r"""EXAONE 4.0: layer :math:`i` slides unless :math:`(i + 1)` is a multiple of
    ``sliding_window_pattern`` (4), or as ``layer_types`` says; q/k norms of
    :math:`d_h`; two norms per layer (after attention, after the MLP); no biases."""
    _no_per_layer_config(r)
    window = _arch._window(r)
    if r.raw("layer_types") is None:
        if window is None:
            raise ValueError(
                "config key 'sliding_window' is null and 'layer_types' is absent: "
                "transformers 5.24 then divides by a pattern of 0 and cannot build "
                "the model; give 'layer_types'"
            )
        pattern = r.raw("sliding_window_pattern")
        if isinstance(pattern, str) or pattern is None:
            raise ValueError(
                f"config key 'sliding_window_pattern' is "
                f"{_check.shown(pattern)}: transformers 5.24 builds the layers "
                f"only from an integer pattern (or from 'layer_types')"
            )
        r.int("sliding_window_pattern")
    return _with_layers(
        _arch._dense(
            r,
            qk_norm="head",
            window=window,
            head_dim=_arch._head_dim(
                r, r.int("hidden_size"), r.int("num_attention_heads")
            ),
            sliding=lambda i: (i + 1) % r.int("sliding_window_pattern") != 0,
        )
    )


READERS = {
    "gpt_oss": _gpt_oss,
    "llama4_text": _llama4_text,
    "gemma4_text": _gemma4_text,
    "cohere2": _cohere2,
    "exaone4": _exaone4,
}
