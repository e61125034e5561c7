r"""Readers for DeepSeek-style sparse attention: DeepSeek-V3.2 (``deepseek_v32``), GLM-5
(``glm_moe_dsa``) and DeepSeek-V4 (``deepseek_v4``).

DeepSeek-V3.2 and GLM-5 are DeepSeek-V3's layout (multi-head latent attention, a few
dense MLP layers, then a mixture of experts with routed and shared experts) with
DeepSeek Sparse Attention: each layer's lightning indexer picks the ``index_topk``
tokens the layer attends to, and caches one key of ``index_head_dim`` elements per
token besides the latent (:class:`~vramlib.layers.LatentAttention`). GLM-5 lets a layer
reuse the previous indexer layer's choice (``indexer_types`` ``"shared"``): such a layer
has no indexer of its own and caches no indexer keys.

Multi-token-prediction layers (``num_nextn_predict_layers``) are published in the
checkpoints but not built by transformers (it drops their weights on load); they are
read into :attr:`~vramlib.models.ModelSpec.mtp_layers` and not counted.

DeepSeek-V4 is built differently (:mod:`vramlib.layers.latent`): every layer attends
over a sliding window plus compressed entries (``layer_types``: ``"sliding_attention"``,
``"compressed_sparse_attention"``, ``"heavily_compressed_attention"``), its residual
stream is ``hc_mult`` parallel streams mixed by hyper-connections (mHC), and every layer
is a mixture of experts with one shared expert; the first layers route by a fixed
token-to-expert table (``"hash_moe"``).

Class defaults are those of ``DeepseekV32Config``, ``GlmMoeDsaConfig`` and
``DeepseekV4Config`` in transformers 5.24 (``configuration_<type>.py``, including what
their ``__post_init__`` derives); the layer shapes follow ``modeling_<type>.py``.
"""

from __future__ import annotations

from typing import Any

from .. import _arch, _check
from ..layers.attention import LatentAttention
from ..layers.ffn import DenseMLP, MoE
from ..layers.latent import KINDS as V4_KINDS
from ..layers.latent import CompressedAttention
from ..layers.layer import Layer

_DSA_COMMON = dict(
    n_shared_experts=1,
    n_routed_experts=256,
    kv_lora_rank=512,
    qk_rope_head_dim=64,
    num_experts_per_tok=8,
    first_k_dense_replace=3,
    tie_word_embeddings=False,
    attention_bias=False,
    index_topk=2048,
    index_head_dim=128,
    mlp_layer_types=None,
    layer_types=None,
    moe_intermediate_size=2048,
)

DEFAULTS: dict[str, dict[str, Any]] = {
    "deepseek_v32": dict(
        _DSA_COMMON,
        vocab_size=129280,
        intermediate_size=18432,
        num_key_value_heads=128,
        q_lora_rank=1536,
        v_head_dim=128,
        qk_nope_head_dim=128,
        index_n_heads=64,
        max_position_embeddings=163840,
    ),
    "glm_moe_dsa": dict(
        _DSA_COMMON,
        vocab_size=154880,
        intermediate_size=12288,
        num_key_value_heads=64,
        q_lora_rank=2048,
        v_head_dim=256,
        qk_nope_head_dim=192,
        index_n_heads=32,
        indexer_types=None,
        max_position_embeddings=202752,
    ),
    "deepseek_v4": dict(
        vocab_size=129280,
        moe_intermediate_size=2048,
        num_key_value_heads=1,
        head_dim=512,
        q_lora_rank=1024,
        num_experts_per_tok=6,
        n_routed_experts=256,
        n_shared_experts=1,
        tie_word_embeddings=False,
        attention_bias=False,
        mlp_bias=False,
        layer_types=None,
        compress_rates=None,
        hc_mult=4,
        mlp_layer_types=None,
        sliding_window=128,
        o_groups=8,
        o_lora_rank=1024,
        index_n_heads=64,
        index_head_dim=128,
        index_topk=512,
        num_nextn_predict_layers=1,
        max_position_embeddings=1048576,
    ),
}

# attribute_map of both configuration classes; ``num_experts`` is re-routed to
# ``n_routed_experts`` by their ``__post_init__``
RENAMED = {
    t: {"num_local_experts": "n_routed_experts", "num_experts": "n_routed_experts"}
    for t in ("deepseek_v32", "glm_moe_dsa")
}
RENAMED["deepseek_v4"] = {
    "num_local_experts": "n_routed_experts",
    "intermediate_size": "moe_intermediate_size",
}

#: ``layer_types`` entries of a DSA model: transformers 5.24 remaps the legacy name
_INDEXED = ("indexed_attention", "deepseek_sparse_attention")
#: GLM-5's per-layer indexer modes
_INDEXER_TYPES = ("full", "shared")
#: keys that choose which layers run an indexer (GLM-5 only in transformers)
_INDEXER_KEYS = (
    "indexer_types",
    "index_topk_pattern",
    "index_topk_freq",
    "index_skip_topk_offset",
)


def _list(
    r: _arch._Reader,
    key: str,
    n: int,
    accepted: tuple[str, ...],
    *,
    at_least: bool = False,
) -> list[str] | None:
    """A per-layer list of names from the file (``None`` when absent or null): exactly
    ``n`` entries (or at least ``n``, of which transformers reads the first ``n``), each
    accepted."""
    given = r.raw(key)
    if given is None or given is _arch._MISSING:
        return None
    if not isinstance(given, (list, tuple)) or (
        len(given) < n if at_least else len(given) != n
    ):
        size = f"at least {n}" if at_least else f"{n}"
        raise ValueError(
            f"config key {key!r} must be a list of {size} entries (one per layer, "
            f"num_hidden_layers = {n}), got {_check.shown(given)}"
        )
    for i, kind in enumerate(given):
        if kind not in accepted:
            raise ValueError(
                f"config key {key!r} names {_check.shown(kind)} for layer {i}; a "
                f"{r.model_type} model accepts {', '.join(map(repr, accepted))}. "
                f"vramlib refuses rather than size it as another kind"
            )
    return list(given[:n])


def _mlp_kinds(r: _arch._Reader, n: int) -> list[str]:
    """``"dense"`` or ``"sparse"`` per layer: ``mlp_layer_types``, else the first
    ``first_k_dense_replace`` layers dense and the rest experts."""
    kinds = _list(r, "mlp_layer_types", n, ("dense", "sparse"))
    if kinds is None:
        dense = min(r.int("first_k_dense_replace", minimum=0), n)
        kinds = ["dense"] * dense + ["sparse"] * (n - dense)
    freq = r.cfg.get("moe_layer_freq", 1)
    if freq != 1:
        raise ValueError(
            f"config key 'moe_layer_freq' is {_check.shown(freq)}: transformers "
            f"ignores it for {r.model_type} (experts in every layer past the dense "
            f"ones) while vLLM puts experts only in every n-th layer; vramlib "
            f"refuses rather than guess which is meant (accepted: 1)"
        )
    return kinds


def _glm_indexers(r: _arch._Reader, n: int) -> list[str]:
    """GLM-5's ``indexer_types``: the file's list, else ``index_topk_pattern`` (a string
    of F and S, or a list of "full"/"shared"), else the schedule of ``index_topk_freq``
    (default 1) and ``index_skip_topk_offset`` (default 2), as
    ``GlmMoeDsaConfig.__post_init__`` derives it."""
    kinds = _list(r, "indexer_types", n, _INDEXER_TYPES, at_least=True)
    if kinds is None:
        pattern = r.raw("index_topk_pattern")
        if isinstance(pattern, str):
            letters = {"F": "full", "S": "shared"}
            bad = sorted(set(pattern) - set(letters))
            if bad or len(pattern) < n:
                raise ValueError(
                    f"config key 'index_topk_pattern' must be a string of at least "
                    f"{n} letters F (full) or S (shared), got {pattern!r}"
                )
            kinds = [letters[c] for c in pattern[:n]]
        elif pattern is not None and pattern is not _arch._MISSING:
            kinds = _list(r, "index_topk_pattern", n, _INDEXER_TYPES, at_least=True)
        else:
            freq = max(r.int("index_topk_freq", minimum=0, null=1), 1)
            offset = r.int("index_skip_topk_offset", minimum=-(2**31), null=2)
            kinds = [
                "full" if max(i - offset + 1, 0) % freq == 0 else "shared"
                for i in range(n)
            ]
    if kinds and kinds[0] != "full":
        raise ValueError(
            "the first layer of a glm_moe_dsa model must run its own indexer "
            "(indexer_types[0] == 'full'): a 'shared' layer reuses the previous "
            "indexer layer's choice, and transformers refuses to run without one"
        )
    return kinds


def _dsa(r: _arch._Reader) -> dict:
    spec = _arch._common(r)
    n, n_heads, h = (
        spec["num_hidden_layers"],
        spec["num_attention_heads"],
        spec["hidden_size"],
    )
    glm = r.model_type == "glm_moe_dsa"
    if not glm:
        stray = [k for k in _INDEXER_KEYS if r.cfg.get(k) is not None]
        if stray:
            raise ValueError(
                f"config key {stray[0]!r} chooses layers without an indexer, which "
                f"transformers builds only for glm_moe_dsa (every deepseek_v32 "
                f"layer has one) while vLLM honours it for both; vramlib refuses "
                f"rather than guess which is meant"
            )
    _list(r, "layer_types", n, _INDEXED)
    bias = r.flag("attention_bias")
    rope = r.int("qk_rope_head_dim")
    q_rank = r.int("q_lora_rank")  # transformers always builds q_a_proj for these types
    topk = r.int("index_topk")
    index_dim = r.int("index_head_dim")
    if index_dim < rope:
        raise ValueError(
            f"config key 'index_head_dim' ({index_dim}) must be at least "
            f"'qk_rope_head_dim' ({rope}): the indexer rotates that many of its "
            f"dimensions"
        )
    mla = dict(
        hidden=h,
        heads=n_heads,
        kv_lora_rank=r.int("kv_lora_rank"),
        q_lora_rank=q_rank,
        qk_nope_head_dim=r.int("qk_nope_head_dim"),
        qk_rope_head_dim=rope,
        v_head_dim=r.int("v_head_dim"),
        qkv_bias=bias,
        o_bias=bias,
        index_topk=topk,
    )
    own = LatentAttention(
        **mla, index_n_heads=r.int("index_n_heads"), index_head_dim=index_dim
    )
    shared = LatentAttention(**mla, index_shared=True)
    indexers = _glm_indexers(r, n) if glm else ["full"] * n
    mlps = _mlp_kinds(r, n)
    spec.update(
        num_key_value_heads=_arch._heads(r, n_heads),
        head_dim=rope,
        intermediate_size=r.int("intermediate_size"),
        qkv_bias=bias,
        o_bias=bias,
        q_lora_rank=q_rank,
        kv_lora_rank=mla["kv_lora_rank"],
        qk_nope_head_dim=mla["qk_nope_head_dim"],
        qk_rope_head_dim=rope,
        v_head_dim=mla["v_head_dim"],
        mtp_layers=r.int("num_nextn_predict_layers", minimum=0, null=0),
    )
    ffn: dict[str, Any] = {}
    if "dense" in mlps:
        ffn["dense"] = DenseMLP(h, spec["intermediate_size"])
    if "sparse" in mlps:
        experts = r.int("n_routed_experts")
        top_k = r.int("num_experts_per_tok")
        if top_k > experts:
            raise ValueError(
                f"config key 'num_experts_per_tok' ({top_k}) exceeds the number "
                f"of experts 'n_routed_experts' ({experts})"
            )
        width = r.int("moe_intermediate_size")
        shared_width = width * r.int("n_shared_experts", minimum=0)
        ffn["sparse"] = MoE(
            h, experts, top_k, width, shared_width, score_bias_buffer="F32"
        )
        spec.update(
            num_experts=experts,
            experts_per_token=top_k,
            moe_intermediate_size=width,
            shared_expert_intermediate_size=shared_width,
        )
    made: dict[tuple[str, str], Layer] = {}
    layers = []
    for indexer, mlp in zip(indexers, mlps):
        if (indexer, mlp) not in made:
            mixer = own if indexer == "full" else shared
            made[indexer, mlp] = Layer(mixer, ffn[mlp], h)
        layers.append(made[indexer, mlp])
    spec["layers"] = tuple(layers)
    return spec


#: DeepseekV4Config's class constants: compression rate by kind, hash-routed layers
_V4_RATES = {"compressed_sparse_attention": 4, "heavily_compressed_attention": 128}
_V4_HASH_LAYERS = 3
#: the legacy per-layer ``compress_ratios`` values and the layer kinds they stand for
_V4_RATIOS = {
    0: "sliding_attention",
    4: "compressed_sparse_attention",
    128: "heavily_compressed_attention",
}


def _v4_kinds(r: _arch._Reader, n: int) -> list[str]:
    """Per-layer attention kind: ``layer_types``, else the legacy ``compress_ratios``,
    else two heavily compressed layers then sparse and heavy alternately
    (``DeepseekV4Config``). Lists longer than the model are cut to
    ``num_hidden_layers``, as transformers does (published configs list the
    multi-token-prediction layer too)."""
    kinds = _list(r, "layer_types", n, V4_KINDS, at_least=True)
    if kinds is not None:
        return kinds
    ratios = r.cfg.get("compress_ratios")
    if ratios is not None:
        if (
            not isinstance(ratios, (list, tuple))
            or len(ratios) < n
            or any(isinstance(x, bool) or x not in _V4_RATIOS for x in ratios)
        ):
            raise ValueError(
                f"config key 'compress_ratios' must be a list of at least {n} "
                f"entries, each 0, 4 or 128, got {_check.shown(ratios)}"
            )
        return [_V4_RATIOS[x] for x in ratios[:n]]
    tail = [
        "compressed_sparse_attention" if i % 2 else "heavily_compressed_attention"
        for i in range(max(n - 2, 0))
    ]
    return (["heavily_compressed_attention"] * min(n, 2) + tail)[:n]


def _v4_rates(r: _arch._Reader, kinds: list[str]) -> dict[str, int]:
    """Compression rate per compressed kind: ``compress_rates``, else the class's, with
    the legacy ``compress_rate_csa`` / ``compress_rate_hca`` folded in."""
    given = r.raw("compress_rates")
    if given is None or given is _arch._MISSING:
        rates = dict(_V4_RATES)
    elif isinstance(given, dict) and set(given) <= set(_V4_RATES):
        rates = dict(given)
    else:
        raise ValueError(
            f"config key 'compress_rates' must map "
            f"{' and '.join(map(repr, _V4_RATES))} to tokens per compressed entry, "
            f"got {_check.shown(given)}"
        )
    for key, kind in (
        ("compress_rate_csa", "compressed_sparse_attention"),
        ("compress_rate_hca", "heavily_compressed_attention"),
    ):
        if r.cfg.get(key) is not None:
            rates[kind] = r.cfg[key]
    for kind in dict.fromkeys(kinds):
        if kind == "sliding_attention":
            continue
        if kind not in rates:
            raise ValueError(
                f"config key 'compress_rates' gives no rate for {kind!r}, a kind "
                f"of layer this model has"
            )
        rates[kind] = _check.integer(
            f"config key 'compress_rates' [{kind!r}]", rates[kind]
        )
    return rates


def _only(r: _arch._Reader, key: str, accepted: object) -> None:
    """Refuse a key transformers' deepseek_v4 ignores when the file sets it to something
    the published model does not have (sizing would silently drop what it says)."""
    value = r.raw(key)
    if value is not _arch._MISSING and value != accepted:
        raise ValueError(
            f"config key {key!r} is {_check.shown(value)}, but transformers' "
            f"deepseek_v4 always builds the model as if it were {accepted!r} (it "
            f"ignores the key); vramlib refuses rather than guess which is meant"
        )


def _deepseek_v4(r: _arch._Reader) -> dict:
    spec = _arch._common(r)
    n, n_heads, h = (
        spec["num_hidden_layers"],
        spec["num_attention_heads"],
        spec["hidden_size"],
    )
    _only(r, "num_key_value_heads", 1)
    _only(r, "n_shared_experts", 1)
    _only(r, "attention_bias", False)
    kinds = _v4_kinds(r, n)
    mlps = _list(r, "mlp_layer_types", n, ("hash_moe", "moe"), at_least=True)
    if mlps is None:
        hashed = r.cfg.get("num_hash_layers")
        hashed = (
            _V4_HASH_LAYERS
            if hashed is None
            else _check.integer("config key 'num_hash_layers'", hashed, minimum=0)
        )
        mlps = ["hash_moe"] * min(n, hashed) + ["moe"] * max(0, n - hashed)
    rates = _v4_rates(r, kinds)
    d, window = r.int("head_dim"), r.int("sliding_window")
    shape = dict(
        hidden=h,
        heads=n_heads,
        head_dim=d,
        q_lora_rank=r.int("q_lora_rank"),
        o_groups=r.int("o_groups"),
        o_lora_rank=r.int("o_lora_rank"),
        window=window,
    )
    if (n_heads * d) % shape["o_groups"]:
        raise ValueError(
            f"config key 'o_groups' ({shape['o_groups']}) must divide "
            f"num_attention_heads x head_dim ({n_heads} x {d})"
        )
    indexer: dict[str, int] = {}
    if "compressed_sparse_attention" in kinds:
        indexer = dict(
            index_n_heads=r.int("index_n_heads"),
            index_head_dim=r.int("index_head_dim"),
            index_topk=r.int("index_topk"),
        )
    experts, top_k = r.int("n_routed_experts"), r.int("num_experts_per_tok")
    if top_k > experts:
        raise ValueError(
            f"config key 'num_experts_per_tok' ({top_k}) exceeds the number of "
            f"experts 'n_routed_experts' ({experts})"
        )
    width = r.int("moe_intermediate_size")
    # routed layers keep an fp32 score-correction bias; hash-routed ones instead a
    # token-to-expert table (vocab x top-k, int64): buffers, stored with the weights
    moe = MoE(h, experts, top_k, width, shared_width=width, score_bias_buffer="F32")
    hashed_moe = MoE(h, experts, top_k, width, shared_width=width)
    table = (("I64", r.int("vocab_size") * top_k),)
    streams = r.int("hc_mult")
    # two hyper-connections per layer (attention, feed-forward): fn, base and scale
    mixing = 2 * ((2 + streams) * streams * (streams * h + 1) + 3)
    extra: tuple[tuple[str, int], ...] = (("norm", mixing),)
    if r.flag("mlp_bias"):  # the shared expert's gate, up and down biases
        extra += (("bias", 2 * width + h),)
    layers: dict[tuple[str, str], Layer] = {}
    for kind, mlp in dict.fromkeys(zip(kinds, mlps)):
        rate = rates.get(kind, 0) if kind != "sliding_attention" else 0
        mixer = CompressedAttention(
            **shape,
            kind=kind,
            compress_rate=rate,
            **(indexer if kind == "compressed_sparse_attention" else {}),
        )
        if mlp == "hash_moe":
            layers[kind, mlp] = Layer(mixer, hashed_moe, h, extra=extra, buffers=table)
        else:
            layers[kind, mlp] = Layer(mixer, moe, h, extra=extra)
    spec.update(
        num_key_value_heads=1,
        head_dim=d,
        intermediate_size=width,
        num_experts=experts,
        experts_per_token=top_k,
        moe_intermediate_size=width,
        shared_expert_intermediate_size=width,
        sliding_window=window,
        mtp_layers=r.int("num_nextn_predict_layers", minimum=0, null=0),
        layers=tuple(layers[k] for k in zip(kinds, mlps)),
        # the final hyper-connection head folding the streams into one: fn, base, scale
        extra_params=(("norm", streams * streams * h + streams + 1),),
    )
    return spec


READERS = {"deepseek_v32": _dsa, "glm_moe_dsa": _dsa, "deepseek_v4": _deepseek_v4}
