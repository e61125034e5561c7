"""vramlib against transformers 5.24 for the attention-and-MLP families of 2025:
olmo3, smollm3, seed_oss, ministral3, apertus, glm4_moe, minimax_m2, ernie4_5_moe and
hunyuan_v1_moe (readers in vramlib/families/moe.py).

Parameters: generated configs (keys often left out, so class defaults apply) against
the model transformers builds on the meta device, in total, by group, and by linear
layer. Cache: tiny random models run on CPU at two token counts (one past any window)
and two batch sizes, every tensor the cache holds summed (tests/validate/hf.py).
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transformers import CONFIG_MAPPING

from tests.validate.hf import (
    NO_TOKENS,
    cache_bytes,
    cache_tensors,
    hf_config,
    meta_model,
    run_cache,
)
from vramlib.families.moe import DEFAULTS
from vramlib.kv import kv_cache_bytes
from vramlib.models import GROUPS, ModelSpec

TYPES = (
    "olmo3",
    "smollm3",
    "seed_oss",
    "ministral3",
    "apertus",
    "glm4_moe",
    "minimax_m2",
    "ernie4_5_moe",
    "hunyuan_v1_moe",
)


def maybe(draw, cfg: dict, key: str, strategy) -> None:
    """Set cfg[key] from strategy, or leave the key out so the class default applies."""
    if draw(st.booleans()):
        cfg[key] = draw(strategy)


def kinds(n: int):
    return st.lists(
        st.sampled_from(["full_attention", "sliding_attention"]), min_size=n, max_size=n
    )


@st.composite
def configs(draw, model_type: str) -> dict:
    heads = draw(st.sampled_from([1, 2, 4]))
    kv = draw(st.sampled_from([d for d in (1, 2, 4) if heads % d == 0]))
    split = draw(st.sampled_from([4, 8]))  # hidden_size / heads
    n = draw(st.integers(1, 5))
    cfg = dict(
        model_type=model_type,
        hidden_size=heads * split,
        num_hidden_layers=n,
        num_attention_heads=heads,
        num_key_value_heads=kv,
        **NO_TOKENS,
    )
    maybe(draw, cfg, "vocab_size", st.integers(16, 200))
    maybe(draw, cfg, "intermediate_size", st.integers(1, 48))
    maybe(draw, cfg, "tie_word_embeddings", st.booleans())
    maybe(draw, cfg, "head_dim", st.sampled_from([4, 6, 8]))
    if model_type in ("olmo3", "apertus", "hunyuan_v1_moe") and draw(st.booleans()):
        del cfg["num_key_value_heads"]  # class default: as many as query heads
    if model_type in (
        "olmo3",
        "smollm3",
        "seed_oss",
        "apertus",
        "glm4_moe",
        "hunyuan_v1_moe",
    ):
        maybe(draw, cfg, "attention_bias", st.booleans())
    if model_type == "olmo3":
        maybe(draw, cfg, "sliding_window", st.integers(1, 64))
        maybe(draw, cfg, "layer_types", kinds(n))
    if model_type == "smollm3":
        maybe(draw, cfg, "mlp_bias", st.booleans())
        maybe(
            draw,
            cfg,
            "no_rope_layers",
            st.lists(st.sampled_from([0, 1]), min_size=n, max_size=n),
        )
        maybe(draw, cfg, "no_rope_layer_interval", st.integers(1, 4))
        if draw(st.booleans()):
            cfg.update(use_sliding_window=True, sliding_window=draw(st.integers(1, 64)))
            maybe(draw, cfg, "layer_types", kinds(n))
    if model_type == "seed_oss":
        maybe(draw, cfg, "attention_out_bias", st.booleans())
        maybe(draw, cfg, "mlp_bias", st.booleans())
        maybe(draw, cfg, "head_dim", st.none())
    if model_type == "ministral3":
        maybe(draw, cfg, "sliding_window", st.one_of(st.none(), st.integers(1, 64)))
    if model_type == "apertus":
        maybe(
            draw,
            cfg,
            "hidden_act",
            st.sampled_from(["xielu", "prelu", "relu2", "silu", "gelu"]),
        )
    if model_type == "glm4_moe":
        experts = draw(st.integers(1, 4))
        cfg[draw(st.sampled_from(["n_routed_experts", "num_local_experts"]))] = experts
        cfg["num_experts_per_tok"] = draw(st.integers(1, experts))
        cfg.update(n_group=1, topk_group=1)
        maybe(draw, cfg, "moe_intermediate_size", st.integers(1, 32))
        maybe(draw, cfg, "n_shared_experts", st.integers(0, 2))
        maybe(draw, cfg, "first_k_dense_replace", st.integers(0, n + 1))
        maybe(draw, cfg, "use_qk_norm", st.booleans())
        maybe(
            draw,
            cfg,
            draw(st.sampled_from(["num_nextn_predict_layers", "num_mtp_layers"])),
            st.integers(0, 3),
        )
    if model_type == "minimax_m2":
        experts = draw(st.integers(1, 4))
        cfg[draw(st.sampled_from(["num_local_experts", "num_experts"]))] = experts
        cfg["num_experts_per_tok"] = draw(st.integers(1, experts))
    if model_type == "ernie4_5_moe":
        experts = draw(st.integers(1, 4))
        cfg[draw(st.sampled_from(["moe_num_experts", "num_experts"]))] = experts
        cfg[draw(st.sampled_from(["moe_k", "num_experts_per_tok"]))] = draw(
            st.integers(1, experts)
        )
        maybe(draw, cfg, "moe_intermediate_size", st.integers(1, 32))
        maybe(draw, cfg, "moe_num_shared_experts", st.integers(0, 2))
        maybe(draw, cfg, "moe_layer_start_index", st.integers(0, n))
        maybe(draw, cfg, "moe_layer_end_index", st.integers(-1, n))
        maybe(draw, cfg, "moe_layer_interval", st.integers(1, 3))
        maybe(draw, cfg, "use_bias", st.booleans())
    if model_type == "hunyuan_v1_moe":
        cfg.setdefault("head_dim", draw(st.sampled_from([4, 8])))
        experts = draw(st.integers(1, 4))
        cfg[draw(st.sampled_from(["num_experts", "num_local_experts"]))] = experts
        maybe(
            draw,
            cfg,
            draw(st.sampled_from(["moe_topk", "num_experts_per_tok"])),
            st.one_of(
                st.integers(1, experts),
                st.lists(st.integers(1, experts), min_size=n, max_size=n),
            ),
        )
        maybe(draw, cfg, "num_shared_expert", st.just(1))
    return cfg


def groups_of(model) -> dict[str, int]:
    """transformers' parameters in vramlib's groups, by name (tied ones once)."""
    groups = dict.fromkeys(GROUPS, 0)
    for name, p in model.named_parameters():
        if name.endswith("embed_tokens.weight"):
            group = "embedding"
        elif name == "lm_head.weight":
            group = "lm_head"
        elif re.search(r"norm\.weight$|layernorm\.weight$|act_fn\.", name):
            group = "norm"  # norms, and xIELU's / PReLU's learned scalars
        elif name.endswith(".bias"):
            group = "bias"
        elif re.search(r"mlp\.gate\.", name):
            group = "router"  # weight, Hunyuan's wg, ERNIE's e_score_correction_bias
        elif ".self_attn." in name:
            group = "attention"
        elif ".mlp." in name:
            group = "mlp"
        else:
            raise AssertionError(f"parameter {name} fits no group")
        groups[group] += p.numel()
    return groups


def linears_of(model, spec: ModelSpec) -> Counter:
    """transformers' nn.Linear modules, routers and fused expert tensors by (leaf name,
    in, out), as vramlib lists them (the LM head is a module even when tied)."""
    found: Counter = Counter()
    for name, module in model.named_modules():
        leaf = name.rsplit(".", 1)[-1]
        if isinstance(module, torch.nn.Linear):
            if module.weight.numel() == 0:
                continue  # GLM's shared expert when n_shared_experts is 0
            found[leaf, module.in_features, module.out_features] += 1
        elif leaf == "gate" and isinstance(
            getattr(module, "weight", None), torch.nn.Parameter
        ):
            e, h = module.weight.shape  # a router module of its own class
            found["gate", h, e] += 1
        elif leaf == "experts":
            e, two_w, h = module.gate_up_proj.shape
            found["gate_up_proj", h, two_w] += e
            found["down_proj", module.down_proj.shape[2], h] += e
    return found


@pytest.mark.parametrize("model_type", TYPES)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_param_count_equals_transformers(model_type, data):
    cfg = data.draw(configs(model_type), label="config")
    spec = ModelSpec.from_hf_config(cfg)
    model = meta_model(cfg)
    assert spec.param_count() == sum(p.numel() for p in model.parameters())
    assert spec.param_groups() == groups_of(model)
    mine = Counter()
    for lin in spec.linear_modules():
        mine[lin.name, lin.in_features, lin.out_features] += lin.count
    assert mine == linears_of(model, spec)


def test_glm4_moe_multi_token_prediction_layers_are_recorded_not_built():
    cfg = dict(
        model_type="glm4_moe",
        vocab_size=64,
        hidden_size=32,
        num_hidden_layers=3,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=40,
        n_routed_experts=4,
        num_experts_per_tok=2,
        moe_intermediate_size=8,
        num_nextn_predict_layers=2,
        **NO_TOKENS,
    )
    model = meta_model(cfg)
    spec = ModelSpec.from_hf_config(cfg)
    assert len(model.model.layers) == 3 and spec.mtp_layers == 2
    assert spec.param_count() == sum(p.numel() for p in model.parameters())


def test_ernie_bias_lm_head_keeps_its_bias_when_tied():
    cfg = dict(
        model_type="ernie4_5_moe",
        vocab_size=50,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        intermediate_size=24,
        moe_num_experts=2,
        moe_k=1,
        use_bias=True,
        tie_word_embeddings=True,
        **NO_TOKENS,
    )
    model = meta_model(cfg)
    names = dict(model.named_parameters())
    assert "lm_head.bias" in names and names["lm_head.bias"].numel() == 50
    assert ModelSpec.from_hf_config(cfg).param_count() == sum(
        p.numel() for p in model.parameters()
    )


# ---- the cache after a real forward pass -------------------------------------------


def tiny(model_type: str, **extra) -> dict:
    cfg = dict(
        model_type=model_type,
        vocab_size=64,
        hidden_size=32,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=8,
        intermediate_size=24,
        **NO_TOKENS,
    )
    cfg.update(extra)
    return cfg


FULL = [
    tiny("olmo3", layer_types=["full_attention"] * 4),
    tiny("smollm3", no_rope_layers=[1, 0, 1, 0]),
    tiny("seed_oss", attention_out_bias=True),
    tiny("ministral3"),
    tiny("apertus", num_key_value_heads=1),
    tiny(
        "glm4_moe",
        n_routed_experts=4,
        num_experts_per_tok=2,
        moe_intermediate_size=8,
        n_group=1,
        topk_group=1,
        use_qk_norm=True,
        first_k_dense_replace=1,
    ),
    tiny("minimax_m2", num_local_experts=4, num_experts_per_tok=2, head_dim=16),
    tiny(
        "ernie4_5_moe",
        moe_num_experts=4,
        moe_k=2,
        moe_intermediate_size=8,
        moe_num_shared_experts=1,
        use_bias=True,
    ),
    tiny("hunyuan_v1_moe", num_experts=4, moe_topk=[1, 2, 2, 1]),
]


@pytest.mark.parametrize("cfg", FULL, ids=lambda c: c["model_type"])
@pytest.mark.parametrize("tokens,batch", [(5, 1), (12, 2)])
def test_full_attention_cache_equals_transformers(cfg, tokens, batch):
    """Every layer attends to everything: the cache is 2 rows of n_kv * d_h per token
    per layer, which is all transformers' DynamicCache holds."""
    _, cache = run_cache(cfg, tokens, batch, decode=1)
    spec = ModelSpec.from_hf_config(cfg)
    t = tokens + 1
    kv, hd = cfg["num_key_value_heads"], cfg["head_dim"]
    assert cache_bytes(cache) == 4 * t * batch * 2 * kv * hd * 4  # layers, K+V, fp32
    mine = kv_cache_bytes(spec, tokens=t, batch=batch, dtype="fp32")
    assert mine == cache_bytes(cache)


def test_full_attention_cache_in_bf16():
    cfg = FULL[5]
    _, cache = run_cache(cfg, 7, 2, dtype=torch.bfloat16, decode=1)
    spec = ModelSpec.from_hf_config(cfg)
    assert kv_cache_bytes(spec, tokens=8, batch=2, dtype="bf16") == cache_bytes(cache)


SLIDING = [
    tiny("olmo3", sliding_window=4),  # default pattern: 3 sliding, then 1 full
    tiny(
        "olmo3",
        sliding_window=3,
        layer_types=["full_attention", "sliding_attention"] * 2,
    ),
    tiny(
        "smollm3",
        use_sliding_window=True,
        sliding_window=4,
        no_rope_layers=[1, 0, 1, 0],
    ),  # the layers without rotary positions slide
    tiny("ministral3", sliding_window=5),
]


@pytest.mark.parametrize("cfg", SLIDING, ids=lambda c: c["model_type"])
@pytest.mark.parametrize("tokens,batch", [(2, 2), (11, 1), (11, 3)])
def test_sliding_cache_against_transformers(cfg, tokens, batch):
    """A sliding layer keeps min(T, W) rows in vramlib, the window the next token
    reads. transformers' DynamicSlidingWindowLayer exposes the last W - 1 as a view of
    the tensor it concatenated during the step, whose storage holds min(T, W) rows
    after a decode step; it also keeps the window as one int64 scalar (8 bytes) per
    sliding layer. Both written out here."""
    decode = 1
    _, cache = run_cache(cfg, tokens, batch, decode=decode)
    spec = ModelSpec.from_hf_config(cfg)
    t, w = tokens + decode, spec.sliding_window
    row = 2 * cfg["num_key_value_heads"] * cfg["head_dim"] * 4 * batch  # K+V, fp32
    sliding = spec.layer_types.count("sliding_attention")
    full = 4 - sliding
    assert sliding and spec.layer_types == tuple(
        type(x).__name__ == "DynamicSlidingWindowLayer"
        and "sliding_attention"
        or "full_attention"
        for x in cache.layers
    )
    mine = kv_cache_bytes(spec, tokens=t, batch=batch, dtype="fp32")
    assert mine == (full * t + sliding * min(t, w)) * row
    assert cache_bytes(cache) == mine + 8 * sliding
    visible = sum(x.keys.numel() + x.values.numel() for x in cache.layers) * 4
    assert visible == (full * t + sliding * min(t, w - 1)) * row


def test_hf_cache_walk_sees_keys_and_values():
    """The storage count above is of the tensors held, not of a stale copy."""
    _, cache = run_cache(SLIDING[0], 9, 1, decode=1)
    shapes = sorted(tuple(x.shape) for x in cache_tensors(cache) if x.dim() == 4)
    assert shapes == sorted([(1, 2, 3, 8)] * 6 + [(1, 2, 10, 8)] * 2)


def test_window_on_a_full_attention_type_is_refused_because_transformers_trims():
    """Seed-OSS attention reads the whole context, yet a file's sliding_window makes
    transformers' DynamicCache trim to it; vramlib refuses such a file."""
    cfg = tiny("seed_oss", sliding_window=4)
    config = hf_config(cfg)
    _, cache = run_cache(cfg, 6, 1, decode=1, config=config)
    assert {type(x).__name__ for x in cache.layers} == {"DynamicSlidingWindowLayer"}
    with pytest.raises(ValueError, match="sliding_window"):
        ModelSpec.from_hf_config(cfg)


# ---- the class defaults vramlib fills in -------------------------------------------

FIELD = {("glm4_moe", "num_nextn_predict_layers"): "num_mtp_layers"}  # attribute_map


@pytest.mark.parametrize("model_type", TYPES)
def test_defaults_are_the_configuration_class_defaults(model_type):
    """Every key vramlib fills in for an absent one is the field default of the
    configuration class transformers 5.24 loads for that model_type."""
    fields = {f.name: f.default for f in dataclasses.fields(CONFIG_MAPPING[model_type])}
    for key, value in DEFAULTS[model_type].items():
        name = FIELD.get((model_type, key), key)
        assert name in fields and fields[name] == value, (model_type, key)
