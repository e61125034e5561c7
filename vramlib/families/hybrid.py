r"""Readers for state-space and hybrid models: Mamba-2 layers alone or mixed with
attention.

* ``mamba2``: every layer a Mamba-2 mixer behind one norm, no feed-forward block.
* ``nemotron_h`` (NVIDIA Nemotron-H, Nemotron Nano / Super 3): each character of
  ``hybrid_override_pattern`` (or entry of ``layers_block_type``) is a layer of its own
  with one norm: ``M`` a Mamba-2 mixer, ``*`` attention, ``-`` a plain MLP, ``E``
  experts. Mixer layers have no feed-forward block; MLP and expert layers have no mixer.
* ``granitemoehybrid`` (IBM Granite 4.0-H): ``layer_types`` picks Mamba-2 or attention
  per layer; every layer has a shared gated MLP and, with ``num_local_experts > 0``,
  experts.
* ``falcon_h1`` (TII Falcon-H1): every layer runs attention and Mamba-2 side by side on
  the same input, then a gated MLP. Its µP multipliers scale activations, not shapes
  (they are buffers or scalars, no parameters).
* ``jamba`` (AI21 Jamba): Mamba-1 layers with attention every ``attn_layer_period``
  layers and experts every ``expert_layer_period`` layers.

What transformers 5.24 caches (one ``DynamicCache``, its layers created lazily): a Mamba
layer a conv state of :math:`K` columns in the model's dtype and an SSM state in fp32
(see :mod:`vramlib.layers.ssm`); an attention layer keys and values of every token; a
Falcon-H1 layer all four; an MLP or expert layer of Nemotron-H nothing. Nothing is
preallocated for the length of the context. Nemotron-H's configs ask for the SSM state
in float32 (``mamba_ssm_cache_dtype``, not read: it changes no shape); pass
``state_dtype="fp32"`` for that part.

Quirks of transformers 5.24 followed here: ``NemotronHForCausalLM`` ties no weights
whatever ``tie_word_embeddings`` says; its attention has no biases (``attention_bias``
is not read) and attends to the whole context (``sliding_window`` is not read); its
Mamba projections take their bias from ``use_bias`` (``mamba_proj_bias`` is not read);
its multi-token-prediction layers are not built (``mtp_layers``). Granite 4.0-H's
experts are ``intermediate_size`` wide and its shared MLP ``shared_intermediate_size``.
Granite 4.0-H, Falcon-H1 and Jamba attention reads a ``head_dim`` key where the file has
one (the classes fetch it with ``getattr``), else hidden size / heads.

Defaults, renamed keys and the layouts below were read from transformers 5.24's
``configuration_<type>.py`` and ``modeling_<type>.py``;
``tests/validate/test_hybrid.py`` checks them against the models transformers builds and
the caches it fills.
"""

from __future__ import annotations

import math

from .. import _arch, _check
from ..layers.attention import Attention
from ..layers.ffn import DenseMLP, MoE, NoFFN
from ..layers.layer import Layer
from ..layers.ssm import Mamba1, Mamba2, NoMixer, ParallelHybrid

DEFAULTS: dict[str, dict] = {
    "mamba2": dict(
        vocab_size=32768,
        num_heads=128,
        head_dim=64,
        state_size=128,
        expand=2,
        conv_kernel=4,
        n_groups=8,
        use_bias=False,
        use_conv_bias=True,
        tie_word_embeddings=False,
    ),
    "nemotron_h": dict(
        vocab_size=131072,
        layers_block_type=None,
        tie_word_embeddings=False,
        num_key_value_heads=8,
        head_dim=128,
        max_position_embeddings=4096,
        intermediate_size=21504,
        mlp_bias=False,
        ssm_state_size=128,
        mamba_num_heads=128,
        mamba_head_dim=64,
        n_groups=8,
        conv_kernel=4,
        use_conv_bias=True,
        use_bias=False,
        n_routed_experts=8,
        moe_intermediate_size=7688,
        moe_shared_expert_intermediate_size=7688,
        moe_latent_size=None,
        num_experts_per_tok=2,
        num_nextn_predict_layers=0,
    ),
    "granitemoehybrid": dict(
        vocab_size=32000,
        intermediate_size=11008,
        num_key_value_heads=None,
        max_position_embeddings=2048,
        tie_word_embeddings=False,
        attention_bias=False,
        num_local_experts=8,
        num_experts_per_tok=2,
        shared_intermediate_size=1024,
        layer_types=None,
        mamba_n_heads=128,
        mamba_n_groups=1,
        mamba_d_state=256,
        mamba_d_head="auto",
        mamba_d_conv=4,
        mamba_expand=2,
        mamba_conv_bias=True,
        mamba_proj_bias=False,
    ),
    "falcon_h1": dict(
        vocab_size=128000,
        tie_word_embeddings=False,
        intermediate_size=14336,
        num_key_value_heads=8,
        max_position_embeddings=8192,
        mamba_d_ssm=1024,
        mamba_n_heads=128,
        mamba_d_head="auto",
        mamba_n_groups=1,
        mamba_d_state=256,
        mamba_d_conv=4,
        mamba_expand=2,
        mamba_conv_bias=True,
        mamba_proj_bias=False,
        mamba_rms_norm=False,
        projectors_bias=False,
        attention_bias=False,
        mlp_bias=False,
    ),
    "jamba": dict(
        vocab_size=65536,
        tie_word_embeddings=False,
        intermediate_size=14336,
        num_key_value_heads=8,
        max_position_embeddings=262144,
        num_experts_per_tok=2,
        num_experts=16,
        expert_layer_period=2,
        expert_layer_offset=1,
        attn_layer_period=8,
        attn_layer_offset=4,
        mamba_d_state=16,
        mamba_d_conv=4,
        mamba_expand=2,
        mamba_dt_rank="auto",
        mamba_conv_bias=True,
        mamba_proj_bias=False,
    ),
}

# attribute_map of the configuration classes, and NemotronHConfig's legacy keyword names
RENAMED: dict[str, dict[str, str]] = {
    "nemotron_h": {
        "layer_types": "layers_block_type",
        "num_local_experts": "n_routed_experts",
        "mamba_n_groups": "n_groups",
        "mamba_d_conv": "conv_kernel",
        "mamba_conv_bias": "use_conv_bias",
    },
    "granitemoehybrid": {"layers_block_type": "layer_types"},
    "falcon_h1": {"layers_block_type": "layer_types"},
    "jamba": {"num_local_experts": "num_experts"},
}

#: Nemotron-H's pattern characters and the layer kinds transformers reads them as
PATTERN = {"M": "linear_attention", "*": "full_attention", "-": "mlp", "E": "moe"}
#: transformers 5.24 renames these legacy layer kinds (``remap_legacy_layer_types``)
LEGACY = {"mamba": "linear_attention", "attention": "full_attention"}


def _layer_count(r: _arch._Reader, n: int, what: str) -> int:
    """``num_hidden_layers`` where the layer list decides it: absent, the list's length;
    given, it must agree (transformers would silently follow the list)."""
    if r.cfg.get("num_hidden_layers") is None:
        return n
    given = r.int("num_hidden_layers")
    if given != n:
        raise ValueError(
            f"config key 'num_hidden_layers' ({given}) disagrees with {what}, "
            f"which describes {n} layers; vramlib refuses rather than guess"
        )
    return n


def _kinds(r: _arch._Reader, key: str, accepted: tuple[str, ...]) -> list[str] | None:
    """A per-layer list of kinds under ``key`` (legacy names renamed), or None."""
    given = r.raw(key)
    if given is None or given is _arch._MISSING:
        return None
    if not isinstance(given, (list, tuple)) or not all(
        isinstance(k, str) for k in given
    ):
        raise TypeError(
            f"config key {key!r} must be a list of layer kinds, got "
            f"{_check.shown(given)}"
        )
    try:
        _arch._known_layer_types(r, given, accepted + tuple(LEGACY))
    except ValueError as err:  # name the key as the file spells it
        raise ValueError(str(err).replace("'layer_types'", repr(key), 1)) from None
    return [LEGACY.get(k, k) for k in given]


def _ssm_head_dim(r: _arch._Reader, inner: int, heads: int, key: str) -> int:
    """The Mamba-2 head size: the file's, or ``"auto"``: the inner width over the heads.
    It must tile the inner width exactly, as transformers' ``validate_architecture``
    demands."""
    value = r.raw(key)
    if value == "auto":
        if inner % heads:
            raise ValueError(
                f"the Mamba inner width ({inner}) is not divisible by "
                f"'mamba_n_heads' ({heads})"
            )
        return inner // heads
    head_dim = r.int(key)
    if head_dim * heads != inner:
        raise ValueError(
            f"config key {key!r} ({head_dim}) times 'mamba_n_heads' ({heads}) must "
            f"equal the Mamba inner width ({inner})"
        )
    return head_dim


def _attention(r: _arch._Reader, spec: dict, *, bias: bool = False) -> Attention:
    """q, k, v, o attention whose head size is the file's ``head_dim`` if it has one,
    else hidden_size / num_attention_heads (the classes read it with ``getattr``)."""
    hidden, heads = spec["hidden_size"], spec["num_attention_heads"]
    kv = _arch._heads(r, heads)
    head_dim = (
        r.int("head_dim")
        if r.has("head_dim")
        else _arch._split_head_dim(r, hidden, heads)
    )
    spec.update(num_key_value_heads=kv, head_dim=head_dim, qkv_bias=bias, o_bias=bias)
    return Attention(hidden, heads, kv, head_dim, qkv_bias=bias, o_bias=bias)


def _experts(r: _arch._Reader, key: str, *, minimum: int = 1) -> tuple[int, int]:
    n_experts = r.int(key, minimum=minimum)
    top_k = r.int("num_experts_per_tok")
    if n_experts and top_k > n_experts:
        raise ValueError(
            f"config key 'num_experts_per_tok' ({top_k}) exceeds the number of "
            f"experts {key!r} ({n_experts})"
        )
    return n_experts, top_k


def _mamba2(r):
    hidden, n_layers = r.int("hidden_size"), r.int("num_hidden_layers")
    heads, head_dim = r.int("num_heads"), r.int("head_dim")
    inner = r.int("expand") * hidden
    if heads * head_dim != inner:
        raise ValueError(
            f"config keys 'num_heads' ({heads}) times 'head_dim' ({head_dim}) must "
            f"equal 'expand' times 'hidden_size' ({inner})"
        )
    bias = r.flag("use_bias")
    mixer = Mamba2(
        hidden,
        heads,
        head_dim,
        r.int("state_size"),
        r.int("n_groups"),
        r.int("conv_kernel"),
        in_bias=bias,
        out_bias=bias,
        conv_bias=r.flag("use_conv_bias"),
    )
    layer = Layer(mixer, NoFFN(), hidden, norms=1)
    # no attention and no MLP: the flat head fields describe the SSM heads and d_in
    return dict(
        vocab_size=r.int("vocab_size"),
        hidden_size=hidden,
        num_hidden_layers=n_layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        head_dim=head_dim,
        intermediate_size=inner,
        tie_word_embeddings=r.flag("tie_word_embeddings"),
        max_position_embeddings=None,
        norms_per_layer=1,
        layers=(layer,) * n_layers,
    )


def _nemotron_kinds(r: _arch._Reader) -> list[str]:
    pattern = r.cfg.get("hybrid_override_pattern")
    if r.has("layers_block_type") or pattern is None:
        listed = _kinds(r, "layers_block_type", tuple(PATTERN.values()))
        if listed is not None:
            if pattern is not None and [PATTERN.get(c) for c in str(pattern)] != listed:
                raise ValueError(
                    f"config keys 'layers_block_type' and 'hybrid_override_pattern' "
                    f"({_check.shown(pattern)}) describe different layers; "
                    f"transformers follows the list, and vramlib refuses rather than "
                    f"guess which is meant"
                )
            return _layer_list(r, listed, "'layers_block_type'")
        # neither key: the class's default stack
        return _layer_list(
            r,
            ["linear_attention", "moe", "full_attention", "mlp"],
            "the default layers_block_type of NemotronHConfig",
        )
    if not isinstance(pattern, str) or not pattern:
        raise TypeError(
            f"config key 'hybrid_override_pattern' must be a non-empty string of "
            f"{', '.join(PATTERN)}, got {_check.shown(pattern)}"
        )
    for i, ch in enumerate(pattern):
        if ch not in PATTERN:
            raise ValueError(
                f"config key 'hybrid_override_pattern' has {ch!r} at layer {i}; "
                f"a nemotron_h layer is one of "
                + ", ".join(f"{c!r} ({k})" for c, k in PATTERN.items())
                + ". vramlib refuses rather than size it as another kind"
            )
    return _layer_list(r, [PATTERN[ch] for ch in pattern], "'hybrid_override_pattern'")


def _layer_list(r: _arch._Reader, kinds: list[str], what: str) -> list[str]:
    _layer_count(r, len(kinds), what)
    if len(kinds) > _arch.MAX_LAYERS:
        raise ValueError(
            f"{what} describes {len(kinds):,} layers, more than {_arch.MAX_LAYERS:,}"
        )
    return kinds


def _nemotron_h(r):
    kinds = _nemotron_kinds(r)
    hidden, heads = r.int("hidden_size"), r.int("num_attention_heads")
    spec = dict(
        vocab_size=r.int("vocab_size"),
        hidden_size=hidden,
        num_hidden_layers=len(kinds),
        num_attention_heads=heads,
        # NemotronHForCausalLM ties nothing (_tied_weights_keys is empty): the LM head
        # is its own matrix whatever tie_word_embeddings says
        tie_word_embeddings=False,
        max_position_embeddings=r.int("max_position_embeddings", null=None),
        intermediate_size=r.int("intermediate_size"),
        mlp_gated=False,
        mlp_bias=r.flag("mlp_bias"),
        norms_per_layer=1,
        mtp_layers=r.int("num_nextn_predict_layers", minimum=0, null=0),
    )
    kv = _arch._heads(r, heads)
    head_dim = r.int("head_dim")
    legacy = r.cfg.get("attention_head_dim")
    if legacy is not None and legacy != head_dim:
        raise ValueError(
            f"config keys 'attention_head_dim' ({_check.shown(legacy)}) and "
            f"'head_dim' ({head_dim}) disagree; transformers 5.24 reads head_dim, "
            f"older remote code attention_head_dim, and vramlib refuses to guess"
        )
    spec.update(num_key_value_heads=kv, head_dim=head_dim)
    bias = r.flag("use_bias")
    made: dict[str, Layer] = {}
    if "linear_attention" in kinds:
        mixer = Mamba2(
            hidden,
            r.int("mamba_num_heads"),
            r.int("mamba_head_dim"),
            r.int("ssm_state_size"),
            r.int("n_groups"),
            r.int("conv_kernel"),
            in_bias=bias,
            out_bias=bias,
            conv_bias=r.flag("use_conv_bias"),
        )
        made["linear_attention"] = Layer(mixer, NoFFN(), hidden, norms=1)
    if "full_attention" in kinds:
        made["full_attention"] = Layer(
            Attention(hidden, heads, kv, head_dim), NoFFN(), hidden, norms=1
        )
    if "mlp" in kinds:
        mlp = DenseMLP(
            hidden, spec["intermediate_size"], gated=False, bias=spec["mlp_bias"]
        )
        made["mlp"] = Layer(NoMixer("mlp"), mlp, hidden, norms=1)
    if "moe" in kinds:
        n_experts, top_k = _experts(r, "n_routed_experts")
        width = r.int("moe_intermediate_size")
        shared = r.int("moe_shared_expert_intermediate_size")
        moe = MoE(
            hidden,
            n_experts,
            top_k,
            width,
            shared_width=shared,
            gated=False,
            latent=r.int("moe_latent_size", null=0),
            mlp_bias=spec["mlp_bias"],
            score_bias_buffer="F32",
        )
        made["moe"] = Layer(NoMixer("moe"), moe, hidden, norms=1)
        spec.update(
            num_experts=n_experts,
            experts_per_token=top_k,
            moe_intermediate_size=width,
            shared_expert_intermediate_size=shared,
        )
    spec["layers"] = tuple(made[k] for k in kinds)
    return spec


def _granitemoehybrid(r):
    spec = _arch._common(r)
    hidden, n_layers = spec["hidden_size"], spec["num_hidden_layers"]
    kinds = _kinds(r, "layer_types", ("linear_attention", "full_attention"))
    if kinds is None:
        kinds = ["linear_attention"] * n_layers
    elif len(kinds) != n_layers:
        raise ValueError(
            f"config key 'layer_types' must be a list of {n_layers} entries (one "
            f"per layer, num_hidden_layers = {n_layers}), got {len(kinds)}"
        )
    heads = r.int("mamba_n_heads")
    inner = r.int("mamba_expand") * hidden
    bias = r.flag("mamba_proj_bias")
    mamba = Mamba2(
        hidden,
        heads,
        _ssm_head_dim(r, inner, heads, "mamba_d_head"),
        r.int("mamba_d_state"),
        r.int("mamba_n_groups"),
        r.int("mamba_d_conv"),
        in_bias=bias,
        out_bias=bias,
        conv_bias=r.flag("mamba_conv_bias"),
    )
    attention = _attention(r, spec, bias=r.flag("attention_bias"))
    shared = r.int("shared_intermediate_size")
    n_experts = r.int("num_local_experts", minimum=0)
    names = ("input_linear", "output_linear")
    if n_experts:
        n_experts, top_k = _experts(r, "num_local_experts")
        width = r.int("intermediate_size")
        ffn = MoE(
            hidden,
            n_experts,
            top_k,
            width,
            shared_width=shared,
            router_name="router",
            shared_names=names,
        )
        spec.update(
            num_experts=n_experts,
            experts_per_token=top_k,
            moe_intermediate_size=width,
            shared_expert_intermediate_size=shared,
        )
    else:
        ffn = DenseMLP(hidden, shared, names=names)
    spec["intermediate_size"] = shared
    made = {
        "linear_attention": Layer(mamba, ffn, hidden),
        "full_attention": Layer(attention, ffn, hidden),
    }
    spec["layers"] = tuple(made[k] for k in kinds)
    return spec


def _falcon_h1(r):
    spec = _arch._common(r)
    hidden = spec["hidden_size"]
    attention = _attention(r, spec, bias=r.flag("attention_bias"))
    heads = r.int("mamba_n_heads")
    inner = r.int("mamba_d_ssm", null=None)
    if inner is None:
        inner = r.int("mamba_expand") * hidden
    mamba = Mamba2(
        hidden,
        heads,
        _ssm_head_dim(r, inner, heads, "mamba_d_head"),
        r.int("mamba_d_state"),
        r.int("mamba_n_groups"),
        r.int("mamba_d_conv"),
        in_bias=r.flag("mamba_proj_bias"),
        out_bias=r.flag("projectors_bias"),
        conv_bias=r.flag("mamba_conv_bias"),
        gated_norm=r.flag("mamba_rms_norm"),
    )
    bias = r.flag("mlp_bias")
    spec.update(intermediate_size=r.int("intermediate_size"), mlp_bias=bias)
    layer = Layer(
        ParallelHybrid(attention, mamba),
        DenseMLP(hidden, spec["intermediate_size"], bias=bias),
        hidden,
    )
    spec["layers"] = (layer,) * spec["num_hidden_layers"]
    return spec


def _jamba(r):
    spec = _arch._common(r)
    hidden, n_layers = spec["hidden_size"], spec["num_hidden_layers"]
    period = {}
    for what in ("attn", "expert"):
        p = r.int(f"{what}_layer_period")
        offset = r.int(f"{what}_layer_offset", minimum=0)
        if offset >= p:
            raise ValueError(
                f"config key '{what}_layer_offset' ({offset}) must be smaller than "
                f"'{what}_layer_period' ({p})"
            )
        period[what] = (p, offset)
    rank = r.raw("mamba_dt_rank")
    rank = math.ceil(hidden / 16) if rank == "auto" else r.int("mamba_dt_rank")
    mamba = Mamba1(
        hidden,
        r.int("mamba_expand") * hidden,
        r.int("mamba_d_state"),
        r.int("mamba_d_conv"),
        rank,
        proj_bias=r.flag("mamba_proj_bias"),
        conv_bias=r.flag("mamba_conv_bias"),
    )
    attention = _attention(r, spec)
    width = r.int("intermediate_size")
    spec["intermediate_size"] = width
    # with one expert every layer is a plain MLP (layers_num_experts is all 1)
    n_experts, top_k = (
        _experts(r, "num_experts") if r.int("num_experts") > 1 else (1, 1)
    )
    dense = DenseMLP(hidden, width)
    moe = (
        MoE(hidden, n_experts, top_k, width, router_name="router")
        if n_experts > 1
        else dense
    )
    made: dict[tuple[bool, bool], Layer] = {}
    layers = []
    for i in range(n_layers):
        attn = i % period["attn"][0] == period["attn"][1]
        experts = i % period["expert"][0] == period["expert"][1]
        if (attn, experts) not in made:
            made[attn, experts] = Layer(
                attention if attn else mamba, moe if experts else dense, hidden
            )
        layers.append(made[attn, experts])
    if any(layer.ffn.kind == "moe" for layer in layers):
        spec.update(
            num_experts=n_experts, experts_per_token=top_k, moe_intermediate_size=width
        )
    spec["layers"] = tuple(layers)
    return spec


READERS = {
    "mamba2": _mamba2,
    "nemotron_h": _nemotron_h,
    "granitemoehybrid": _granitemoehybrid,
    "falcon_h1": _falcon_h1,
    "jamba": _jamba,
}
