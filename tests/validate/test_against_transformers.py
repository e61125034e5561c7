"""vramlib's parameter counts and KV-cache sizes against transformers itself.

Needs the pins of requirements-validate.txt (torch, transformers); a missing install fails here, it
does not skip. Nothing is downloaded: configs are generated below or read from
vramlib/data/models.json, written to a temporary folder and loaded with
``AutoConfig.from_pretrained`` (the path a real config.json takes). Parameter counts use models
built on the meta device, so the 405B and 671B catalogue entries cost no memory; KV caches come
from real CPU forward passes of tiny random models.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest
import torch
import transformers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transformers import AutoConfig, AutoModelForCausalLM

from vramlib.kv import kv_cache_bytes, kv_row_elements
from vramlib.models import GROUPS, SUPPORTED_MODEL_TYPES, ModelSpec, get_model

transformers.logging.set_verbosity_error()
CATALOGUE = json.loads(
    (Path(__file__).parents[2] / "vramlib" / "data" / "models.json").read_text()
)
NO_TOKENS = dict(
    pad_token_id=None, bos_token_id=None, eos_token_id=None
)  # keep ids inside tiny vocabs


def hf_config(cfg: dict):
    """transformers' config for a dict, loaded as a config.json file is."""
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "config.json").write_text(json.dumps(cfg))
        config = AutoConfig.from_pretrained(folder)
    if "text_config" in cfg:  # a multimodal wrapper: its language model
        return config.get_text_config()
    return config


def meta_model(cfg: dict):
    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(hf_config(cfg))


def full_meta_model(cfg: dict, architecture: str):
    """The full multimodal model (the class ``architecture`` names), on meta."""
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "config.json").write_text(json.dumps(cfg))
        config = AutoConfig.from_pretrained(folder)
    with torch.device("meta"):
        return getattr(transformers, architecture)(config)


def transformers_groups(model) -> dict[str, int]:
    """transformers' parameters sorted into vramlib's groups by their names (tied weights once)."""
    groups = dict.fromkeys(GROUPS, 0)
    for name, p in model.named_parameters():
        leaf = name.split(".")[-2] if name.count(".") else name
        if re.search(r"(embed_tokens|embed_in|word_embeddings)\.weight$", name):
            group = "embedding"
        elif re.search(r"(lm_head|embed_out)\.weight$", name):
            group = "lm_head"
        elif "norm" in leaf or leaf.startswith("ln_"):
            group = "norm"
        elif name.endswith(".bias"):
            group = "bias"
        elif re.search(r"mlp\.gate\.weight$|shared_expert_gate\.weight$", name):
            group = "router"
        elif re.search(r"\.(self_attn|attention|self_attention)\.", name):
            group = "attention"
        elif ".mlp." in name:
            group = "mlp"
        else:
            raise AssertionError(f"parameter {name} fits no group")
        groups[group] += p.numel()
    return groups


# ---- generated configs of every supported type -------------------------------------------------


def maybe(draw, cfg: dict, key: str, strategy) -> None:
    """Set cfg[key] from strategy, or leave the key out so the class default applies."""
    if draw(st.booleans()):
        cfg[key] = draw(strategy)


@st.composite
def configs(draw, model_type: str) -> dict:
    heads = draw(st.sampled_from([1, 2, 4, 8]))
    kv = draw(st.sampled_from([d for d in (1, 2, 4, 8) if heads % d == 0]))
    head_dim = draw(st.sampled_from([4, 8, 16]))
    layers = draw(st.integers(1, 4))
    cfg = dict(
        model_type=model_type,
        hidden_size=heads * head_dim,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        **NO_TOKENS,
    )
    maybe(draw, cfg, "vocab_size", st.integers(16, 300))
    maybe(draw, cfg, "intermediate_size", st.integers(1, 96))
    maybe(draw, cfg, "tie_word_embeddings", st.booleans())
    layer_kinds = st.lists(
        st.sampled_from(["full_attention", "sliding_attention"]),
        min_size=layers,
        max_size=layers,
    )
    window = st.one_of(st.none(), st.integers(2, 64))
    if model_type in (
        "llama",
        "phi3",
        "olmo2",
        "granite",
        "cohere",
    ):  # absent: as many as query heads
        maybe(draw, cfg, "num_key_value_heads", st.just(kv))
    elif model_type not in (
        "gpt_neox",
        "falcon",
    ):  # the class default (8, 16, 32...) may not divide
        cfg["num_key_value_heads"] = kv
    if model_type in (
        "llama",
        "mistral",
        "mixtral",
        "qwen2",
        "qwen2_moe",
        "qwen3",
        "qwen3_moe",
        "gemma",
        "gemma2",
        "gemma3_text",
        "phi3",
        "olmo2",
        "granite",
        "cohere",
        "starcoder2",
    ):
        maybe(draw, cfg, "head_dim", st.sampled_from([4, 8, 12]))
    if model_type in (
        "llama",
        "granite",
        "qwen3",
        "qwen3_moe",
        "gemma",
        "gemma2",
        "gemma3_text",
        "olmo2",
        "cohere",
        "gpt_neox",
        "deepseek_v3",
    ):
        maybe(draw, cfg, "attention_bias", st.booleans())
    if model_type in ("llama", "granite"):
        maybe(draw, cfg, "mlp_bias", st.booleans())
    if model_type in (
        "mistral",
        "mixtral",
        "phi3",
        "starcoder2",
        "gemma2",
        "gemma3_text",
    ):
        maybe(draw, cfg, "sliding_window", window)
    if model_type in ("qwen2", "qwen2_moe", "qwen3", "qwen3_moe"):
        maybe(draw, cfg, "use_sliding_window", st.booleans())
        maybe(draw, cfg, "sliding_window", st.integers(2, 64))
        if model_type != "qwen3_moe":
            maybe(draw, cfg, "max_window_layers", st.integers(0, layers))
    if model_type in ("qwen2", "qwen3", "gemma2", "gemma3_text"):
        maybe(draw, cfg, "layer_types", layer_kinds)
    if model_type == "gemma3_text":
        maybe(draw, cfg, "sliding_window_pattern", st.integers(1, 4))
    if model_type == "mixtral":
        experts = draw(st.integers(1, 4))
        cfg[draw(st.sampled_from(["num_local_experts", "num_experts"]))] = experts
        cfg["num_experts_per_tok"] = draw(st.integers(1, experts))
    if model_type in ("qwen2_moe", "qwen3_moe"):
        experts = draw(st.integers(0, 4))
        cfg["num_experts"] = experts
        cfg["num_experts_per_tok"] = draw(st.integers(1, max(experts, 1)))
        maybe(draw, cfg, "moe_intermediate_size", st.integers(1, 48))
        maybe(draw, cfg, "decoder_sparse_step", st.integers(1, 3))
        maybe(
            draw,
            cfg,
            "mlp_only_layers",
            st.lists(st.integers(0, layers - 1), max_size=2, unique=True),
        )
    if model_type == "qwen2_moe":
        maybe(draw, cfg, "shared_expert_intermediate_size", st.integers(0, 48))
        maybe(draw, cfg, "qkv_bias", st.booleans())
    if model_type == "cohere":
        maybe(draw, cfg, "use_qk_norm", st.booleans())
    if model_type == "starcoder2":
        maybe(draw, cfg, "use_bias", st.booleans())
    if model_type == "falcon":
        new = draw(st.booleans())
        cfg["new_decoder_architecture"] = new
        if new:
            maybe(draw, cfg, "num_kv_heads", st.just(kv))
        maybe(draw, cfg, "multi_query", st.booleans())
        maybe(draw, cfg, "parallel_attn", st.booleans())
        maybe(draw, cfg, "num_ln_in_parallel_attn", st.sampled_from([None, 1, 2]))
        maybe(draw, cfg, "bias", st.booleans())
        maybe(draw, cfg, "ffn_hidden_size", st.integers(1, 96))
        cfg.pop("intermediate_size", None)
    if model_type == "deepseek_v3":
        experts = draw(st.integers(1, 4))
        cfg.update(
            n_routed_experts=experts,
            num_experts_per_tok=draw(st.integers(1, experts)),
            n_group=1,
            topk_group=1,
            kv_lora_rank=draw(st.integers(1, 24)),
            q_lora_rank=draw(st.one_of(st.none(), st.integers(1, 24))),
            qk_rope_head_dim=draw(st.sampled_from([2, 4, 8])),
            qk_nope_head_dim=draw(st.integers(1, 12)),
            v_head_dim=draw(st.integers(1, 12)),
            first_k_dense_replace=draw(st.integers(0, layers)),
        )
        maybe(draw, cfg, "moe_intermediate_size", st.integers(1, 32))
        maybe(draw, cfg, "n_shared_experts", st.integers(0, 2))
    return cfg


# The 18 types of 2023-2024, generated here; the families of 2025-2026 have their own files
# (test_linear, test_hybrid, test_attention_families, test_moe_families, test_latent).
OLD_TYPES = (
    "llama",
    "mistral",
    "mixtral",
    "qwen2",
    "qwen2_moe",
    "qwen3",
    "qwen3_moe",
    "gemma",
    "gemma2",
    "gemma3_text",
    "phi3",
    "olmo2",
    "granite",
    "cohere",
    "starcoder2",
    "gpt_neox",
    "falcon",
    "deepseek_v3",
)


@pytest.mark.parametrize("model_type", OLD_TYPES)
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_param_count_equals_transformers(model_type, data):
    cfg = data.draw(configs(model_type), label="config")
    spec = ModelSpec.from_hf_config(cfg)
    model = meta_model(cfg)
    assert spec.param_count() == sum(p.numel() for p in model.parameters())
    assert spec.param_groups() == transformers_groups(model)


def test_every_supported_type_builds_the_class_the_spec_is_of():
    built = {
        t: type(
            meta_model(
                dict(
                    model_type=t,
                    hidden_size=16,
                    num_hidden_layers=1,
                    num_attention_heads=2,
                    num_key_value_heads=2,
                    vocab_size=32,
                    **NO_TOKENS,
                )
            )
        ).__name__
        for t in OLD_TYPES
        if t not in ("falcon", "gpt_neox", "deepseek_v3")
    }
    assert all(name.endswith("ForCausalLM") for name in built.values())
    assert set(OLD_TYPES) <= set(SUPPORTED_MODEL_TYPES)


def test_gemma3_multimodal_config_is_sized_with_its_vision_tower():
    text = dict(
        hidden_size=32,
        num_hidden_layers=3,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=8,
        intermediate_size=40,
        sliding_window=16,
        **NO_TOKENS,
    )
    cfg = dict(
        model_type="gemma3",
        text_config=text,
        vision_config=dict(
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=8,
        ),
    )
    model = meta_model(cfg)
    assert type(model).__name__ == "Gemma3ForCausalLM"
    full = full_meta_model(cfg, "Gemma3ForConditionalGeneration")
    spec = ModelSpec.from_hf_config(cfg)
    assert spec.param_count() == sum(p.numel() for p in full.parameters())
    assert spec.param_count() - spec.param_groups()["vision"] == sum(
        p.numel() for p in model.parameters()
    )


def test_falcon_legacy_n_embed_key():
    cfg = dict(
        model_type="falcon",
        n_embed=48,
        num_hidden_layers=2,
        num_attention_heads=4,
        vocab_size=40,
        **NO_TOKENS,
    )
    model = meta_model(cfg)
    assert ModelSpec.from_hf_config(cfg).param_count() == sum(
        p.numel() for p in model.parameters()
    )


# ---- the catalogue -----------------------------------------------------------------------------


@pytest.mark.parametrize("entry", CATALOGUE["models"], ids=lambda e: e["id"])
def test_catalogue_param_count_equals_transformers(entry):
    cfg = {
        k: v for k, v in entry["config"].items() if k != "quantization_config"
    }  # FP8 would add scales
    model = meta_model(cfg)
    spec = get_model(entry["id"])
    groups = spec.param_groups()
    if spec.towers:  # the language model alone by groups, then the whole checkpoint
        full = full_meta_model(cfg, cfg["architectures"][0])
        assert spec.param_count() == sum(p.numel() for p in full.parameters())
        towers = groups.pop("vision") + groups.pop("audio")
        assert towers == spec.param_count() - sum(p.numel() for p in model.parameters())
    else:
        assert spec.param_count() == sum(p.numel() for p in model.parameters())
    if (
        spec.model_type in OLD_TYPES
    ):  # the newer families check groups by their own names
        assert groups == transformers_groups(model)


@pytest.mark.parametrize("entry", CATALOGUE["models"], ids=lambda e: e["id"])
def test_catalogue_buffers_equal_transformers(entry):
    """The persistent buffers a checkpoint saves beside the parameters, by dtype: the
    model is built with bf16 as the default dtype, so a buffer transformers creates in
    the model's dtype is bf16 and one it fixes (fp32 score biases, int64 tables) is
    not."""
    cfg = {k: v for k, v in entry["config"].items() if k != "quantization_config"}
    names = {torch.bfloat16: "model", torch.float32: "F32", torch.int64: "I64"}
    torch.set_default_dtype(torch.bfloat16)
    try:
        if "vision_config" in cfg or "audio_config" in cfg:
            model = full_meta_model(cfg, cfg["architectures"][0])
        else:
            model = meta_model(cfg)
    finally:
        torch.set_default_dtype(torch.float32)
    found: dict[str, int] = {}
    for _, module in model.named_modules():
        for name, b in module._buffers.items():
            if b is not None and name not in module._non_persistent_buffers_set:
                key = names[b.dtype]
                found[key] = found.get(key, 0) + b.numel()
    assert get_model(entry["id"]).buffers() == found


# ---- KV cache after a real forward pass ---------------------------------------------------------


def tiny(model_type: str, **extra) -> dict:
    cfg = dict(
        model_type=model_type,
        vocab_size=128,
        hidden_size=64,
        num_hidden_layers=3,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=96,
        **NO_TOKENS,
    )
    cfg.update(extra)
    if model_type in ("gpt_neox", "falcon"):
        cfg.pop("num_key_value_heads")
    return cfg


def cache_after(
    cfg: dict, tokens: int, batch: int, dtype=torch.float32, decode: int = 0
):
    """The model's DynamicCache after a forward pass over ``tokens`` tokens, then ``decode`` single-token steps."""
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(hf_config(cfg)).to(dtype).eval()
    ids = torch.randint(0, cfg["vocab_size"], (batch, tokens))
    with torch.no_grad():
        out = model(input_ids=ids, use_cache=True)
        cache = out.past_key_values
        for step in range(decode):
            nxt = torch.randint(0, cfg["vocab_size"], (batch, 1))
            cache = model(
                input_ids=nxt, past_key_values=cache, use_cache=True
            ).past_key_values
    return model, cache


def held_bytes(cache) -> int:
    return sum(
        t.numel() * t.element_size()
        for layer in cache.layers
        for t in (layer.keys, layer.values)
    )


FULL_ATTENTION = [
    tiny("llama"),
    tiny("mistral", sliding_window=None),
    tiny("mixtral", num_local_experts=4),
    tiny("qwen2"),
    tiny(
        "qwen2_moe",
        num_experts=4,
        num_experts_per_tok=2,
        moe_intermediate_size=32,
        shared_expert_intermediate_size=48,
    ),
    tiny("qwen3", head_dim=16),
    tiny("qwen3_moe", num_experts=4, num_experts_per_tok=2, head_dim=16),
    tiny("gemma", head_dim=16),
    tiny("phi3"),
    tiny("olmo2"),
    tiny("granite"),
    tiny("cohere", use_qk_norm=True),
    tiny("starcoder2"),
    tiny("gpt_neox"),
    tiny("falcon", multi_query=True),
    tiny("falcon", multi_query=False),
    tiny("llama", num_key_value_heads=1, head_dim=24),
]


@pytest.mark.parametrize("cfg", FULL_ATTENTION, ids=lambda c: c["model_type"])
@pytest.mark.parametrize(
    "tokens,batch,dtype,name",
    [(7, 2, torch.float32, "fp32"), (5, 1, torch.bfloat16, "bf16")],
)
def test_full_attention_cache_equals_dynamic_cache(cfg, tokens, batch, dtype, name):
    _, cache = cache_after(cfg, tokens, batch, dtype, decode=1)
    spec = ModelSpec.from_hf_config(cfg)
    assert kv_cache_bytes(
        spec, tokens=tokens + 1, batch=batch, dtype=name
    ) == held_bytes(cache)


SLIDING = [
    tiny("mistral", sliding_window=4),
    tiny("phi3", sliding_window=5),
    tiny("starcoder2", sliding_window=4),
    tiny("mixtral", num_local_experts=2, sliding_window=6),
    tiny("gemma2", head_dim=16, sliding_window=4, num_hidden_layers=4),
    tiny(
        "gemma3_text",
        head_dim=16,
        sliding_window=4,
        num_hidden_layers=4,
        sliding_window_pattern=2,
    ),
    tiny("qwen2", use_sliding_window=True, sliding_window=4, max_window_layers=1),
    tiny(
        "qwen3",
        use_sliding_window=True,
        sliding_window=4,
        max_window_layers=2,
        head_dim=16,
    ),
    tiny(
        "qwen3_moe",
        use_sliding_window=True,
        sliding_window=5,
        num_experts=2,
        num_experts_per_tok=1,
    ),
]


@pytest.mark.parametrize("cfg", SLIDING, ids=lambda c: c["model_type"])
@pytest.mark.parametrize("tokens", [2, 9])
def test_sliding_window_cache_against_dynamic_cache(cfg, tokens):
    """transformers keeps min(T, W - 1) tokens in a sliding layer between steps; vramlib counts
    min(T, W), the window the next token reads. Both checked by arithmetic written out here."""
    batch, decode = 2, 2
    _, cache = cache_after(cfg, tokens, batch, decode=decode)
    spec = ModelSpec.from_hf_config(cfg)
    t, w = tokens + decode, spec.sliding_window
    hd = cfg.get("head_dim", cfg["hidden_size"] // cfg["num_attention_heads"])
    row_bytes = 2 * cfg["num_key_value_heads"] * hd * 4  # K and V rows, fp32
    kinds = spec.layer_types
    assert "sliding_attention" in kinds
    kept_by_transformers = sum(
        t if k == "full_attention" else min(t, w - 1) for k in kinds
    )
    assert held_bytes(cache) == kept_by_transformers * row_bytes * batch
    kept_by_vramlib = sum(t if k == "full_attention" else min(t, w) for k in kinds)
    assert (
        kv_cache_bytes(spec, tokens=t, batch=batch, dtype="fp32")
        == kept_by_vramlib * row_bytes * batch
    )
    extra = kinds.count("sliding_attention") * row_bytes * batch if t >= w else 0
    assert (
        kv_cache_bytes(spec, tokens=t, batch=batch, dtype="fp32") - held_bytes(cache)
        == extra
    )


def test_falcon_new_architecture_cache_is_broadcast_to_all_heads():
    """transformers' Falcon (new decoder architecture) caches K/V expanded to every query head;
    vramlib counts the num_kv_heads heads the model computes (what grouped-query kernels keep)."""
    cfg = tiny("falcon", new_decoder_architecture=True, num_kv_heads=2)
    _, cache = cache_after(cfg, 6, 2)
    spec = ModelSpec.from_hf_config(cfg)
    assert spec.num_key_value_heads == 2
    assert (
        held_bytes(cache) == 3 * 6 * 2 * (2 * 4 * 16) * 4
    )  # layers * T * B * (K+V, all 4 heads x 16) * fp32
    assert (
        held_bytes(cache)
        == kv_cache_bytes(spec, tokens=6, batch=2, dtype="fp32") * 4 // 2
    )


@pytest.mark.parametrize("q_lora_rank", [None, 12])
def test_mla_cache_is_the_latent_and_expands_to_per_head_k_v(q_lora_rank):
    cfg = tiny(
        "deepseek_v3",
        n_routed_experts=4,
        num_experts_per_tok=2,
        n_group=1,
        topk_group=1,
        moe_intermediate_size=16,
        first_k_dense_replace=1,
        kv_lora_rank=20,
        q_lora_rank=q_lora_rank,
        qk_rope_head_dim=8,
        qk_nope_head_dim=12,
        v_head_dim=10,
        num_key_value_heads=4,
    )
    tokens, batch = 6, 2
    model, cache = cache_after(cfg, tokens, batch, decode=1)
    spec = ModelSpec.from_hf_config(cfg)
    t = tokens + 1
    # latent: (kv_lora_rank + rope) per token per layer, fp32
    assert held_bytes(cache) == 3 * t * batch * (20 + 8) * 4
    assert kv_cache_bytes(spec, tokens=t, batch=batch, dtype="fp32") == held_bytes(
        cache
    )
    # expanded: what attention rebuilds from that latent, per head K (nope + rope) and V
    expanded = 0
    with torch.no_grad():
        for layer, cached in zip(model.model.layers, cache.layers):
            k, v = layer.self_attn.expand_kv(cached.keys, cached.values)
            expanded += (k.numel() + v.numel()) * 4
    assert expanded == 3 * t * batch * 4 * ((12 + 8) + 10) * 4
    assert (
        kv_cache_bytes(spec, tokens=t, batch=batch, dtype="fp32", mla_expanded=True)
        == expanded
    )
    assert kv_row_elements(spec, mla_expanded=True) == (4 * (12 + 8), 4 * 10)
