"""Linear-attention and short-convolution layers, and the hybrids' readers.

Expected values are arithmetic written out here from the modules transformers 5.24
builds (modeling_qwen3_next.py, modeling_qwen3_5.py, modeling_kimi_linear.py,
modeling_lfm2.py); tests/validate/test_linear.py checks the same code against
transformers itself.
"""

from __future__ import annotations

import pytest

from vramlib.kv import cache_breakdown, kv_bytes_per_token, state_bytes_per_sequence
from vramlib.layers.attention import Attention
from vramlib.layers.conv import ShortConv
from vramlib.layers.linear import (
    QWEN3_5_NAMES,
    QWEN3_NEXT_NAMES,
    GatedDeltaNet,
    KimiDeltaAttention,
)
from vramlib.models import ModelSpec
from vramlib.precisions import get_precision

FP32, BF16 = get_precision("fp32"), get_precision("bf16")


# ---- the units -----------------------------------------------------------------------


def test_gated_deltanet_by_hand():
    # H=8, n_k=2 key heads of d_k=3, n_v=4 value heads of d_v=5, K=4 taps
    m = GatedDeltaNet(8, 2, 4, 3, 5, 4)
    dk, dv = 2 * 3, 4 * 5
    conv = 2 * dk + dv  # 32 channels: q, k, v
    assert m.conv_channels == conv
    assert m.params() == {
        "attention": 8 * (2 * dk + 2 * dv) + 2 * 8 * 4 + dv * 8,
        "norm": conv * 4 + 4 + 4 + 5,
    }
    assert m.cache_bytes(10**6, BF16, FP32) == {
        "conv_state": conv * 4 * 4,
        "recurrent_state": 4 * 3 * 5 * 4,
    }
    assert m.cache_bytes(1, BF16, BF16) == {
        "conv_state": conv * 4 * 2,
        "recurrent_state": 4 * 3 * 5 * 2,
    }
    assert m.bytes_per_token(BF16) == 0
    assert m.layer_type == "linear_attention"


def test_gated_deltanet_names():
    fused = GatedDeltaNet(8, 2, 4, 3, 5, 4)
    split = GatedDeltaNet(8, 2, 4, 3, 5, 4, names=QWEN3_5_NAMES)
    assert [(x.name, x.in_features, x.out_features) for x in fused.linears()] == [
        ("in_proj_qkvz", 8, 52),
        ("in_proj_ba", 8, 8),
        ("out_proj", 20, 8),
    ]
    assert [(x.name, x.in_features, x.out_features) for x in split.linears()] == [
        ("in_proj_qkv", 8, 32),
        ("in_proj_z", 8, 20),
        ("in_proj_b", 8, 4),
        ("in_proj_a", 8, 4),
        ("out_proj", 20, 8),
    ]
    assert {x.kind for x in split.linears()} == {"mixer"}
    assert fused.params() == split.params()
    assert fused.names == QWEN3_NEXT_NAMES


def test_gated_deltanet_refusals():
    with pytest.raises(ValueError, match="multiple of key heads"):
        GatedDeltaNet(8, 3, 4, 3, 5, 4)
    with pytest.raises(ValueError, match="names must be"):
        GatedDeltaNet(8, 2, 4, 3, 5, 4, names=("qkv", "out"))
    with pytest.raises(ValueError, match="conv_kernel"):
        GatedDeltaNet(8, 2, 4, 3, 5, 0)


def test_kimi_delta_attention_by_hand():
    # H=8, n=2 heads of d=3, K=4 taps
    m = KimiDeltaAttention(8, 2, 3, 4)
    inner = 2 * 3
    projections = 4 * 8 * inner + 8 * 2 + 2 * (8 * 3 + 3 * inner)  # qkvo, b, f and g
    assert m.params() == {
        "attention": projections,
        "norm": 3 * inner * 4 + inner + 2 + 3,
    }
    assert m.cache_bytes(5, BF16, FP32) == {
        "conv_state": 3 * inner * 4 * 4,
        "recurrent_state": 2 * 3 * 3 * 4,
    }
    assert [x.name for x in m.linears()] == [
        "q_proj",
        "k_proj",
        "v_proj",
        "b_proj",
        "f_a_proj",
        "f_b_proj",
        "g_a_proj",
        "g_b_proj",
        "o_proj",
    ]


def test_published_state_sizes_in_the_docstrings():
    # Qwen3-Next-80B-A3B: n_k=16, n_v=32, d_k=d_v=128, K=4
    gdn = GatedDeltaNet(2048, 16, 32, 128, 128, 4)
    assert (gdn.conv_channels, gdn.conv_channels * 4) == (8192, 32768)
    assert gdn.recurrent_elements == 32 * 128 * 128 == 524288
    # Kimi-Linear-48B-A3B: n=32, d=128, K=4
    kda = KimiDeltaAttention(2304, 32, 128, 4)
    assert kda.conv_channels * 4 == 3 * 4096 * 4 == 49152
    assert kda.recurrent_elements == 524288
    # LFM2-1.2B: H=2048, K=3
    assert ShortConv(2048, 3).cache_bytes(0, FP32, FP32)["conv_state"] == 6144 * 4


def test_short_conv_by_hand():
    plain, biased = ShortConv(8, 3), ShortConv(8, 3, bias=True)
    assert plain.params() == {"attention": 8 * 24 + 8 * 8, "bias": 0, "norm": 8 * 3}
    assert biased.params() == {
        "attention": 8 * 24 + 8 * 8,
        "bias": 24 + 8,
        "norm": 8 * 3 + 8,
    }
    assert plain.cache_bytes(100, BF16, BF16) == {"conv_state": 8 * 3 * 2}
    assert plain.layer_type == "conv"
    assert [
        (x.name, x.in_features, x.out_features, x.bias) for x in biased.linears()
    ] == [("in_proj", 8, 24, True), ("out_proj", 8, 8, True)]
    with pytest.raises(TypeError, match="bias"):
        ShortConv(8, 3, bias=1)


def test_attention_output_gate():
    # H=8, 2 query heads and 1 KV head of 4: q is 8 wide, doubled for the gate
    gated = Attention(8, 2, 1, 4, qkv_bias=True, o_bias=True, output_gate=True)
    plain = Attention(8, 2, 1, 4, qkv_bias=True, o_bias=True)
    assert gated.params()["attention"] == 8 * 16 + 8 * 8 + 2 * 8 * 4
    assert gated.params()["bias"] == 16 + 2 * 4 + 8
    assert gated.params()["attention"] - plain.params()["attention"] == 8 * 8
    assert gated.linears()[0].out_features == 16
    assert gated.cache_bytes(3, FP32, FP32) == plain.cache_bytes(3, FP32, FP32)


# ---- readers -------------------------------------------------------------------------


def small_next(**extra) -> dict:
    cfg = dict(
        model_type="qwen3_next",
        vocab_size=10,
        hidden_size=8,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=4,
        intermediate_size=6,
        num_experts=0,
        linear_num_key_heads=1,
        linear_num_value_heads=2,
        linear_key_head_dim=2,
        linear_value_head_dim=3,
        linear_conv_kernel_dim=2,
        full_attention_interval=2,
    )
    cfg.update(extra)
    return cfg


def test_qwen3_next_small_model_by_hand():
    spec = ModelSpec.from_hf_config(small_next())
    assert spec.layer_types == ("linear_attention", "full_attention")
    dk, dv = 1 * 2, 2 * 3
    conv = 2 * dk + dv
    delta = 8 * (2 * dk + 2 * dv) + 2 * 8 * 2 + dv * 8 + conv * 2 + 2 * 2 + 3
    attention = 8 * 16 + 8 * 8 + 2 * 8 * 4 + 2 * 4  # gated q, o, k, v, q/k norms
    mlp = 3 * 8 * 6
    assert spec.param_count() == 2 * 10 * 8 + 8 + delta + attention + 2 * (mlp + 2 * 8)
    # the state (conv C*K + recurrent n_v d_k d_v) and the one attention layer's K and V
    assert state_bytes_per_sequence(spec, "bf16") == (conv * 2 + 2 * 2 * 3) * 2
    assert kv_bytes_per_token(spec, "bf16") == 2 * 1 * 4 * 2
    parts = cache_breakdown(spec, tokens=5, batch=3, dtype="bf16", state_dtype="fp32")
    assert parts == {
        "linear_attention": {
            "conv_state": 3 * conv * 2 * 4,
            "recurrent_state": 3 * 12 * 4,
        },
        "full_attention": {"keys": 3 * 5 * 4 * 2, "values": 3 * 5 * 4 * 2},
    }


def test_qwen3_next_experts_and_names():
    spec = ModelSpec.from_hf_config(
        small_next(
            num_experts=4,
            num_experts_per_tok=2,
            moe_intermediate_size=3,
            shared_expert_intermediate_size=5,
            mlp_only_layers=[0],
        )
    )
    assert spec.mlp_layer_types == ("dense", "moe")
    moe = (
        4 * 3 * 8 * 3 + 3 * 8 * 5 + 4 * 8 + 8
    )  # experts, shared expert, router, its gate
    dense = small_next()
    assert spec.param_count() - ModelSpec.from_hf_config(dense).param_count() == (
        moe - 3 * 8 * 6
    )
    names = {x.name for x in spec.linear_modules()}
    assert {
        "in_proj_qkvz",
        "in_proj_ba",
        "out_proj",
        "q_proj",
        "o_proj",
        "gate",
        "gate_up_proj",
        "shared_expert_gate",
        "lm_head",
    } <= names


def test_qwen3_next_80b_state_and_kv_per_token():
    cfg = dict(
        model_type="qwen3_next",
        hidden_size=2048,
        num_hidden_layers=48,
        num_attention_heads=16,
    )  # every other size the class default, as published
    spec = ModelSpec.from_hf_config(cfg)
    assert spec.layer_types.count("full_attention") == 12
    per_layer = 8192 * 4 + 32 * 128 * 128
    assert state_bytes_per_sequence(spec, "bf16") == 36 * per_layer * 2
    assert kv_bytes_per_token(spec, "bf16") == 12 * 2 * 2 * 256 * 2


def test_qwen3_5_reads_its_split_projections_and_mtp():
    cfg = small_next(
        model_type="qwen3_5_text", mtp_num_hidden_layers=1, attn_output_gate=True
    )
    del cfg["num_experts"]
    spec = ModelSpec.from_hf_config(cfg)
    assert spec.mtp_layers == 1
    assert {"in_proj_qkv", "in_proj_z", "in_proj_b", "in_proj_a"} <= {
        x.name for x in spec.linear_modules()
    }
    assert spec.param_count() == ModelSpec.from_hf_config(small_next()).param_count()


def test_qwen3_5_moe_has_experts_everywhere():
    cfg = small_next(
        model_type="qwen3_5_moe_text",
        num_experts=4,
        num_experts_per_tok=1,
        moe_intermediate_size=3,
        shared_expert_intermediate_size=5,
    )
    del cfg["intermediate_size"]
    spec = ModelSpec.from_hf_config(cfg)
    assert spec.mlp_layer_types == ("moe", "moe")
    assert spec.intermediate_size == 3  # no dense MLP: the expert width stands in


@pytest.mark.parametrize("model_type", ["qwen3_next", "qwen3_5_text"])
def test_qwen_legacy_layer_names_are_renamed(model_type):
    cfg = small_next(model_type=model_type, layer_types=["mamba", "attention"])
    assert ModelSpec.from_hf_config(cfg).layer_types == (
        "linear_attention",
        "full_attention",
    )


@pytest.mark.parametrize(
    "extra,words",
    [
        (
            dict(layer_types=["linear_attention", "sliding_attention"]),
            "'sliding_attention' for layer 1.*linear_attention, full_attention",
        ),
        (dict(attn_output_gate=False), "'attn_output_gate' is False.*output-gated"),
        (dict(use_sliding_window=True), "'use_sliding_window'"),
        (dict(linear_num_value_heads=3, linear_num_key_heads=2), "multiple of"),
        (dict(layer_types=["full_attention"]), "list of 2 entries"),
    ],
)
def test_qwen_refusals(extra, words):
    with pytest.raises(ValueError, match=words):
        ModelSpec.from_hf_config(small_next(model_type="qwen3_5_text", **extra))


def test_qwen3_5_moe_refuses_dense_layers_it_would_not_build():
    cfg = small_next(
        model_type="qwen3_5_moe_text",
        num_experts=2,
        num_experts_per_tok=1,
        mlp_only_layers=[0],
    )
    with pytest.raises(ValueError, match="'mlp_only_layers'.*experts in every layer"):
        ModelSpec.from_hf_config(cfg)


def small_kimi(**extra) -> dict:
    cfg = dict(
        model_type="kimi_linear",
        vocab_size=10,
        hidden_size=8,
        num_hidden_layers=3,
        num_attention_heads=2,
        kv_lora_rank=4,
        qk_nope_head_dim=2,
        qk_rope_head_dim=2,
        v_head_dim=3,
        intermediate_size=6,
        moe_intermediate_size=3,
        num_experts=4,
        num_experts_per_token=2,
        num_shared_experts=2,
        linear_attn_config=dict(
            num_heads=2,
            head_dim=3,
            short_conv_kernel_size=4,
            kda_layers=[1, 3],
            full_attn_layers=[2],
        ),
    )
    cfg.update(extra)
    return cfg


def test_kimi_linear_small_model_by_hand():
    spec = ModelSpec.from_hf_config(small_kimi())
    assert spec.layer_types == (
        "linear_attention",
        "full_attention",
        "linear_attention",
    )
    assert spec.mlp_layer_types == ("dense", "moe", "moe")  # first_k_dense_replace = 1
    inner = 2 * 3
    kda = (4 * 8 * inner + 8 * 2 + 2 * (8 * 3 + 3 * inner)) + (
        3 * inner * 4 + inner + 2 + 3
    )
    mla = (
        8 * 2 * 4 + 8 * (4 + 2) + 4 * 2 * (2 + 3) + 2 * 3 * 8
    ) + 4  # q, kv_a, kv_b, o, norm
    dense = 3 * 8 * 6
    moe = 4 * 3 * 8 * 3 + 3 * 8 * (3 * 2) + 4 * 8  # experts, 2 shared experts, router
    assert spec.param_count() == (
        2 * 10 * 8 + 8 + 2 * kda + mla + dense + 2 * moe + 3 * 2 * 8
    )
    # latent per token: kv_lora_rank + rope; states: conv 3*n*d*K, recurrent n*d*d
    assert kv_bytes_per_token(spec, "bf16") == (4 + 2) * 2
    assert state_bytes_per_sequence(spec, "fp32") == 2 * (3 * inner * 4 + 2 * 3 * 3) * 4


def test_kimi_linear_reads_transformers_own_keys_too():
    sub = small_kimi()
    own = small_kimi(
        linear_num_heads=2,
        linear_head_dim=3,
        linear_conv_kernel_dim=4,
        num_local_experts=4,
        num_experts_per_tok=2,
        n_shared_experts=2,
        layer_types=["linear_attention", "full_attention", "linear_attention"],
    )
    for key in (
        "linear_attn_config",
        "num_experts",
        "num_experts_per_token",
        "num_shared_experts",
    ):
        del own[key]
    assert ModelSpec.from_hf_config(own).param_count() == (
        ModelSpec.from_hf_config(sub).param_count()
    )
    # the sub-object wins over transformers' key, as KimiLinearConfig does
    both = small_kimi(linear_num_heads=7)
    assert ModelSpec.from_hf_config(both).param_count() == (
        ModelSpec.from_hf_config(sub).param_count()
    )
    # neither: KimiLinearConfig's pattern, full attention at 0-based layers 4, 8, ...
    plain = small_kimi(num_hidden_layers=6)
    del plain["linear_attn_config"]
    assert ModelSpec.from_hf_config(plain).layer_types == (
        ("linear_attention",) * 4 + ("full_attention", "linear_attention")
    )


@pytest.mark.parametrize(
    "extra,words",
    [
        (dict(tie_word_embeddings=True), "'tie_word_embeddings' is True.*never ties"),
        (dict(mla_use_output_gate=True), "'mla_use_output_gate'"),
        (dict(routed_expert_hidden_size=16), "'routed_expert_hidden_size'"),
        (dict(attn_res_block_size=12), "'attn_res_block_size'"),
        (dict(moe_layer_freq=2), "'moe_layer_freq' is 2"),
        (dict(num_experts=4, num_local_experts=8), "disagree"),
        (
            dict(mlp_layer_types=["dense", "moe", "dense"]),
            "'moe' for layer 1.*'dense' or 'sparse'",
        ),
    ],
)
def test_kimi_linear_refusals(extra, words):
    with pytest.raises(ValueError, match=words):
        ModelSpec.from_hf_config(small_kimi(**extra))


@pytest.mark.parametrize(
    "sub,words",
    [
        (dict(use_full_rank_gate=True), "use_full_rank_gate"),
        (dict(kda_layers=[1], full_attn_layers=[2]), "layer 3 in neither"),
        (dict(kda_layers=[1, 3], full_attn_layers=[2, 4]), "names layer 4"),
    ],
)
def test_kimi_linear_sub_object_refusals(sub, words):
    cfg = small_kimi()
    cfg["linear_attn_config"] = dict(cfg["linear_attn_config"], **sub)
    with pytest.raises(ValueError, match=words):
        ModelSpec.from_hf_config(cfg)


def small_lfm2(**extra) -> dict:
    cfg = dict(
        model_type="lfm2",
        vocab_size=10,
        hidden_size=8,
        num_hidden_layers=3,
        num_attention_heads=2,
        num_key_value_heads=1,
        full_attn_idxs=[1],
        intermediate_size=12,
        block_multiple_of=4,
        conv_L_cache=3,
    )
    cfg.update(extra)
    return cfg


def test_lfm2_small_model_by_hand():
    spec = ModelSpec.from_hf_config(small_lfm2())
    assert spec.layer_types == ("conv", "full_attention", "conv")
    width = 4 * -(
        -int(1.0 * (2 * 12 // 3)) // 4
    )  # 2/3 of 12, times 1.0, up to a multiple of 4
    assert spec.intermediate_size == width == 8
    conv = 8 * 24 + 8 * 8 + 8 * 3
    attention = 2 * 8 * 8 + 2 * 8 * 4 + 2 * 4  # q and out, k and v, q/k norms of d_h=4
    assert spec.param_count() == (
        10 * 8 + 8 + 2 * conv + attention + 3 * (3 * 8 * 8) + 3 * 2 * 8
    )  # tied by default; embedding_norm
    assert state_bytes_per_sequence(spec, "bf16") == 2 * 8 * 3 * 2
    assert {x.name for x in spec.linear_modules()} == {
        "lm_head",  # a module even when tied
        "in_proj",
        "out_proj",
        "q_proj",
        "k_proj",
        "v_proj",
        "w1",
        "w3",
        "w2",
    }


def test_lfm2_width_and_renamed_keys():
    # LFM2-1.2B: block_ff_dim 12288 -> 2/3 = 8192, a multiple of 256 already
    spec = ModelSpec.from_hf_config(
        small_lfm2(block_ff_dim=12288, block_multiple_of=256, intermediate_size=999)
    )
    assert spec.intermediate_size == 8192
    odd = ModelSpec.from_hf_config(
        small_lfm2(
            intermediate_size=100, block_ffn_dim_multiplier=1.5, block_multiple_of=32
        )
    )
    assert odd.intermediate_size == 32 * -(-int(1.5 * (200 // 3)) // 32) == 128
    kept = ModelSpec.from_hf_config(small_lfm2(block_auto_adjust_ff_dim=False))
    assert kept.intermediate_size == 12
    assert not ModelSpec.from_hf_config(
        small_lfm2(tie_embedding=False)
    ).tie_word_embeddings
    every = small_lfm2()
    del every["full_attn_idxs"]
    assert ModelSpec.from_hf_config(every).layer_types == ("full_attention",) * 3
    assert ModelSpec.from_hf_config(small_lfm2(head_dim=2)).head_dim == 2


@pytest.mark.parametrize(
    "kinds,words",
    [
        (
            ["conv", "linear_attention", "conv"],
            "'linear_attention' for layer 1.*conv, full_attention",
        ),
        (["conv", "mamba", "conv"], "'linear_attention' for layer 1"),
        (["conv", "sliding_attention", "conv"], "'sliding_attention'"),
    ],
)
def test_lfm2_refuses_layer_kinds_it_does_not_build(kinds, words):
    with pytest.raises(ValueError, match=words):
        ModelSpec.from_hf_config(small_lfm2(layer_types=kinds))


@pytest.mark.parametrize(
    "model_type",
    ["qwen3_next", "qwen3_5_text", "qwen3_5_moe_text", "kimi_linear", "lfm2"],
)
def test_supported_and_not_suggested_as_another(model_type):
    from vramlib.models import SUPPORTED_MODEL_TYPES

    assert model_type in SUPPORTED_MODEL_TYPES
