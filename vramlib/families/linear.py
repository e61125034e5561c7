"""Readers for the linear-attention and short-convolution hybrids.

* ``qwen3_next`` (Qwen3-Next): gated DeltaNet layers with a full-attention layer every
  ``full_attention_interval`` (4) layers; that attention gates its output (q is
  doubled); a mixture of experts with a gated shared expert, or a dense MLP
  (``mlp_only_layers``).
* ``qwen3_5_text`` and ``qwen3_5_moe_text`` (Qwen3.5's language models): the same mixers
  with Qwen3.5's split projections; a dense MLP in every layer, or experts in every
  layer.
* ``kimi_linear`` (Kimi Linear): Kimi Delta Attention layers and multi-head latent
  attention layers (``linear_attn_config`` as the checkpoints write it, or transformers'
  own keys); a dense MLP in the first ``first_k_dense_replace`` layers, experts with
  shared experts after.
* ``lfm2`` (LFM2): short-convolution layers and attention layers (``full_attn_idxs``), a
  SwiGLU whose width transformers derives from ``block_ff_dim``/``intermediate_size``.

Each mirrors transformers 5.24's ``configuration_<type>.py`` (class defaults,
``__post_init__`` derivations, ``attribute_map``) and ``modeling_<type>.py`` (which
modules each layer builds). Settings that the published checkpoints' own code reads but
transformers does not build (an attention without its output gate, Kimi K3's additions)
are refused, not sized as something else.
"""

from __future__ import annotations

from .. import _arch, _check
from ..layers.attention import Attention, LatentAttention
from ..layers.conv import ShortConv
from ..layers.ffn import DenseMLP, MoE
from ..layers.layer import Layer
from ..layers.linear import (
    QWEN3_5_NAMES,
    QWEN3_NEXT_NAMES,
    GatedDeltaNet,
    KimiDeltaAttention,
)

_LINEAR = dict(
    linear_conv_kernel_dim=4,
    linear_key_head_dim=128,
    linear_value_head_dim=128,
    linear_num_key_heads=16,
    linear_num_value_heads=32,
)

DEFAULTS: dict = {
    "qwen3_next": dict(
        vocab_size=151936,
        intermediate_size=5632,
        num_key_value_heads=2,
        head_dim=256,
        tie_word_embeddings=False,
        attention_bias=False,
        **_LINEAR,
        decoder_sparse_step=1,
        moe_intermediate_size=512,
        shared_expert_intermediate_size=512,
        num_experts_per_tok=10,
        num_experts=512,
        mlp_only_layers=None,
        layer_types=None,
        full_attention_interval=4,
        max_position_embeddings=32768,
    ),
    "qwen3_5_text": dict(
        vocab_size=248320,
        intermediate_size=12288,
        num_key_value_heads=4,
        head_dim=256,
        tie_word_embeddings=False,
        attention_bias=False,
        **_LINEAR,
        layer_types=None,
        full_attention_interval=4,
        max_position_embeddings=32768,
    ),
    "qwen3_5_moe_text": dict(
        vocab_size=248320,
        num_key_value_heads=2,
        head_dim=256,
        tie_word_embeddings=False,
        attention_bias=False,
        **_LINEAR,
        moe_intermediate_size=512,
        shared_expert_intermediate_size=512,
        num_experts_per_tok=8,
        num_experts=256,
        layer_types=None,
        full_attention_interval=4,
        max_position_embeddings=32768,
    ),
    "kimi_linear": dict(
        vocab_size=163840,
        intermediate_size=9216,
        moe_intermediate_size=1024,
        num_key_value_heads=None,
        n_shared_experts=1,
        kv_lora_rank=512,
        q_lora_rank=None,
        qk_rope_head_dim=64,
        v_head_dim=128,
        qk_nope_head_dim=128,
        num_experts_per_tok=8,
        max_position_embeddings=1048576,
        tie_word_embeddings=False,
        attention_bias=False,
        num_local_experts=256,
        mlp_layer_types=None,
        layer_types=None,
        linear_head_dim=128,
        linear_num_heads=32,
        linear_conv_kernel_dim=4,
        first_k_dense_replace=1,
    ),
    "lfm2": dict(
        vocab_size=65536,
        intermediate_size=12288,
        num_key_value_heads=8,
        max_position_embeddings=128000,
        tie_word_embeddings=True,
        conv_bias=False,
        conv_L_cache=3,
        block_multiple_of=256,
        block_ffn_dim_multiplier=1.0,
        block_auto_adjust_ff_dim=True,
        full_attn_idxs=None,
        layer_types=None,
    ),
}

# KimiLinearConfig.attribute_map: names Kimi Linear's checkpoints write -> names here.
RENAMED: dict = {
    "kimi_linear": {
        "num_experts": "num_local_experts",
        "num_experts_per_token": "num_experts_per_tok",
        "num_shared_experts": "n_shared_experts",
        "model_max_length": "max_position_embeddings",
    },
}

# transformers renames these legacy layer kinds when it loads any config
_LEGACY = {"attention": "full_attention", "mamba": "linear_attention"}
_HYBRID = ("linear_attention", "full_attention")


def _given_layer_types(r: _arch._Reader, n: int, accepted: tuple[str, ...]):
    """The file's ``layer_types`` (legacy names renamed as transformers does), checked
    against the kinds this model type builds; ``None`` when the file leaves the key out.
    """
    given = r.raw("layer_types")
    if given is None or given is _arch._MISSING:
        return None
    if not isinstance(given, (list, tuple)) or len(given) != n:
        raise ValueError(
            f"config key 'layer_types' must be a list of {n} entries (one per "
            f"layer, num_hidden_layers = {n}), got {_check.shown(given)}"
        )
    kinds = [_LEGACY.get(k, k) if isinstance(k, str) else k for k in given]
    _arch._known_layer_types(r, kinds, accepted)
    return tuple(kinds)


def _refuse(r: _arch._Reader, key: str, value, accepted: str, why: str) -> ValueError:
    return ValueError(
        f"config key {key!r} is {_check.shown(value)}; a {r.model_type} model is "
        f"read with {accepted} only: {why}. vramlib refuses rather than size "
        f"another architecture"
    )


# ---- Qwen3-Next and Qwen3.5 ----------------------------------------------------------


def _qwen_hybrid(
    r: _arch._Reader, names: tuple[str, ...]
) -> tuple[dict, tuple[str, ...]]:
    """What Qwen3-Next and Qwen3.5 share: (spec with its mixers, kind of each layer)."""
    gate = r.cfg.get("attn_output_gate")
    if gate is not None and gate is not True:
        raise _refuse(
            r,
            "attn_output_gate",
            gate,
            "an output-gated attention (true)",
            "transformers always builds the gate into q_proj",
        )
    if r.cfg.get("use_sliding_window"):
        raise _refuse(
            r,
            "use_sliding_window",
            r.cfg["use_sliding_window"],
            "false",
            "transformers builds full attention for these layers",
        )
    spec = _arch._common(r)
    n, hidden, n_heads = (
        spec["num_hidden_layers"],
        spec["hidden_size"],
        spec["num_attention_heads"],
    )
    kinds = _given_layer_types(r, n, _HYBRID)
    if kinds is None:
        every = r.int("full_attention_interval")
        kinds = tuple(
            "full_attention" if (i + 1) % every == 0 else "linear_attention"
            for i in range(n)
        )
    bias = r.flag("attention_bias")
    spec.update(
        num_key_value_heads=_arch._heads(r, n_heads),
        head_dim=r.int("head_dim"),
        qkv_bias=bias,
        o_bias=bias,
        qk_norm="head",
    )
    attention = Attention(
        hidden,
        n_heads,
        spec["num_key_value_heads"],
        spec["head_dim"],
        qkv_bias=bias,
        o_bias=bias,
        qk_norm="head",
        output_gate=True,
    )
    key_heads = r.int("linear_num_key_heads")
    value_heads = r.int("linear_num_value_heads")
    if value_heads % key_heads:
        raise ValueError(
            f"config key 'linear_num_value_heads' ({value_heads}) must be a "
            f"multiple of 'linear_num_key_heads' ({key_heads})"
        )
    delta = GatedDeltaNet(
        hidden,
        key_heads,
        value_heads,
        r.int("linear_key_head_dim"),
        r.int("linear_value_head_dim"),
        r.int("linear_conv_kernel_dim"),
        names=names,
    )
    spec["_mixers"] = {"full_attention": attention, "linear_attention": delta}
    return spec, kinds


def _stack(spec: dict, kinds: tuple[str, ...], ffns: tuple) -> dict:
    """The layers from each layer's mixer kind and feed-forward block, shared."""
    mixers = spec.pop("_mixers")
    made: dict[tuple[str, int], Layer] = {}
    layers = []
    for kind, ffn in zip(kinds, ffns):
        key = (kind, id(ffn))
        if key not in made:
            made[key] = Layer(mixers[kind], ffn, spec["hidden_size"])
        layers.append(made[key])
    spec["layers"] = tuple(layers)
    return spec


def _qwen_moe(r: _arch._Reader, spec: dict, n_experts: int) -> MoE:
    top_k = r.int("num_experts_per_tok")
    if top_k > n_experts:
        raise ValueError(
            f"config key 'num_experts_per_tok' ({top_k}) exceeds the number of "
            f"experts 'num_experts' ({n_experts})"
        )
    moe = MoE(
        spec["hidden_size"],
        n_experts,
        top_k,
        r.int("moe_intermediate_size"),
        r.int("shared_expert_intermediate_size", minimum=0),
        shared_gate=True,
    )
    spec.update(
        num_experts=n_experts,
        experts_per_token=top_k,
        moe_intermediate_size=moe.width,
        shared_expert_intermediate_size=moe.shared_width,
        shared_expert_gate=True,
    )
    return moe


def _qwen3_next(r):
    spec, kinds = _qwen_hybrid(r, QWEN3_NEXT_NAMES)
    n, hidden = spec["num_hidden_layers"], spec["hidden_size"]
    dense = DenseMLP(hidden, r.int("intermediate_size"))
    spec["intermediate_size"] = dense.width
    n_experts = r.int("num_experts", minimum=0)
    mlps = _arch._moe_layers(r, n, n_experts)
    moe = _qwen_moe(r, spec, n_experts) if "moe" in mlps else None
    return _stack(spec, kinds, tuple(moe if m == "moe" else dense for m in mlps))


def _qwen3_5_text(r):
    spec, kinds = _qwen_hybrid(r, QWEN3_5_NAMES)
    dense = DenseMLP(spec["hidden_size"], r.int("intermediate_size"))
    spec.update(
        intermediate_size=dense.width,
        mtp_layers=r.int("mtp_num_hidden_layers", minimum=0, null=0),
    )
    return _stack(spec, kinds, (dense,) * spec["num_hidden_layers"])


def _qwen3_5_moe_text(r):
    only = r.cfg.get("mlp_only_layers")
    if only:
        raise _refuse(
            r,
            "mlp_only_layers",
            only,
            "an empty list",
            "transformers builds experts in every layer of this type",
        )
    spec, kinds = _qwen_hybrid(r, QWEN3_5_NAMES)
    moe = _qwen_moe(r, spec, r.int("num_experts"))
    spec.update(
        intermediate_size=moe.width,  # no dense MLP: the expert width stands in
        mtp_layers=r.int("mtp_num_hidden_layers", minimum=0, null=0),
    )
    return _stack(spec, kinds, (moe,) * spec["num_hidden_layers"])


# ---- Kimi Linear ---------------------------------------------------------------------


def _kimi_sub(r: _arch._Reader) -> dict:
    """``linear_attn_config``, the sub-object Kimi Linear's checkpoints write, or {}."""
    sub = r.cfg.get("linear_attn_config")
    if sub is None:
        return {}
    if not isinstance(sub, dict):
        raise TypeError(
            f"config key 'linear_attn_config' must be an object, got "
            f"{_check.shown(sub)}"
        )
    return sub


def _kimi_refusals(r: _arch._Reader, sub: dict) -> None:
    """Settings of later Kimi models (Kimi K3) that add modules transformers'
    kimi_linear does not build."""
    for key, value in (
        ("mla_use_output_gate", r.cfg.get("mla_use_output_gate")),
        ("linear_attn_config.use_full_rank_gate", sub.get("use_full_rank_gate")),
    ):
        if value:
            raise _refuse(
                r,
                key,
                value,
                "false or absent",
                "it adds gates transformers' kimi_linear does not build",
            )
    for key in ("routed_expert_hidden_size", "attn_res_block_size"):
        if r.cfg.get(key) is not None:
            raise _refuse(
                r,
                key,
                r.cfg[key],
                "no such key",
                "it adds modules transformers' kimi_linear does not build",
            )
    freq = r.cfg.get("moe_layer_freq")
    if freq is not None and freq != 1:
        raise _refuse(
            r,
            "moe_layer_freq",
            freq,
            "1",
            "transformers places experts by mlp_layer_types/first_k_dense_replace",
        )


def _kimi_int(r: _arch._Reader, sub: dict, key: str, fallback: str) -> int:
    """A linear_attn_config value; it wins over transformers' key, as in its config."""
    if key in sub:
        return _check.integer(
            f"config key 'linear_attn_config.{key}'", sub[key], minimum=1
        )
    return r.int(fallback)


def _kimi_layer_types(r: _arch._Reader, sub: dict, n: int) -> tuple[str, ...]:
    kinds = _given_layer_types(r, n, _HYBRID)
    if kinds is not None:
        return kinds
    if "full_attn_layers" in sub and "kda_layers" in sub:
        found: list = [None] * n
        for key, kind in (
            ("full_attn_layers", "full_attention"),
            ("kda_layers", "linear_attention"),
        ):
            for i in sub[key] or ():
                at = _check.integer(
                    f"config key 'linear_attn_config.{key}' item", i, minimum=1
                )
                if at > n:
                    raise ValueError(
                        f"config key 'linear_attn_config.{key}' names layer {at}; "
                        f"layers are numbered 1 to {n} there"
                    )
                found[at - 1] = kind
        if None in found:
            raise ValueError(
                f"config key 'linear_attn_config' puts layer "
                f"{found.index(None) + 1} in neither 'full_attn_layers' nor "
                f"'kda_layers'"
            )
        return tuple(found)
    return tuple(
        "full_attention" if i and i % 4 == 0 else "linear_attention" for i in range(n)
    )


def _kimi_mlp_types(r: _arch._Reader, n: int) -> tuple[str, ...]:
    given = r.raw("mlp_layer_types")
    if given is None or given is _arch._MISSING:
        first = r.int("first_k_dense_replace", minimum=0)
        return tuple("dense" if i < first else "sparse" for i in range(n))
    if not isinstance(given, (list, tuple)) or len(given) != n:
        raise ValueError(
            f"config key 'mlp_layer_types' must be a list of {n} entries (one per "
            f"layer), got {_check.shown(given)}"
        )
    for i, kind in enumerate(given):
        if kind not in ("dense", "sparse"):
            raise ValueError(
                f"config key 'mlp_layer_types' names {_check.shown(kind)} for "
                f"layer {i}; a kimi_linear layer is 'dense' or 'sparse'"
            )
    return tuple(given)


def _kimi_linear(r):
    sub = _kimi_sub(r)
    _kimi_refusals(r, sub)
    spec = _arch._common(r)
    if spec["tie_word_embeddings"]:
        raise _refuse(
            r,
            "tie_word_embeddings",
            True,
            "false",
            "transformers' KimiLinearForCausalLM never ties its LM head to the "
            "embedding, so a checkpoint that does is not the model it builds",
        )
    n, hidden, n_heads = (
        spec["num_hidden_layers"],
        spec["hidden_size"],
        spec["num_attention_heads"],
    )
    kinds = _kimi_layer_types(r, sub, n)
    mlps = _kimi_mlp_types(r, n)
    bias = r.flag("attention_bias")
    rope = r.int("qk_rope_head_dim")
    spec.update(
        num_key_value_heads=_arch._heads(r, n_heads),
        head_dim=rope,
        qkv_bias=bias,
        o_bias=bias,
        q_lora_rank=r.int("q_lora_rank", null=None),
        kv_lora_rank=r.int("kv_lora_rank"),
        qk_nope_head_dim=r.int("qk_nope_head_dim"),
        qk_rope_head_dim=rope,
        v_head_dim=r.int("v_head_dim"),
        intermediate_size=r.int("intermediate_size"),
    )
    mla = LatentAttention(
        hidden,
        n_heads,
        spec["kv_lora_rank"],
        spec["q_lora_rank"],
        spec["qk_nope_head_dim"],
        rope,
        spec["v_head_dim"],
        bias,
        bias,
    )
    kda = KimiDeltaAttention(
        hidden,
        _kimi_int(r, sub, "num_heads", "linear_num_heads"),
        _kimi_int(r, sub, "head_dim", "linear_head_dim"),
        _kimi_int(r, sub, "short_conv_kernel_size", "linear_conv_kernel_dim"),
    )
    spec["_mixers"] = {"full_attention": mla, "linear_attention": kda}
    dense = DenseMLP(hidden, spec["intermediate_size"])
    moe = None
    if "sparse" in mlps:
        n_experts = r.int("num_local_experts")
        top_k = r.int("num_experts_per_tok")
        if top_k > n_experts:
            raise ValueError(
                f"config key 'num_experts_per_tok' ({top_k}) exceeds the number "
                f"of experts 'num_local_experts' ({n_experts})"
            )
        width = r.int("moe_intermediate_size")
        moe = MoE(
            hidden,
            n_experts,
            top_k,
            width,
            width * r.int("n_shared_experts", minimum=0),
        )
        spec.update(
            num_experts=n_experts,
            experts_per_token=top_k,
            moe_intermediate_size=width,
            shared_expert_intermediate_size=moe.shared_width,
        )
    return _stack(spec, kinds, tuple(moe if m == "sparse" else dense for m in mlps))


# ---- LFM2 ----------------------------------------------------------------------------


def _lfm2_width(r: _arch._Reader) -> int:
    """The SwiGLU width Lfm2MLP builds: ``block_ff_dim`` (else ``intermediate_size``),
    cut to 2/3 and scaled by ``block_ffn_dim_multiplier``, rounded up to
    ``block_multiple_of``, when ``block_auto_adjust_ff_dim`` is set."""
    # Lfm2Config lets block_ff_dim override intermediate_size
    if r.cfg.get("block_ff_dim") is not None:
        width = _check.integer("config key 'block_ff_dim'", r.cfg["block_ff_dim"])
    else:
        width = r.int("intermediate_size")
    if not r.flag("block_auto_adjust_ff_dim"):
        return width
    width = int(2 * width / 3)
    multiplier = r.raw("block_ffn_dim_multiplier")
    if multiplier is not None and multiplier is not _arch._MISSING:
        _check.number("config key 'block_ffn_dim_multiplier'", multiplier)
        step = r.int("block_multiple_of")
        width = int(multiplier * width)
        width = step * ((width + step - 1) // step)
    return _check.integer("the MLP width derived from the config", width)


def _lfm2(r):
    spec = _arch._common(r)
    # Lfm2Config lets tie_embedding override tie_word_embeddings
    if r.cfg.get("tie_embedding") is not None:
        tie = r.cfg["tie_embedding"]
        if not isinstance(tie, bool):
            raise TypeError(
                f"config key 'tie_embedding' must be true or false, got "
                f"{_check.shown(tie)}"
            )
        spec["tie_word_embeddings"] = tie
    n, hidden, n_heads = (
        spec["num_hidden_layers"],
        spec["hidden_size"],
        spec["num_attention_heads"],
    )
    kinds = _given_layer_types(r, n, ("conv", "full_attention"))
    if kinds is None:
        given = r.raw("full_attn_idxs")  # None: every layer attends (Lfm2Config)
        idxs = (
            set(range(n))
            if given is None or given is _arch._MISSING
            else set(r.int_list("full_attn_idxs"))
        )
        kinds = tuple("full_attention" if i in idxs else "conv" for i in range(n))
    head_dim = (
        r.int("head_dim")
        if r.has("head_dim")  # an extra key Lfm2Attention honours
        else _arch._split_head_dim(r, hidden, n_heads)
    )
    spec.update(
        num_key_value_heads=_arch._heads(r, n_heads), head_dim=head_dim, qk_norm="head"
    )
    conv_bias = r.flag("conv_bias")
    spec["_mixers"] = {
        "full_attention": Attention(
            hidden,
            n_heads,
            spec["num_key_value_heads"],
            head_dim,
            qk_norm="head",
            names=("q_proj", "k_proj", "v_proj", "out_proj"),
        ),
        "conv": ShortConv(hidden, r.int("conv_L_cache"), conv_bias),
    }
    dense = DenseMLP(hidden, _lfm2_width(r), names=("w1", "w3", "w2"))
    spec["intermediate_size"] = dense.width
    return _stack(spec, kinds, (dense,) * n)


READERS: dict = {
    "qwen3_next": _qwen3_next,
    "qwen3_5_text": _qwen3_5_text,
    "qwen3_5_moe_text": _qwen3_5_moe_text,
    "kimi_linear": _kimi_linear,
    "lfm2": _lfm2,
}
