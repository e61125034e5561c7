"""DeepSeek-V3.2, GLM-5 and DeepSeek-V4 against transformers 5.24.

Parameters: generated configs and the published ones, counted by transformers on the
meta device. Caches: tiny random models run on the CPU, every tensor their cache holds
summed. Needs torch and transformers (requirements-validate.txt); nothing is downloaded.
"""

from __future__ import annotations

import re

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transformers import AutoModelForCausalLM

from vramlib.kv import cache_bytes_per_layer, kv_cache_bytes
from vramlib.models import GROUPS, ModelSpec

from .hf import NO_TOKENS, cache_bytes, hf_config, meta_model, run_cache

SETTINGS = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
BYTES = {"fp32": 4, "bf16": 2}
TORCH = {"fp32": torch.float32, "bf16": torch.bfloat16}


def groups_by_name(model) -> dict[str, int]:
    """transformers' parameters sorted into vramlib's groups by their names: norms,
    attention sinks, compressor position biases and DeepSeek-V4's hyper-connections are
    ``norm``."""
    out = dict.fromkeys(GROUPS, 0)
    for name, p in model.named_parameters():
        parts = name.split(".")
        leaf = parts[-2] if len(parts) > 1 else name
        if name.endswith("embed_tokens.weight"):
            group = "embedding"
        elif name == "lm_head.weight":
            group = "lm_head"
        elif (
            "norm" in leaf
            or parts[-1] in ("sinks", "position_bias")
            or re.search(r"\.(attn_hc|ffn_hc|hc_head)\.", name)
        ):
            group = "norm"
        elif name.endswith(".bias"):
            group = "bias"
        elif name.endswith("mlp.gate.weight"):
            group = "router"
        elif ".self_attn." in name:
            group = "attention"
        elif ".mlp." in name:
            group = "mlp"
        else:
            raise AssertionError(f"parameter {name} fits no group")
        out[group] += p.numel()
    return out


def assert_same_parameters(cfg: dict) -> ModelSpec:
    spec = ModelSpec.from_hf_config(cfg)
    model = meta_model(cfg)
    assert spec.param_count() == sum(p.numel() for p in model.parameters())
    assert spec.param_groups() == groups_by_name(model)
    return spec


def maybe(draw, cfg: dict, key: str, strategy) -> None:
    """Set cfg[key] from strategy, or leave it out so the class default applies."""
    if draw(st.booleans()):
        cfg[key] = draw(strategy)


# ---- DeepSeek-V3.2 and GLM-5 ---------------------------------------------------------


@st.composite
def dsa_configs(draw, model_type: str) -> dict:
    heads = draw(st.sampled_from([1, 2, 4]))
    layers = draw(st.integers(1, 5))
    rope = draw(st.sampled_from([2, 4, 8]))
    cfg = dict(
        model_type=model_type,
        hidden_size=draw(st.sampled_from([16, 24, 32])),
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        qk_rope_head_dim=rope,
        n_group=1,
        topk_group=1,
        **NO_TOKENS,
    )
    for key, values in (
        ("vocab_size", st.integers(16, 200)),
        ("intermediate_size", st.integers(1, 64)),
        ("moe_intermediate_size", st.integers(1, 32)),
        ("tie_word_embeddings", st.booleans()),
        ("attention_bias", st.booleans()),
        ("kv_lora_rank", st.integers(1, 16)),
        ("q_lora_rank", st.integers(1, 16)),
        ("qk_nope_head_dim", st.integers(1, 8)),
        ("v_head_dim", st.integers(1, 8)),
        ("index_n_heads", st.integers(1, 4)),
        ("index_head_dim", st.integers(rope, rope + 8)),
        ("index_topk", st.integers(1, 8)),
        ("n_shared_experts", st.integers(0, 2)),
        ("num_nextn_predict_layers", st.integers(0, 2)),
    ):
        maybe(draw, cfg, key, values)
    if draw(st.booleans()):
        experts = draw(st.integers(1, 4))
        cfg[draw(st.sampled_from(["n_routed_experts", "num_local_experts"]))] = experts
        cfg["num_experts_per_tok"] = draw(st.integers(1, experts))
    if draw(st.booleans()):
        cfg["mlp_layer_types"] = draw(
            st.lists(
                st.sampled_from(["dense", "sparse"]), min_size=layers, max_size=layers
            )
        )
    else:
        maybe(draw, cfg, "first_k_dense_replace", st.integers(0, layers + 1))
    maybe(
        draw,
        cfg,
        "layer_types",
        st.lists(
            st.sampled_from(["indexed_attention", "deepseek_sparse_attention"]),
            min_size=layers,
            max_size=layers,
        ),
    )
    if model_type == "glm_moe_dsa":
        rest = st.lists(
            st.sampled_from(["full", "shared"]),
            min_size=layers - 1,
            max_size=layers - 1,
        )
        how = draw(st.sampled_from(["types", "pattern", "schedule", "default"]))
        if how == "types":
            cfg["indexer_types"] = ["full"] + draw(rest)
        elif how == "pattern":
            cfg["index_topk_pattern"] = "F" + "".join(
                "F" if k == "full" else "S" for k in draw(rest)
            )
        elif how == "schedule":
            maybe(draw, cfg, "index_topk_freq", st.integers(1, 3))
            maybe(draw, cfg, "index_skip_topk_offset", st.integers(1, 3))
    return cfg


@pytest.mark.parametrize("model_type", ["deepseek_v32", "glm_moe_dsa"])
@SETTINGS
@given(data=st.data())
def test_dsa_parameters_equal_transformers(model_type, data):
    cfg = data.draw(dsa_configs(model_type), label="config")
    spec = assert_same_parameters(cfg)
    assert spec.mtp_layers == cfg.get("num_nextn_predict_layers", 0)
    built = hf_config(cfg)
    assert spec.layer_types == ("indexed_attention",) * cfg["num_hidden_layers"]
    assert spec.mlp_layer_types == tuple(
        "moe" if k == "sparse" else "dense" for k in built.mlp_layer_types
    )
    if model_type == "glm_moe_dsa":
        shared = tuple(x.mixer.index_shared for x in spec.layers)
        assert shared == tuple(k == "shared" for k in built.indexer_types)


def dsa(model_type: str, **extra) -> dict:
    cfg = dict(
        model_type=model_type,
        vocab_size=96,
        hidden_size=32,
        num_hidden_layers=4,
        num_attention_heads=2,
        num_key_value_heads=2,
        intermediate_size=40,
        moe_intermediate_size=16,
        n_routed_experts=4,
        num_experts_per_tok=2,
        n_group=1,
        topk_group=1,
        kv_lora_rank=12,
        q_lora_rank=10,
        qk_rope_head_dim=4,
        qk_nope_head_dim=6,
        v_head_dim=5,
        index_n_heads=3,
        index_head_dim=8,
        index_topk=3,
        first_k_dense_replace=1,
        **NO_TOKENS,
    )
    cfg.update(extra)
    return cfg


CACHES = [
    dsa("deepseek_v32"),
    dsa("glm_moe_dsa", index_topk_pattern="FSSF"),
    dsa("glm_moe_dsa", index_topk_freq=2, index_skip_topk_offset=1),
]


@pytest.mark.parametrize("cfg", CACHES, ids=["v32", "glm-pattern", "glm-schedule"])
@pytest.mark.parametrize(
    "tokens,batch,dtype", [(4, 1, "fp32"), (9, 2, "fp32"), (6, 2, "bf16")]
)
def test_dsa_cache_is_latent_plus_indexer_keys(cfg, tokens, batch, dtype):
    model, cache = run_cache(cfg, tokens, batch, TORCH[dtype], decode=1)
    spec = ModelSpec.from_hf_config(cfg)
    t, b = tokens + 1, BYTES[dtype]
    own = [
        x.indexer is not None for x in (layer.self_attn for layer in model.model.layers)
    ]
    # by hand: every layer keeps the latent (12 + 4 elements), layers with an indexer of
    # their own also its keys (8 elements), per token and sequence
    assert cache_bytes(cache) == sum((12 + 4 + 8 * o) * t * batch * b for o in own)
    assert kv_cache_bytes(spec, tokens=t, batch=batch, dtype=dtype) == cache_bytes(
        cache
    )
    indexer = [layer.indexer_keys for layer in cache.layers]
    assert [k is not None for k in indexer] == own
    per_layer = cache_bytes_per_layer(spec, tokens=t, batch=batch, dtype=dtype)
    for parts, keys in zip(per_layer, indexer):
        held = 0 if keys is None else keys.numel() * keys.element_size()
        assert parts.get("indexer_keys", 0) == held


def test_dsa_expanded_cache_is_what_attention_rebuilds():
    cfg = dsa("deepseek_v32")
    model, cache = run_cache(cfg, 5, 2)
    expanded = 0
    with torch.no_grad():
        for layer, cached in zip(model.model.layers, cache.layers):
            k, v = layer.self_attn.expand_kv(cached.keys, cached.values)
            expanded += (k.numel() + v.numel() + cached.indexer_keys.numel()) * 4
    spec = ModelSpec.from_hf_config(cfg)
    assert (
        kv_cache_bytes(spec, tokens=5, batch=2, dtype="fp32", mla_expanded=True)
        == expanded
    )


# ---- DeepSeek-V4 --------------------------------------------------------------------

V4_KINDS = [
    "sliding_attention",
    "compressed_sparse_attention",
    "heavily_compressed_attention",
]


@st.composite
def v4_configs(draw) -> dict:
    heads = draw(st.sampled_from([2, 4]))
    head_dim = draw(st.sampled_from([8, 16]))
    layers = draw(st.integers(1, 5))
    cfg = dict(
        model_type="deepseek_v4",
        hidden_size=draw(st.sampled_from([16, 32])),
        num_hidden_layers=layers,
        num_attention_heads=heads,
        head_dim=head_dim,
        o_groups=draw(st.sampled_from([1, 2, 4])),
        qk_rope_head_dim=4,
        **NO_TOKENS,
    )
    for key, values in (
        ("vocab_size", st.integers(16, 200)),
        ("q_lora_rank", st.integers(1, 12)),
        ("o_lora_rank", st.integers(1, 8)),
        ("sliding_window", st.integers(2, 8)),
        ("index_n_heads", st.integers(1, 3)),
        ("index_head_dim", st.sampled_from([4, 8])),
        ("index_topk", st.integers(1, 4)),
        ("hc_mult", st.integers(1, 3)),
        ("mlp_bias", st.booleans()),
        ("tie_word_embeddings", st.booleans()),
        ("num_nextn_predict_layers", st.integers(0, 2)),
    ):
        maybe(draw, cfg, key, values)
    experts = draw(st.integers(1, 4))
    cfg[draw(st.sampled_from(["n_routed_experts", "num_local_experts"]))] = experts
    cfg["num_experts_per_tok"] = draw(st.integers(1, experts))
    cfg[draw(st.sampled_from(["moe_intermediate_size", "intermediate_size"]))] = draw(
        st.integers(1, 16)
    )
    extra = st.integers(0, 1)  # published configs list the MTP layer too
    how = draw(st.sampled_from(["types", "ratios", "default"]))
    if how == "types":
        cfg["layer_types"] = draw(
            st.lists(st.sampled_from(V4_KINDS), min_size=layers, max_size=layers + 1)
        )
    elif how == "ratios":
        cfg["compress_ratios"] = draw(
            st.lists(
                st.sampled_from([0, 4, 128]),
                min_size=layers + draw(extra),
                max_size=layers + 1,
            )
        )
    rates = st.integers(1, 5)
    if draw(st.booleans()):
        cfg["compress_rates"] = {
            "compressed_sparse_attention": draw(rates),
            "heavily_compressed_attention": draw(rates),
        }
    else:
        maybe(draw, cfg, "compress_rate_csa", rates)
        maybe(draw, cfg, "compress_rate_hca", rates)
    if draw(st.booleans()):
        cfg["mlp_layer_types"] = draw(
            st.lists(
                st.sampled_from(["hash_moe", "moe"]), min_size=layers, max_size=layers
            )
        )
    else:
        maybe(draw, cfg, "num_hash_layers", st.integers(0, layers + 1))
    return cfg


@SETTINGS
@given(cfg=v4_configs())
def test_v4_parameters_equal_transformers(cfg):
    spec = assert_same_parameters(cfg)
    assert spec.layer_types == tuple(hf_config(cfg).layer_types)
    assert spec.mtp_layers == cfg.get("num_nextn_predict_layers", 1)


WINDOW, CSA_RATE, HCA_RATE, D, C = 4, 3, 4, 16, 8
V4 = dict(
    model_type="deepseek_v4",
    vocab_size=64,
    hidden_size=32,
    num_hidden_layers=4,
    num_attention_heads=4,
    head_dim=D,
    q_lora_rank=12,
    moe_intermediate_size=8,
    n_routed_experts=4,
    num_experts_per_tok=2,
    o_groups=2,
    o_lora_rank=6,
    index_n_heads=2,
    index_head_dim=C,
    index_topk=3,
    sliding_window=WINDOW,
    compress_rates={
        "compressed_sparse_attention": CSA_RATE,
        "heavily_compressed_attention": HCA_RATE,
    },
    hc_mult=2,
    qk_rope_head_dim=4,
    layer_types=V4_KINDS + ["compressed_sparse_attention"],
    **NO_TOKENS,
)


def v4_cache(tokens: int, batch: int, dtype: str, decode: int):
    """A tiny DeepSeek-V4's cache, the model built as from_pretrained builds it."""
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(hf_config(V4), dtype=TORCH[dtype]).eval()
    with torch.no_grad():
        cache = model(
            input_ids=torch.randint(0, 64, (batch, tokens)), use_cache=True
        ).past_key_values
        for _ in range(decode):
            cache = model(
                input_ids=torch.randint(0, 64, (batch, 1)),
                past_key_values=cache,
                use_cache=True,
            ).past_key_values
    return cache


def nbytes(t) -> int:
    return 0 if t is None else t.numel() * t.element_size()


@pytest.mark.parametrize("tokens,batch,decode", [(2, 1, 0), (5, 2, 2), (9, 2, 3)])
@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_v4_cache_against_transformers(tokens, batch, decode, dtype):
    """Everything the cache holds, layer by layer. Two documented differences, by hand:
    transformers' window keeps W - 1 tokens between steps where vramlib counts W, and
    its
    plain sliding layer stores the shared K = V tensor twice (as keys and as values)."""
    cache = v4_cache(tokens, batch, dtype, decode)
    spec = ModelSpec.from_hf_config(V4)
    t, b = tokens + decode, BYTES[dtype]
    mine = cache_bytes_per_layer(spec, tokens=t, batch=batch, dtype=dtype)
    for kind, layer, parts in zip(V4["layer_types"], cache.layers, mine):
        copies = 1 if layer.values is layer.keys else 2
        assert copies == (2 if kind == "sliding_attention" else 1)
        window = nbytes(layer.keys) + (nbytes(layer.values) if copies == 2 else 0)
        assert window == copies * min(t, WINDOW - 1) * D * b * batch
        assert parts["keys"] == min(t, WINDOW) * D * b * batch
        held = sum(
            nbytes(x)
            for name in (
                "compressed_kv",
                "buffer_kv",
                "buffer_gate",
                "overlap_kv",
                "overlap_gate",
            )
            for x in getattr(layer, name, {}).values()
        )
        assert sum(parts.values()) - parts["keys"] == held
        if kind == "heavily_compressed_attention":
            entries, waiting = divmod(t, HCA_RATE)
            # compressed entries, then waiting values and gate logits
            assert held == (entries * D + 2 * waiting * D) * b * batch
        elif kind == "compressed_sparse_attention":
            entries, waiting = divmod(t, CSA_RATE)
            by_hand = (entries * (D + C) + 2 * waiting * (2 * D + 2 * C)) * b
            if entries:  # the overlap: values in the model's dtype, gate logits in fp32
                by_hand += CSA_RATE * (D + C) * (b + 4)
            assert held == by_hand * batch
            assert parts["indexer_keys"] == nbytes(layer.compressed_kv["indexer"])


# ---- published configs ---------------------------------------------------------------

# Copies of the published config.json files, trimmed to the keys that shape the model,
# as vendored in ai-dynamo/aiconfigurator (commit 095f58a5, file
# aic-core/src/aiconfigurator_core/model_configs/<org>--<name>_config.json);
# originals on the Hugging Face Hub at
# https://huggingface.co/<org>/<name>/blob/main/config.json.
MOE = dict(
    n_shared_experts=1,
    num_experts_per_tok=8,
    tie_word_embeddings=False,
    attention_bias=False,
    first_k_dense_replace=3,
    moe_intermediate_size=2048,
    n_routed_experts=256,
    kv_lora_rank=512,
    qk_rope_head_dim=64,
    index_head_dim=128,
    index_topk=2048,
    num_nextn_predict_layers=1,
)
V4_RATIOS = [4, 128] * 30
PUBLISHED = {
    "deepseek-ai/DeepSeek-V3.2": dict(
        MOE,
        model_type="deepseek_v32",
        hidden_size=7168,
        index_n_heads=64,
        intermediate_size=18432,
        num_attention_heads=128,
        num_hidden_layers=61,
        num_key_value_heads=128,
        q_lora_rank=1536,
        qk_nope_head_dim=128,
        v_head_dim=128,
        vocab_size=129280,
        n_group=8,
        topk_group=4,
        moe_layer_freq=1,
    ),
    "zai-org/GLM-5": dict(
        MOE,
        model_type="glm_moe_dsa",
        hidden_size=6144,
        index_n_heads=32,
        intermediate_size=12288,
        num_attention_heads=64,
        num_hidden_layers=78,
        num_key_value_heads=64,
        q_lora_rank=2048,
        qk_nope_head_dim=192,
        v_head_dim=256,
        vocab_size=154880,
        n_group=1,
        topk_group=1,
        moe_layer_freq=1,
        head_dim=64,
    ),
    "deepseek-ai/DeepSeek-V4-Flash": dict(
        model_type="deepseek_v4",
        hc_mult=4,
        head_dim=512,
        hidden_size=4096,
        index_head_dim=128,
        index_n_heads=64,
        index_topk=512,
        moe_intermediate_size=2048,
        n_routed_experts=256,
        n_shared_experts=1,
        num_attention_heads=64,
        num_experts_per_tok=6,
        num_hidden_layers=43,
        num_hash_layers=3,
        num_key_value_heads=1,
        num_nextn_predict_layers=1,
        o_groups=8,
        o_lora_rank=1024,
        q_lora_rank=1024,
        qk_rope_head_dim=64,
        sliding_window=128,
        tie_word_embeddings=False,
        vocab_size=129280,
        compress_ratios=[0, 0] + V4_RATIOS[:41] + [0],
    ),
    "deepseek-ai/DeepSeek-V4-Pro": dict(
        model_type="deepseek_v4",
        hc_mult=4,
        head_dim=512,
        hidden_size=7168,
        index_head_dim=128,
        index_n_heads=64,
        index_topk=1024,
        moe_intermediate_size=3072,
        n_routed_experts=384,
        n_shared_experts=1,
        num_attention_heads=128,
        num_experts_per_tok=6,
        num_hidden_layers=61,
        num_hash_layers=3,
        num_key_value_heads=1,
        num_nextn_predict_layers=1,
        o_groups=16,
        o_lora_rank=1024,
        q_lora_rank=1536,
        qk_rope_head_dim=64,
        sliding_window=128,
        tie_word_embeddings=False,
        vocab_size=129280,
        compress_ratios=[128, 128] + V4_RATIOS[:59] + [0],
    ),
}


@pytest.mark.parametrize("name", PUBLISHED)
def test_published_configs_equal_transformers(name):
    spec = assert_same_parameters(dict(PUBLISHED[name], **NO_TOKENS))
    assert spec.mtp_layers == 1
