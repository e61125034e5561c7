"""State-space and hybrid models (mamba2, nemotron_h, granitemoehybrid, falcon_h1,
jamba) against transformers 5.24: parameter counts of generated configs on the meta
device, and every byte the cache holds after real CPU forward passes of tiny models.

What transformers keeps for a Mamba layer, checked below part by part: a conv state of K
columns over the convolved channels in the model's dtype, and an SSM state in fp32
whatever the model's dtype. Attention layers keep keys and values of every token;
MLP-only layers nothing.
"""

from __future__ import annotations

import re
import warnings

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transformers import AutoModelForCausalLM

from vramlib.kv import cache_breakdown, kv_bytes_per_token, kv_cache_bytes
from vramlib.models import GROUPS, ModelSpec

from .hf import NO_TOKENS, cache_bytes, cache_tensors, hf_config, meta_model

warnings.filterwarnings("ignore", category=FutureWarning)
TYPES = ("mamba2", "nemotron_h", "granitemoehybrid", "falcon_h1", "jamba")


def groups_of(model) -> dict[str, int]:
    """transformers' parameters in vramlib's groups, by name (tied weights once)."""
    out = dict.fromkeys(GROUPS, 0)
    for name, p in model.named_parameters():
        if re.search(r"(embed_tokens|embeddings)\.weight$", name):
            group = "embedding"
        elif name == "lm_head.weight":
            group = "lm_head"
        elif (
            re.search(r"norm[^.]*\.weight$", name)
            or "conv1d" in name
            or re.search(r"\.(A_log|D|dt_bias)$", name)
        ):
            group = "norm"
        elif name.endswith(".bias"):
            group = "bias"
        elif re.search(r"\.(router|gate)\.weight$", name):
            group = "router"
        elif re.search(
            r"\.(q_proj|k_proj|v_proj|o_proj|in_proj|out_proj|x_proj|dt_proj)\.weight$",
            name,
        ):
            group = "attention"
        else:
            group = "mlp"
        out[group] += p.numel()
    return out


# ---- generated configs ---------------------------------------------------------------


def maybe(draw, cfg: dict, key: str, strategy) -> None:
    """Set cfg[key] from strategy, or leave it out so the class default applies."""
    if draw(st.booleans()):
        cfg[key] = draw(strategy)


def attention_keys(draw, cfg: dict, hidden: int) -> None:
    heads = draw(st.sampled_from([d for d in (1, 2, 4) if hidden % d == 0]))
    cfg["num_attention_heads"] = heads
    cfg["num_key_value_heads"] = draw(
        st.sampled_from([d for d in (1, 2, 4) if heads % d == 0])
    )
    maybe(draw, cfg, "head_dim", st.sampled_from([4, 8, 12]))


@st.composite
def configs(draw, model_type: str) -> dict:
    hidden = draw(st.sampled_from([8, 16, 24]))
    layers = draw(st.integers(1, 5))
    cfg = dict(
        model_type=model_type, hidden_size=hidden, num_hidden_layers=layers, **NO_TOKENS
    )
    maybe(draw, cfg, "vocab_size", st.integers(16, 200))
    maybe(draw, cfg, "tie_word_embeddings", st.booleans())
    if model_type == "mamba2":
        expand = draw(st.sampled_from([1, 2]))
        heads = draw(
            st.sampled_from([d for d in (1, 2, 4, 8) if expand * hidden % d == 0])
        )
        cfg.update(expand=expand, num_heads=heads, head_dim=expand * hidden // heads)
        maybe(draw, cfg, "state_size", st.integers(1, 16))
        maybe(draw, cfg, "n_groups", st.integers(1, 3))
        maybe(draw, cfg, "conv_kernel", st.integers(1, 5))
        maybe(draw, cfg, "use_bias", st.booleans())
        maybe(draw, cfg, "use_conv_bias", st.booleans())
    elif model_type == "nemotron_h":
        attention_keys(draw, cfg, hidden)
        pattern = "".join(
            draw(st.lists(st.sampled_from("M*-E"), min_size=1, max_size=6))
        )
        how = draw(st.sampled_from(["pattern", "list", "legacy"]))
        if how == "pattern":
            cfg["hybrid_override_pattern"] = pattern
        else:
            names = {
                "M": "linear_attention",
                "*": "full_attention",
                "-": "mlp",
                "E": "moe",
            }
            if how == "legacy":
                names.update(M="mamba", **{"*": "attention"})
            cfg[draw(st.sampled_from(["layers_block_type", "layer_types"]))] = [
                names[c] for c in pattern
            ]
        if draw(st.booleans()):
            cfg["num_hidden_layers"] = len(pattern)
        else:
            del cfg["num_hidden_layers"]
        maybe(draw, cfg, "mamba_num_heads", st.integers(1, 4))
        maybe(draw, cfg, "mamba_head_dim", st.integers(1, 8))
        maybe(draw, cfg, "ssm_state_size", st.integers(1, 8))
        maybe(draw, cfg, "n_groups", st.integers(1, 3))
        maybe(draw, cfg, "conv_kernel", st.integers(1, 4))
        maybe(draw, cfg, "use_conv_bias", st.booleans())
        maybe(draw, cfg, "use_bias", st.booleans())
        maybe(draw, cfg, "intermediate_size", st.integers(1, 40))
        maybe(draw, cfg, "mlp_bias", st.booleans())
        experts = draw(st.integers(1, 4))
        cfg[draw(st.sampled_from(["n_routed_experts", "num_local_experts"]))] = experts
        cfg["num_experts_per_tok"] = draw(st.integers(1, experts))
        maybe(draw, cfg, "moe_intermediate_size", st.integers(1, 24))
        maybe(draw, cfg, "moe_shared_expert_intermediate_size", st.integers(1, 24))
        maybe(draw, cfg, "moe_latent_size", st.one_of(st.none(), st.integers(1, 12)))
    elif model_type in ("granitemoehybrid", "falcon_h1"):
        attention_keys(draw, cfg, hidden)
        maybe(
            draw,
            cfg,
            "layer_types" if model_type == "granitemoehybrid" else "_unused",
            st.lists(
                st.sampled_from(
                    ["mamba", "attention", "linear_attention", "full_attention"]
                ),
                min_size=layers,
                max_size=layers,
            ),
        )
        cfg.pop("_unused", None)
        expand = draw(st.sampled_from([1, 2]))
        cfg["mamba_expand"] = expand
        inner = expand * hidden
        if model_type == "falcon_h1" and draw(st.booleans()):
            inner = draw(st.sampled_from([8, 16, 32]))
            cfg["mamba_d_ssm"] = inner
        elif model_type == "falcon_h1":
            cfg["mamba_d_ssm"] = None
        heads = draw(st.sampled_from([d for d in (1, 2, 4, 8) if inner % d == 0]))
        cfg["mamba_n_heads"] = heads
        maybe(draw, cfg, "mamba_d_head", st.just(inner // heads))
        maybe(draw, cfg, "mamba_n_groups", st.integers(1, 3))
        maybe(draw, cfg, "mamba_d_state", st.integers(1, 8))
        maybe(draw, cfg, "mamba_d_conv", st.integers(1, 4))
        maybe(draw, cfg, "mamba_conv_bias", st.booleans())
        maybe(draw, cfg, "mamba_proj_bias", st.booleans())
        maybe(draw, cfg, "attention_bias", st.booleans())
        maybe(draw, cfg, "intermediate_size", st.integers(1, 40))
        if model_type == "granitemoehybrid":
            experts = draw(st.integers(0, 4))
            cfg["num_local_experts"] = experts
            cfg["num_experts_per_tok"] = draw(st.integers(1, max(experts, 1)))
            maybe(draw, cfg, "shared_intermediate_size", st.integers(1, 40))
        else:
            maybe(draw, cfg, "mamba_rms_norm", st.booleans())
            maybe(draw, cfg, "projectors_bias", st.booleans())
            maybe(draw, cfg, "mlp_bias", st.booleans())
    elif model_type == "jamba":
        attention_keys(draw, cfg, hidden)
        for what in ("attn", "expert"):
            period = draw(st.integers(1, 4))
            cfg[f"{what}_layer_period"] = period
            cfg[f"{what}_layer_offset"] = draw(st.integers(0, period - 1))
        experts = draw(st.integers(1, 4))
        cfg[draw(st.sampled_from(["num_experts", "num_local_experts"]))] = experts
        cfg["num_experts_per_tok"] = draw(st.integers(1, experts))
        maybe(draw, cfg, "intermediate_size", st.integers(1, 40))
        maybe(draw, cfg, "mamba_d_state", st.integers(1, 8))
        maybe(draw, cfg, "mamba_d_conv", st.integers(1, 4))
        maybe(draw, cfg, "mamba_expand", st.integers(1, 2))
        maybe(draw, cfg, "mamba_dt_rank", st.one_of(st.just("auto"), st.integers(1, 6)))
        maybe(draw, cfg, "mamba_conv_bias", st.booleans())
        maybe(draw, cfg, "mamba_proj_bias", st.booleans())
    return cfg


@pytest.mark.parametrize("model_type", TYPES)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_param_count_equals_transformers(model_type, data):
    cfg = data.draw(configs(model_type), label="config")
    spec = ModelSpec.from_hf_config(cfg)
    model = meta_model(cfg)
    assert spec.param_count() == sum(p.numel() for p in model.parameters())
    assert spec.param_groups() == groups_of(model)


def test_each_type_builds_its_own_class():
    for t, name in (
        ("mamba2", "Mamba2ForCausalLM"),
        ("nemotron_h", "NemotronHForCausalLM"),
        ("granitemoehybrid", "GraniteMoeHybridForCausalLM"),
        ("falcon_h1", "FalconH1ForCausalLM"),
        ("jamba", "JambaForCausalLM"),
    ):
        cfg = dict(
            model_type=t,
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_heads=4,
            head_dim=8,
            mamba_n_heads=4,
            mamba_d_ssm=None,
            mamba_num_heads=2,
            vocab_size=32,
            **NO_TOKENS,
        )
        assert type(meta_model(cfg)).__name__ == name


def test_nemotron_h_ties_no_weights_although_asked():
    """NemotronHForCausalLM has no tied-weights map: tie_word_embeddings is moot."""
    cfg = dict(
        model_type="nemotron_h",
        hidden_size=16,
        hybrid_override_pattern="M*",
        num_attention_heads=2,
        num_key_value_heads=2,
        head_dim=8,
        mamba_num_heads=2,
        vocab_size=40,
        tie_word_embeddings=True,
        **NO_TOKENS,
    )
    spec = ModelSpec.from_hf_config(cfg)
    counted = sum(p.numel() for p in meta_model(cfg).parameters())
    assert spec.param_count() == counted
    assert spec.param_groups()["lm_head"] == 40 * 16


# ---- the cache after real forward passes ---------------------------------------------


def run(cfg: dict, tokens: int, batch: int, dtype, decode: int = 1):
    """The cache (5.24 calls it ``cache``) after ``tokens``, then ``decode`` steps."""
    torch.manual_seed(0)
    config = hf_config(cfg)
    model = AutoModelForCausalLM.from_config(config).to(dtype).eval()
    ids = torch.randint(0, cfg["vocab_size"], (batch, tokens))
    with torch.no_grad():
        cache = model(input_ids=ids, use_cache=True).cache
        for _ in range(decode):
            nxt = torch.randint(0, cfg["vocab_size"], (batch, 1))
            cache = model(input_ids=nxt, cache=cache, use_cache=True).cache
    return cache


def held_parts(cache) -> dict[str, int]:
    """Bytes transformers' cache layers hold, by part, read from the layers."""

    def size(t):
        return t.numel() * t.element_size() if t is not None else 0

    out = dict.fromkeys(("keys", "values", "conv_state", "recurrent_state"), 0)
    for layer in cache.layers:
        out["keys"] += size(getattr(layer, "keys", None))
        out["values"] += size(getattr(layer, "values", None))
        for t in getattr(layer, "conv_states", {}).values():
            out["conv_state"] += size(t)
        for t in getattr(layer, "recurrent_states", {}).values():
            out["recurrent_state"] += size(t)
    return out


def vramlib_parts(spec, tokens, batch, dtype, state) -> dict[str, int]:
    out = dict.fromkeys(("keys", "values", "conv_state", "recurrent_state"), 0)
    for parts in cache_breakdown(
        spec, tokens=tokens, batch=batch, dtype=dtype, state_dtype=state
    ).values():
        for part, n in parts.items():
            out[part] += n
    return out


TINY = {
    "mamba2": dict(
        model_type="mamba2",
        vocab_size=64,
        hidden_size=32,
        num_hidden_layers=2,
        num_heads=8,
        head_dim=8,
        n_groups=2,
        state_size=6,
        conv_kernel=4,
        chunk_size=4,
    ),
    "nemotron_h": dict(
        model_type="nemotron_h",
        vocab_size=64,
        hidden_size=32,
        hybrid_override_pattern="M*-EM",
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=8,
        mamba_num_heads=4,
        mamba_head_dim=8,
        n_groups=2,
        ssm_state_size=6,
        conv_kernel=3,
        intermediate_size=24,
        n_routed_experts=4,
        num_experts_per_tok=2,
        moe_intermediate_size=16,
        moe_shared_expert_intermediate_size=8,
        chunk_size=4,
    ),
    "granitemoehybrid": dict(
        model_type="granitemoehybrid",
        vocab_size=64,
        hidden_size=32,
        num_hidden_layers=3,
        layer_types=["mamba", "attention", "mamba"],
        num_attention_heads=4,
        num_key_value_heads=2,
        mamba_n_heads=4,
        mamba_n_groups=2,
        mamba_d_state=8,
        mamba_d_conv=3,
        intermediate_size=16,
        shared_intermediate_size=8,
        num_local_experts=4,
        num_experts_per_tok=2,
        mamba_chunk_size=4,
    ),
    "falcon_h1": dict(
        model_type="falcon_h1",
        vocab_size=64,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        mamba_d_ssm=48,
        mamba_n_heads=4,
        mamba_n_groups=2,
        mamba_d_state=8,
        mamba_d_conv=3,
        intermediate_size=16,
        mamba_chunk_size=4,
        mamba_rms_norm=True,
    ),
    "jamba": dict(
        model_type="jamba",
        vocab_size=64,
        hidden_size=32,
        num_hidden_layers=3,
        num_attention_heads=4,
        num_key_value_heads=2,
        attn_layer_period=3,
        attn_layer_offset=1,
        expert_layer_period=2,
        expert_layer_offset=0,
        num_experts=4,
        mamba_d_state=8,
        mamba_d_conv=3,
        intermediate_size=16,
    ),
}
for _cfg in TINY.values():
    _cfg.update(NO_TOKENS)

# per type, written out from the configs above: (Mamba layers, conv channels C,
# kernel K, SSM elements per sequence, attention layers, K/V row elements n_kv * d_h)
SHAPES = {
    "mamba2": (2, 32 * 2 + 2 * 2 * 6, 4, 8 * 8 * 6, 0, 0),
    "nemotron_h": (2, 4 * 8 + 2 * 2 * 6, 3, 4 * 8 * 6, 1, 2 * 8),
    "granitemoehybrid": (2, 64 + 2 * 2 * 8, 3, 4 * 16 * 8, 1, 2 * 8),
    "falcon_h1": (2, 48 + 2 * 2 * 8, 3, 4 * 12 * 8, 2, 2 * 8),
    "jamba": (2, 64, 3, 64 * 8, 1, 2 * 8),
}


@pytest.mark.parametrize("model_type", TYPES)
@pytest.mark.parametrize("tokens,batch", [(1, 2), (9, 1), (9, 3)])
def test_fp32_cache_equals_transformers(model_type, tokens, batch):
    """fp32 model: every part in fp32, and vramlib's total is every byte the cache
    holds. 9 tokens spans several scan chunks (chunk_size 4); 1 token is shorter than
    the kernel."""
    cfg = TINY[model_type]
    cache = run(cfg, tokens, batch, torch.float32)
    spec = ModelSpec.from_hf_config(cfg)
    t = tokens + 1
    held = held_parts(cache)
    assert sum(held.values()) == cache_bytes(cache)
    assert kv_cache_bytes(spec, tokens=t, batch=batch, dtype="fp32") == cache_bytes(
        cache
    )
    assert vramlib_parts(spec, t, batch, "fp32", "fp32") == held
    n_ssm, channels, kernel, ssm, n_attn, row = SHAPES[model_type]
    assert held == {
        "keys": n_attn * t * row * 4 * batch,
        "values": n_attn * t * row * 4 * batch,
        "conv_state": n_ssm * channels * kernel * 4 * batch,
        "recurrent_state": n_ssm * ssm * 4 * batch,
    }


@pytest.mark.parametrize("model_type", TYPES)
def test_bf16_model_keeps_its_ssm_state_in_fp32(model_type):
    """bf16 model: keys, values and conv states in bf16, the SSM state in fp32
    (transformers' scans compute it in fp32 and the cache copies that). vramlib gives
    one state dtype per call: bf16 for the conv part, fp32 for the SSM part."""
    cfg, tokens, batch = TINY[model_type], 6, 2
    cache = run(cfg, tokens, batch, torch.bfloat16)
    spec = ModelSpec.from_hf_config(cfg)
    t = tokens + 1
    held = held_parts(cache)
    assert sum(held.values()) == cache_bytes(cache)
    for layer in cache.layers:
        for s in getattr(layer, "recurrent_states", {}).values():
            assert s.dtype == torch.float32
        for s in getattr(layer, "conv_states", {}).values():
            assert s.dtype == torch.bfloat16
    as_bf16 = vramlib_parts(spec, t, batch, "bf16", "bf16")
    as_fp32 = vramlib_parts(spec, t, batch, "bf16", "fp32")
    assert held == {
        "keys": as_bf16["keys"],
        "values": as_bf16["values"],
        "conv_state": as_bf16["conv_state"],
        "recurrent_state": as_fp32["recurrent_state"],
    }
    n_ssm, _, _, ssm, _, _ = SHAPES[model_type]
    assert held["recurrent_state"] == n_ssm * ssm * 4 * batch
    # vramlib's default state dtype follows a 16-bit cache: half transformers' SSM state
    assert (
        kv_cache_bytes(spec, tokens=t, batch=batch, dtype="bf16")
        == cache_bytes(cache) - n_ssm * ssm * 2 * batch
    )


@pytest.mark.parametrize("model_type", TYPES)
def test_states_do_not_grow_and_only_attention_adds_per_token(model_type):
    cfg, batch = TINY[model_type], 1
    short, long = run(cfg, 2, batch, torch.float32), run(cfg, 10, batch, torch.float32)
    spec = ModelSpec.from_hf_config(cfg)
    a, b = held_parts(short), held_parts(long)
    assert (a["conv_state"], a["recurrent_state"]) == (
        b["conv_state"],
        b["recurrent_state"],
    )
    grown = (b["keys"] + b["values"]) - (a["keys"] + a["values"])
    assert grown == 8 * kv_bytes_per_token(spec, "fp32") * batch


def test_cache_walker_finds_every_tensor():
    """held_parts reads named fields; the generic walker finds nothing else held."""
    cache = run(TINY["falcon_h1"], 3, 2, torch.float32)
    assert len(cache_tensors(cache)) == 4 * 2  # K, V, conv, SSM per hybrid layer
