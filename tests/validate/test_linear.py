"""The linear-attention and short-convolution hybrids against transformers 5.24.

qwen3_next, qwen3_5_text, qwen3_5_moe_text, kimi_linear and lfm2: generated configs
(layer patterns, heads, state sizes, experts, tied embeddings, keys left out so class
defaults apply) whose parameter count, parameter groups and linear layers equal those of
the model transformers builds on the meta device; and caches of tiny CPU models, after a
prefill and a decode step, whose bytes equal vramlib's.

What transformers keeps per linear-attention or convolution layer: a conv state of K
columns (the kernel size) in the model's dtype and, for DeltaNet/KDA, a recurrent state
in fp32 even for a bf16 model. The bf16 tests write that difference out.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.validate.hf import (
    NO_TOKENS,
    cache_bytes,
    cache_tensors,
    meta_model,
    run_cache,
)
from vramlib.kv import cache_breakdown, kv_cache_bytes, state_bytes_per_sequence
from vramlib.models import GROUPS, ModelSpec
from vramlib.precisions import get_precision

TYPES = ("qwen3_next", "qwen3_5_text", "qwen3_5_moe_text", "kimi_linear", "lfm2")


# ---- transformers' side, sorted by name ----------------------------------------------


def groups_by_name(model) -> dict[str, int]:
    """transformers' parameters in vramlib's groups, by their names (tied weights once)."""
    groups = dict.fromkeys(GROUPS, 0)
    for name, p in model.named_parameters():
        parts = name.split(".")
        leaf, last = parts[-2], parts[-1]
        if name.endswith("embed_tokens.weight"):
            group = "embedding"
        elif name == "lm_head.weight":
            group = "lm_head"
        elif (
            "norm" in leaf or last in ("A_log", "dt_bias") or leaf in ("conv1d", "conv")
        ):
            group = (
                "norm"  # norms and the small per-channel vectors: decay, conv kernels
            )
        elif last == "bias":
            group = "bias"
        elif re.search(r"mlp\.gate\.weight$|shared_expert_gate\.weight$", name):
            group = "router"
        elif ".mlp." in name or ".feed_forward." in name:
            group = "mlp"
        elif re.search(r"\.(self_attn|linear_attn|conv)\.", name):
            group = "attention"
        else:
            raise AssertionError(f"parameter {name} fits no group")
        groups[group] += p.numel()
    return groups


def linears_by_name(model) -> Counter:
    """(name, in, out, bias) -> how many: every nn.Linear, fused expert tensor and
    router."""
    found: Counter = Counter()
    for name, module in model.named_modules():
        leaf = name.split(".")[-1]
        if isinstance(module, torch.nn.Linear):
            empty = not (module.in_features and module.out_features)  # a 0-wide expert
            if not empty:  # the LM head is a module even when its weight is tied
                found[
                    leaf,
                    module.in_features,
                    module.out_features,
                    module.bias is not None,
                ] += 1
        elif leaf == "experts":
            e, up, h = module.gate_up_proj.shape
            found["gate_up_proj", h, up, False] += e
            found["down_proj", up // 2, h, False] += e
        elif leaf == "gate" and hasattr(module, "weight"):  # routers hold a bare weight
            e, h = module.weight.shape
            found["gate", h, e, False] += 1
    return found


def spec_linears(spec: ModelSpec) -> Counter:
    found: Counter = Counter()
    for x in spec.linear_modules():  # an expert and a shared expert may share a shape
        found[x.name, x.in_features, x.out_features, x.bias] += x.count
    return found


# ---- generated configs ---------------------------------------------------------------


def maybe(draw, cfg: dict, key: str, strategy) -> None:
    """Set cfg[key] from strategy, or leave the key out so the class default applies."""
    if draw(st.booleans()):
        cfg[key] = draw(strategy)


def _heads(draw) -> tuple[int, int]:
    heads = draw(st.sampled_from([1, 2, 4]))
    return heads, draw(st.sampled_from([d for d in (1, 2, 4) if heads % d == 0]))


def _pattern(draw, cfg: dict, layers: int, kinds: list[str], legacy: dict) -> None:
    """A layer pattern: the file's layer_types (sometimes with transformers' legacy
    names), or nothing so the class derives one."""
    if draw(st.booleans()):
        chosen = draw(
            st.lists(st.sampled_from(kinds), min_size=layers, max_size=layers)
        )
        if draw(st.booleans()):
            chosen = [legacy.get(k, k) for k in chosen]
        cfg["layer_types"] = chosen


@st.composite
def qwen_configs(draw, model_type: str) -> dict:
    heads, kv = _heads(draw)
    layers = draw(st.integers(1, 6))
    cfg = dict(
        model_type=model_type,
        hidden_size=draw(st.sampled_from([16, 32])),
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv,
        **NO_TOKENS,
    )
    maybe(draw, cfg, "vocab_size", st.integers(16, 300))
    maybe(draw, cfg, "tie_word_embeddings", st.booleans())
    maybe(draw, cfg, "attention_bias", st.booleans())
    maybe(draw, cfg, "head_dim", st.sampled_from([8, 16]))
    if draw(st.booleans()):
        k = draw(st.sampled_from([1, 2]))
        cfg.update(
            linear_num_key_heads=k,
            linear_num_value_heads=k * draw(st.sampled_from([1, 3])),
        )
    maybe(draw, cfg, "linear_key_head_dim", st.sampled_from([4, 8]))
    maybe(draw, cfg, "linear_value_head_dim", st.sampled_from([4, 6]))
    maybe(draw, cfg, "linear_conv_kernel_dim", st.integers(2, 4))
    _pattern(
        draw,
        cfg,
        layers,
        ["linear_attention", "full_attention"],
        {"linear_attention": "mamba", "full_attention": "attention"},
    )
    if "layer_types" not in cfg:
        maybe(draw, cfg, "full_attention_interval", st.integers(1, 4))
    if model_type != "qwen3_next":
        maybe(draw, cfg, "attn_output_gate", st.just(True))
        maybe(draw, cfg, "mtp_num_hidden_layers", st.integers(0, 2))
    if model_type != "qwen3_5_moe_text":
        maybe(draw, cfg, "intermediate_size", st.integers(1, 64))
    if model_type == "qwen3_5_moe_text":
        maybe(draw, cfg, "mlp_only_layers", st.just([]))
    if model_type != "qwen3_5_text":
        if draw(st.booleans()):
            experts = draw(st.integers(0 if model_type == "qwen3_next" else 1, 4))
            cfg.update(
                num_experts=experts,
                num_experts_per_tok=draw(st.integers(1, max(experts, 1))),
            )
        maybe(draw, cfg, "moe_intermediate_size", st.integers(1, 32))
        maybe(draw, cfg, "shared_expert_intermediate_size", st.integers(0, 32))
    if model_type == "qwen3_next":
        maybe(draw, cfg, "decoder_sparse_step", st.integers(1, 3))
        maybe(
            draw,
            cfg,
            "mlp_only_layers",
            st.lists(st.integers(0, layers - 1), max_size=2, unique=True),
        )
    return cfg


@st.composite
def kimi_configs(draw) -> dict:
    heads, kv = _heads(draw)
    layers = draw(st.integers(1, 6))
    cfg = dict(
        model_type="kimi_linear",
        hidden_size=draw(st.sampled_from([16, 32])),
        num_hidden_layers=layers,
        num_attention_heads=heads,
        **NO_TOKENS,
    )
    maybe(draw, cfg, "num_key_value_heads", st.just(kv))
    maybe(draw, cfg, "vocab_size", st.integers(16, 300))
    maybe(
        draw, cfg, "tie_word_embeddings", st.just(False)
    )  # never tied: True is refused
    maybe(draw, cfg, "attention_bias", st.booleans())
    maybe(draw, cfg, "kv_lora_rank", st.integers(1, 16))
    maybe(draw, cfg, "q_lora_rank", st.one_of(st.none(), st.integers(1, 16)))
    maybe(draw, cfg, "qk_rope_head_dim", st.sampled_from([2, 4]))
    maybe(draw, cfg, "qk_nope_head_dim", st.integers(1, 8))
    maybe(draw, cfg, "v_head_dim", st.integers(1, 8))
    maybe(draw, cfg, "intermediate_size", st.integers(1, 64))
    maybe(draw, cfg, "moe_intermediate_size", st.integers(1, 32))
    maybe(
        draw,
        cfg,
        draw(st.sampled_from(["max_position_embeddings", "model_max_length"])),
        st.integers(1, 4096),
    )
    sizes = dict(
        num_heads=("linear_num_heads", st.sampled_from([1, 2, 3])),
        head_dim=("linear_head_dim", st.sampled_from([4, 8])),
        short_conv_kernel_size=("linear_conv_kernel_dim", st.integers(2, 4)),
    )
    sub: dict = {}
    for key, (
        top,
        strategy,
    ) in sizes.items():  # the checkpoints' sub-object, transformers' key
        where = draw(
            st.sampled_from(["absent", "sub", "top", "both"])
        )  # both: the sub wins
        if where in ("sub", "both"):
            sub[key] = draw(strategy)
        if where in ("top", "both"):
            cfg[top] = draw(strategy)
    if draw(st.booleans()):
        full = draw(st.lists(st.booleans(), min_size=layers, max_size=layers))
        sub["full_attn_layers"] = [i + 1 for i, f in enumerate(full) if f]
        sub["kda_layers"] = [i + 1 for i, f in enumerate(full) if not f]
    else:
        _pattern(draw, cfg, layers, ["linear_attention", "full_attention"], {})
    if sub or draw(st.booleans()):
        cfg["linear_attn_config"] = sub
    if draw(st.booleans()):
        cfg["mlp_layer_types"] = draw(
            st.lists(
                st.sampled_from(["dense", "sparse"]), min_size=layers, max_size=layers
            )
        )
    else:
        maybe(draw, cfg, "first_k_dense_replace", st.integers(0, layers))
    if draw(st.booleans()):
        experts = draw(st.integers(1, 4))
        cfg[draw(st.sampled_from(["num_experts", "num_local_experts"]))] = experts
        cfg[draw(st.sampled_from(["num_experts_per_tok", "num_experts_per_token"]))] = (
            draw(st.integers(1, experts))
        )
    maybe(
        draw,
        cfg,
        draw(st.sampled_from(["n_shared_experts", "num_shared_experts"])),
        st.integers(0, 2),
    )
    return cfg


@st.composite
def lfm2_configs(draw) -> dict:
    heads, kv = _heads(draw)
    layers = draw(st.integers(1, 6))
    cfg = dict(
        model_type="lfm2",
        hidden_size=heads * draw(st.sampled_from([4, 8])),
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv,
        **NO_TOKENS,
    )
    maybe(draw, cfg, "vocab_size", st.integers(16, 300))
    maybe(
        draw,
        cfg,
        draw(st.sampled_from(["tie_word_embeddings", "tie_embedding"])),
        st.booleans(),
    )
    maybe(draw, cfg, "head_dim", st.sampled_from([4, 8]))
    maybe(draw, cfg, "conv_L_cache", st.integers(2, 4))
    maybe(draw, cfg, "conv_bias", st.booleans())
    maybe(draw, cfg, "intermediate_size", st.integers(8, 96))
    maybe(draw, cfg, "block_ff_dim", st.integers(8, 96))
    maybe(draw, cfg, "block_auto_adjust_ff_dim", st.booleans())
    maybe(draw, cfg, "block_ffn_dim_multiplier", st.sampled_from([1.0, 1.5, 0.75, 2]))
    maybe(draw, cfg, "block_multiple_of", st.sampled_from([1, 8, 32]))
    if draw(st.booleans()):
        cfg["full_attn_idxs"] = draw(st.lists(st.integers(0, layers - 1), unique=True))
    else:
        _pattern(
            draw,
            cfg,
            layers,
            ["conv", "full_attention"],
            {"full_attention": "attention"},
        )
    return cfg


def configs(model_type: str):
    if model_type == "kimi_linear":
        return kimi_configs()
    if model_type == "lfm2":
        return lfm2_configs()
    return qwen_configs(model_type)


@pytest.mark.parametrize("model_type", TYPES)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_params_and_linears_equal_transformers(model_type, data):
    cfg = data.draw(configs(model_type), label="config")
    spec = ModelSpec.from_hf_config(cfg)
    model = meta_model(cfg)
    assert type(model).__name__.endswith("ForCausalLM")
    assert spec.param_count() == sum(p.numel() for p in model.parameters())
    assert spec.param_groups() == groups_by_name(model)
    assert spec_linears(spec) == linears_by_name(model)
    built = model.config.layer_types
    assert list(spec.layer_types) == list(built)


def test_class_defaults_alone():
    """Only the three required keys: every other size is the class default, read from
    the 5.24 source and recorded as defaulted."""
    for model_type in TYPES:
        cfg = dict(
            model_type=model_type,
            hidden_size=64,
            num_hidden_layers=5,
            num_attention_heads=16,
            **NO_TOKENS,
        )  # 16: a multiple of every default
        spec = ModelSpec.from_hf_config(cfg)
        model = meta_model(cfg)
        assert spec.param_count() == sum(p.numel() for p in model.parameters()), (
            model_type
        )
        assert spec.max_position_embeddings == model.config.max_position_embeddings
        assert "vocab_size" in spec.defaulted_keys


# ---- published shapes ----------------------------------------------------------------

_QWEN35_PATTERN = ["linear_attention"] * 3 + ["full_attention"]
PUBLISHED = {
    # https://huggingface.co/Qwen/Qwen3-Next-80B-A3B-Thinking/blob/main/config.json
    "Qwen3-Next-80B-A3B": dict(
        model_type="qwen3_next",
        vocab_size=151936,
        hidden_size=2048,
        num_hidden_layers=48,
        num_attention_heads=16,
        num_key_value_heads=2,
        head_dim=256,
        intermediate_size=5120,
        full_attention_interval=4,
        linear_conv_kernel_dim=4,
        linear_key_head_dim=128,
        linear_num_key_heads=16,
        linear_num_value_heads=32,
        linear_value_head_dim=128,
        decoder_sparse_step=1,
        mlp_only_layers=[],
        moe_intermediate_size=512,
        num_experts=512,
        num_experts_per_tok=10,
        shared_expert_intermediate_size=512,
        tie_word_embeddings=False,
        use_sliding_window=False,
    ),
    # text_config of https://huggingface.co/Qwen/Qwen3.5-27B/blob/main/config.json
    "Qwen3.5-27B": dict(
        model_type="qwen3_5_text",
        vocab_size=248320,
        hidden_size=5120,
        num_hidden_layers=64,
        num_attention_heads=24,
        num_key_value_heads=4,
        head_dim=256,
        intermediate_size=17408,
        attn_output_gate=True,
        layer_types=_QWEN35_PATTERN * 16,
        linear_conv_kernel_dim=4,
        linear_key_head_dim=128,
        linear_num_key_heads=16,
        linear_num_value_heads=48,
        linear_value_head_dim=128,
        mtp_num_hidden_layers=1,
    ),
    # text_config of https://huggingface.co/Qwen/Qwen3.5-35B-A3B/blob/main/config.json
    "Qwen3.5-35B-A3B": dict(
        model_type="qwen3_5_moe_text",
        vocab_size=248320,
        hidden_size=2048,
        num_hidden_layers=40,
        num_attention_heads=16,
        num_key_value_heads=2,
        head_dim=256,
        attn_output_gate=True,
        layer_types=_QWEN35_PATTERN * 10,
        linear_conv_kernel_dim=4,
        linear_key_head_dim=128,
        linear_num_key_heads=16,
        linear_num_value_heads=32,
        linear_value_head_dim=128,
        mlp_only_layers=[],
        moe_intermediate_size=512,
        num_experts=256,
        num_experts_per_tok=8,
        shared_expert_intermediate_size=512,
    ),
    # config.json of https://huggingface.co/moonshotai/Kimi-Linear-48B-A3B-Instruct
    "Kimi-Linear-48B-A3B": dict(
        model_type="kimi_linear",
        vocab_size=163840,
        hidden_size=2304,
        num_hidden_layers=27,
        num_attention_heads=32,
        num_key_value_heads=32,
        intermediate_size=9216,
        kv_lora_rank=512,
        q_lora_rank=None,
        qk_nope_head_dim=128,
        qk_rope_head_dim=64,
        v_head_dim=128,
        mla_use_nope=True,
        num_experts=256,
        num_experts_per_token=8,
        num_shared_experts=1,
        moe_intermediate_size=1024,
        first_k_dense_replace=1,
        moe_layer_freq=1,
        linear_attn_config=dict(
            head_dim=128,
            num_heads=32,
            short_conv_kernel_size=4,
            kda_layers=[i for i in range(1, 27) if i % 4],
            full_attn_layers=[4, 8, 12, 16, 20, 24, 27],
        ),
    ),
    # https://huggingface.co/LiquidAI/LFM2-1.2B/blob/main/config.json
    "LFM2-1.2B": dict(
        model_type="lfm2",
        vocab_size=65536,
        hidden_size=2048,
        num_hidden_layers=16,
        num_attention_heads=32,
        num_key_value_heads=8,
        block_ff_dim=12288,
        block_auto_adjust_ff_dim=True,
        block_multiple_of=256,
        conv_L_cache=3,
        conv_bias=False,
        full_attn_idxs=[2, 5, 8, 10, 12, 14],
        max_position_embeddings=128000,
    ),
}


@pytest.mark.parametrize("name", PUBLISHED)
def test_published_shapes_equal_transformers(name):
    cfg = dict(PUBLISHED[name], **NO_TOKENS)
    spec = ModelSpec.from_hf_config(cfg)
    model = meta_model(cfg)
    assert spec.param_count() == sum(p.numel() for p in model.parameters())
    assert spec.param_groups() == groups_by_name(model)


# ---- the cache after a real forward pass ---------------------------------------------


def _qwen(model_type: str, **extra) -> dict:
    cfg = dict(
        model_type=model_type,
        vocab_size=64,
        hidden_size=32,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=8,
        linear_num_key_heads=2,
        linear_num_value_heads=4,
        linear_key_head_dim=4,
        linear_value_head_dim=6,
        linear_conv_kernel_dim=3,
        **NO_TOKENS,
    )
    cfg.update(extra)
    return cfg


TINY = {
    "qwen3_next": _qwen(
        "qwen3_next",
        intermediate_size=24,
        num_experts=4,
        num_experts_per_tok=2,
        moe_intermediate_size=8,
        shared_expert_intermediate_size=8,
        mlp_only_layers=[1],
        full_attention_interval=2,
    ),
    "qwen3_5_text": _qwen(
        "qwen3_5_text",
        intermediate_size=24,
        layer_types=[
            "linear_attention",
            "full_attention",
            "linear_attention",
            "linear_attention",
        ],
    ),
    "qwen3_5_moe_text": _qwen(
        "qwen3_5_moe_text",
        num_experts=4,
        num_experts_per_tok=2,
        moe_intermediate_size=8,
        shared_expert_intermediate_size=8,
        linear_conv_kernel_dim=4,
    ),
    "kimi_linear": dict(
        model_type="kimi_linear",
        vocab_size=64,
        hidden_size=32,
        num_hidden_layers=5,
        num_attention_heads=4,
        kv_lora_rank=8,
        qk_nope_head_dim=4,
        qk_rope_head_dim=2,
        v_head_dim=6,
        intermediate_size=24,
        moe_intermediate_size=8,
        num_experts=4,
        num_experts_per_token=2,
        num_shared_experts=2,
        linear_attn_config=dict(
            num_heads=2,
            head_dim=4,
            short_conv_kernel_size=3,
            kda_layers=[1, 2, 4, 5],
            full_attn_layers=[3],
        ),
        **NO_TOKENS,
    ),
    "lfm2": dict(
        model_type="lfm2",
        vocab_size=64,
        hidden_size=32,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        block_ff_dim=96,
        block_multiple_of=8,
        full_attn_idxs=[1, 3],
        conv_L_cache=3,
        conv_bias=True,
        **NO_TOKENS,
    ),
}


@pytest.mark.parametrize("model_type", TYPES)
@pytest.mark.parametrize("tokens,batch,decode", [(2, 1, 0), (7, 2, 1), (70, 1, 2)])
def test_fp32_cache_equals_transformers(model_type, tokens, batch, decode):
    """fp32 model: keys, values, latents, conv and recurrent states all fp32, and the
    sum of every tensor the cache holds is vramlib's figure. 2 tokens is under every
    conv kernel (transformers pads the state to K columns), 70 is past the delta rule's
    64-token chunk."""
    cfg = TINY[model_type]
    _, cache = run_cache(cfg, tokens, batch, torch.float32, decode)
    spec = ModelSpec.from_hf_config(cfg)
    t = tokens + decode
    assert all(x.dtype == torch.float32 for x in cache_tensors(cache))
    assert cache_bytes(cache) == kv_cache_bytes(
        spec, tokens=t, batch=batch, dtype="fp32"
    )


def _recurrent_elements(spec: ModelSpec) -> int:
    """Elements of the recurrent states of one sequence, by hand from the config's
    sizes."""
    total = 0
    for layer in spec.layers:
        if layer.layer_type == "linear_attention":
            m = layer.mixer
            if hasattr(m, "value_heads"):  # gated DeltaNet: n_v heads of d_k x d_v
                total += m.value_heads * m.key_head_dim * m.value_head_dim
            else:  # KDA: n heads of d x d
                total += m.heads * m.head_dim**2
    return total


@pytest.mark.parametrize("model_type", TYPES)
@pytest.mark.parametrize("tokens,batch", [(3, 2), (9, 1)])
def test_bf16_cache_keeps_recurrent_states_in_fp32(model_type, tokens, batch):
    """bf16 model: transformers keeps keys, values, latents and conv states in bf16 but
    the recurrent states in fp32. vramlib in bf16 throughout is short by 2 bytes per
    recurrent element; asking for bf16 conv states and fp32 recurrent states (one part
    from each call) is exact."""
    cfg = TINY[model_type]
    _, cache = run_cache(cfg, tokens, batch, torch.bfloat16, 1)
    spec = ModelSpec.from_hf_config(cfg)
    t = tokens + 1
    held = cache_bytes(cache)
    all_bf16 = kv_cache_bytes(
        spec, tokens=t, batch=batch, dtype="bf16", state_dtype="bf16"
    )
    assert held - all_bf16 == _recurrent_elements(spec) * batch * (4 - 2)
    in_bf16 = cache_breakdown(
        spec, tokens=t, batch=batch, dtype="bf16", state_dtype="bf16"
    )
    in_fp32 = cache_breakdown(
        spec, tokens=t, batch=batch, dtype="bf16", state_dtype="fp32"
    )
    mixed = sum(
        n
        for kind in in_bf16.values()
        for part, n in kind.items()
        if part != "recurrent_state"
    )
    mixed += sum(kind.get("recurrent_state", 0) for kind in in_fp32.values())
    assert held == mixed
    fp32_states = [x for x in cache_tensors(cache) if x.dtype == torch.float32]
    assert sum(x.numel() for x in fp32_states) == _recurrent_elements(spec) * batch


@pytest.mark.parametrize("model_type", TYPES)
def test_states_do_not_grow_with_the_context(model_type):
    """Only the attention layers grow: two runs 5 tokens apart differ by 5 tokens' rows."""
    cfg = TINY[model_type]
    spec = ModelSpec.from_hf_config(cfg)
    sizes = [cache_bytes(run_cache(cfg, t, 1)[1]) for t in (4, 9)]
    per_token = sum(x.mixer.bytes_per_token(get_precision("fp32")) for x in spec.layers)
    assert sizes[1] - sizes[0] == 5 * per_token
    assert sizes[0] - 4 * per_token == state_bytes_per_sequence(spec, "fp32")


def shrink(model_type: str, cfg: dict) -> dict:
    """A generated config made runnable on the CPU in a moment: every size the class
    would default to made tiny, and the MLP and expert widths set to ones transformers'
    grouped expert kernels accept (rows of 16 bytes; Kimi's router wants two experts).
    """
    cfg = dict(cfg, vocab_size=cfg.get("vocab_size", 40))
    if model_type == "lfm2":
        return cfg
    cfg.update(intermediate_size=16, moe_intermediate_size=8)
    for key in ("shared_expert_intermediate_size",):
        cfg[key] = 8 if cfg.get(key, 8) else 0
    if model_type == "kimi_linear":
        for key, value in dict(
            kv_lora_rank=6,
            qk_rope_head_dim=2,
            qk_nope_head_dim=4,
            v_head_dim=4,
            linear_num_heads=2,
            linear_head_dim=4,
        ).items():
            cfg.setdefault(key, value)
        for key in ("num_experts", "num_local_experts"):
            if key in cfg:
                cfg[key] = max(cfg[key], 2)
        if "num_experts" not in cfg and "num_local_experts" not in cfg:
            cfg.update(num_experts=2, num_experts_per_token=1)
        return cfg
    for key, value in dict(
        head_dim=8, linear_key_head_dim=4, linear_value_head_dim=4
    ).items():
        cfg.setdefault(key, value)
    if "linear_num_key_heads" not in cfg:
        cfg.update(linear_num_key_heads=1, linear_num_value_heads=2)
    if model_type == "qwen3_5_moe_text":
        cfg.pop("intermediate_size")
    if model_type != "qwen3_5_text" and "num_experts" not in cfg:
        cfg.update(num_experts=2, num_experts_per_tok=1)
    return cfg


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(data=st.data())
def test_generated_caches_equal_transformers(data):
    """A few generated shapes per run (tiny models on the CPU), prefill then one decode
    step."""
    model_type = data.draw(st.sampled_from(TYPES), label="model_type")
    cfg = shrink(model_type, data.draw(configs(model_type), label="config"))
    spec = ModelSpec.from_hf_config(cfg)
    # transformers 5.24 cannot run a cache without one attention layer (get_seq_length)
    assume("full_attention" in spec.layer_types)
    tokens = data.draw(st.integers(1, 12), label="tokens")
    batch = data.draw(st.integers(1, 2), label="batch")
    _, cache = run_cache(cfg, tokens, batch, torch.float32, 1)
    assert cache_bytes(cache) == kv_cache_bytes(
        spec, tokens=tokens + 1, batch=batch, dtype="fp32"
    )
