"""State-space and hybrid models: Mamba mixers, Nemotron-H, Granite 4.0-H, Falcon-H1,
Jamba.

Expected values are arithmetic written out here on the config values (tests/validate
checks the same code against transformers itself); refusals name the key and what is
accepted.
"""

from __future__ import annotations

import pytest

from vramlib.kv import (
    cache_breakdown,
    kv_bytes_per_token,
    kv_cache_bytes,
    state_bytes_per_sequence,
)
from vramlib.layers.ffn import MoE
from vramlib.layers.ssm import Mamba1, Mamba2, NoMixer
from vramlib.models import ModelSpec
from vramlib.precisions import get_precision

FP32, BF16 = get_precision("fp32"), get_precision("bf16")

# the keys that shape NVIDIA-Nemotron-3-Nano-30B-A3B-BF16, from its config.json:
NANO_SOURCE = (
    "https://huggingface.co/nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16"
    "/blob/main/config.json"
)
NEMOTRON_3_NANO = {
    "model_type": "nemotron_h",
    "vocab_size": 131072,
    "hidden_size": 2688,
    "hybrid_override_pattern": "MEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEMEM*EMEMEMEME",
    "num_hidden_layers": 52,
    "num_attention_heads": 32,
    "num_key_value_heads": 2,
    "head_dim": 128,
    "mamba_num_heads": 64,
    "mamba_head_dim": 64,
    "n_groups": 8,
    "ssm_state_size": 128,
    "conv_kernel": 4,
    "use_conv_bias": True,
    "use_bias": False,
    "intermediate_size": 1856,
    "mlp_bias": False,
    "n_routed_experts": 128,
    "num_experts_per_tok": 6,
    "moe_intermediate_size": 1856,
    "moe_shared_expert_intermediate_size": 3712,
    "tie_word_embeddings": False,
    "max_position_embeddings": 262144,
}
NANO_LAYERS = dict(mamba=23, moe=23, attention=6)  # counted in the pattern above


def tiny(model_type: str, **extra) -> dict:
    base = {
        "mamba2": dict(
            hidden_size=16, num_hidden_layers=2, num_heads=4, head_dim=8, vocab_size=50
        ),
        "nemotron_h": dict(
            hidden_size=16,
            hybrid_override_pattern="M*-E",
            num_attention_heads=2,
            num_key_value_heads=1,
            head_dim=8,
            mamba_num_heads=2,
            mamba_head_dim=4,
            n_groups=1,
            ssm_state_size=3,
            conv_kernel=2,
            intermediate_size=10,
            n_routed_experts=4,
            num_experts_per_tok=2,
            moe_intermediate_size=6,
            moe_shared_expert_intermediate_size=5,
            vocab_size=50,
        ),
        "granitemoehybrid": dict(
            hidden_size=16,
            num_hidden_layers=2,
            num_attention_heads=2,
            layer_types=["mamba", "attention"],
            mamba_n_heads=4,
            mamba_d_state=3,
            mamba_d_conv=2,
            vocab_size=50,
            intermediate_size=6,
            shared_intermediate_size=5,
            num_local_experts=4,
            num_experts_per_tok=2,
        ),
        "falcon_h1": dict(
            hidden_size=16,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=1,
            mamba_d_ssm=None,
            mamba_n_heads=4,
            mamba_d_state=3,
            mamba_d_conv=2,
            intermediate_size=10,
            vocab_size=50,
        ),
        "jamba": dict(
            hidden_size=16,
            num_hidden_layers=4,
            num_attention_heads=2,
            num_key_value_heads=1,
            attn_layer_period=4,
            attn_layer_offset=2,
            expert_layer_period=2,
            expert_layer_offset=1,
            num_experts=4,
            num_experts_per_tok=2,
            mamba_d_state=3,
            mamba_d_conv=2,
            intermediate_size=10,
            vocab_size=50,
        ),
    }[model_type]
    return {"model_type": model_type, **base, **extra}


# ---- the units, by hand --------------------------------------------------------------


def test_mamba2_parameters_and_states_by_hand():
    # H = 4, n_h = 2 heads of P = 4 (d_in = 8), G = 1 group, N = 3, K = 2
    m = Mamba2(hidden=4, heads=2, head_dim=4, state_size=3, groups=1, conv_kernel=2)
    conv_channels = 8 + 2 * 1 * 3  # x, B, C: 14
    in_proj = 4 * (2 * 8 + 2 * 1 * 3 + 2)  # z, x, B, C, dt: 4 x 24
    assert m.params() == {
        "attention": in_proj + 8 * 4,
        "bias": 0,
        "norm": 14 * 2 + 14 + 3 * 2 + 8,
    }  # conv w+b, dt_bias A_log D, norm
    assert m.cache_bytes(10**6, BF16, FP32) == {
        "conv_state": conv_channels * 2 * 4,
        "recurrent_state": 2 * 4 * 3 * 4,
    }
    assert m.bytes_per_token(BF16) == 0
    assert [(x.name, x.in_features, x.out_features) for x in m.linears()] == [
        ("in_proj", 4, 24),
        ("out_proj", 8, 4),
    ]


def test_mamba2_biases_and_no_gated_norm():
    m = Mamba2(
        4, 2, 4, 3, 1, 2, in_bias=True, out_bias=True, conv_bias=False, gated_norm=False
    )
    assert m.params()["bias"] == 24 + 4
    assert m.params()["norm"] == 14 * 2 + 3 * 2


def test_mamba1_parameters_and_states_by_hand():
    # Jamba-style: H = 4, d_in = 8, N = 3, K = 2, dt rank R = 1
    m = Mamba1(hidden=4, inner=8, state_size=3, conv_kernel=2, dt_rank=1)
    attention = 4 * 16 + 8 * (1 + 6) + 1 * 8 + 8 * 4  # in, x, dt, out projections
    norm = 8 * 2 + 8 + 8 * 3 + 8 + (1 + 3 + 3)  # conv w+b, A_log, D, dt/B/C norms
    assert m.params() == {"attention": attention, "bias": 8, "norm": norm}
    assert m.cache_bytes(5, BF16, BF16) == {
        "conv_state": 8 * 2 * 2,
        "recurrent_state": 8 * 3 * 2,
    }
    assert [x.name for x in m.linears()] == ["in_proj", "x_proj", "dt_proj", "out_proj"]


def test_plain_latent_experts_by_hand():
    # Nemotron-style: E = 4 plain experts of 6 in a latent of 3, shared expert 5, biases
    moe = MoE(
        hidden=8,
        experts=4,
        top_k=2,
        width=6,
        shared_width=5,
        gated=False,
        latent=3,
        mlp_bias=True,
    )
    assert moe.expert_params() == 2 * 3 * 6
    assert moe.params() == {
        "mlp": 4 * 36 + 2 * 8 * 5 + 2 * 8 * 3,
        "router": 4 * 8,
        "bias": (5 + 8) + (3 + 8),
    }
    names = [
        (x.name, x.in_features, x.out_features, x.count, x.kind) for x in moe.linears()
    ]
    assert names == [
        ("gate", 8, 4, 1, "router"),
        ("up_proj", 3, 6, 4, "expert"),
        ("down_proj", 6, 3, 4, "expert"),
        ("fc1_latent_proj", 8, 3, 1, "mlp"),
        ("fc2_latent_proj", 3, 8, 1, "mlp"),
        ("up_proj", 8, 5, 1, "shared_expert"),
        ("down_proj", 5, 8, 1, "shared_expert"),
    ]


def test_default_experts_keep_their_old_shape():
    moe = MoE(hidden=8, experts=4, top_k=2, width=6, shared_width=5)
    assert moe.params()["mlp"] == 4 * 3 * 8 * 6 + 3 * 8 * 5
    assert [x.name for x in moe.linears()] == [
        "gate",
        "gate_up_proj",
        "down_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    ]


def test_no_mixer_keeps_nothing():
    m = NoMixer("moe")
    assert (m.layer_type, m.params(), m.cache_bytes(9, BF16, BF16), m.linears()) == (
        "moe",
        {},
        {},
        (),
    )


# ---- Nemotron-3 Nano, by arithmetic --------------------------------------------------


def test_nemotron_3_nano_by_arithmetic():
    H, V = 2688, 131072
    d_in, C = 64 * 64, 64 * 64 + 2 * 8 * 128
    mamba = H * (2 * d_in + 2 * 8 * 128 + 64) + d_in * H + C * 4 + C + 3 * 64 + d_in
    attention = 2 * H * 32 * 128 + 2 * H * 2 * 128
    moe = 128 * 2 * H * 1856 + 128 * H + 2 * H * 3712
    n = NANO_LAYERS
    layers = n["mamba"] * mamba + n["attention"] * attention + n["moe"] * moe + 52 * H
    spec = ModelSpec.from_hf_config(NEMOTRON_3_NANO)
    assert spec.param_count() == 2 * V * H + layers + H == 31_577_937_344
    skipped = n["moe"] * (128 - 6) * 2 * H * 1856
    assert spec.active_param_count() == spec.param_count() - skipped
    assert spec.is_moe and spec.mlp_gated is False and spec.num_hidden_layers == 52


def test_nemotron_3_nano_cache_by_arithmetic():
    spec = ModelSpec.from_hf_config(NEMOTRON_3_NANO)
    n = NANO_LAYERS
    conv, ssm = (64 * 64 + 2 * 8 * 128) * 4, 64 * 64 * 128  # elements per Mamba layer
    assert kv_bytes_per_token(spec, "bf16") == n["attention"] * 2 * 2 * 128 * 2
    assert state_bytes_per_sequence(spec, "bf16") == n["mamba"] * (conv + ssm) * 2
    assert (
        state_bytes_per_sequence(spec, "bf16", "fp32") == n["mamba"] * (conv + ssm) * 4
    )
    tokens, batch = 8192, 3
    expected = batch * (
        tokens * n["attention"] * 2 * 2 * 128 * 2 + n["mamba"] * (conv + ssm) * 2
    )
    assert kv_cache_bytes(spec, tokens=tokens, batch=batch, dtype="bf16") == expected
    parts = cache_breakdown(spec, tokens=tokens, batch=batch, dtype="bf16")
    assert parts["linear_attention"] == {
        "conv_state": batch * n["mamba"] * conv * 2,
        "recurrent_state": batch * n["mamba"] * ssm * 2,
    }
    assert (
        parts["full_attention"]["keys"] == batch * tokens * n["attention"] * 2 * 128 * 2
    )
    assert parts["moe"] == {}


def test_nemotron_layer_kinds_follow_the_pattern():
    spec = ModelSpec.from_hf_config(tiny("nemotron_h"))
    assert spec.layer_types == ("linear_attention", "full_attention", "mlp", "moe")
    assert spec.mlp_layer_types == ("none", "none", "dense", "moe")
    listed = tiny("nemotron_h", layers_block_type=["mamba", "attention", "mlp", "moe"])
    del listed["hybrid_override_pattern"]
    assert ModelSpec.from_hf_config(listed).param_count() == spec.param_count()


# ---- the other types, by arithmetic --------------------------------------------------


def test_mamba2_model_by_arithmetic():
    spec = ModelSpec.from_hf_config(
        tiny("mamba2")
    )  # class defaults: N 128, G 8, K 4, expand 2
    d_in, C = 32, 32 + 2 * 8 * 128
    layer = 16 * (d_in + C + 4) + d_in * 16 + C * 4 + C + 3 * 4 + d_in + 16
    assert spec.param_count() == 2 * 50 * 16 + 2 * layer + 16
    assert spec.layer_types == ("linear_attention",) * 2
    assert kv_bytes_per_token(spec) == 0
    assert kv_cache_bytes(spec, tokens=1, dtype="fp32") == 2 * (C * 4 + 4 * 8 * 128) * 4
    assert set(spec.defaulted_keys) >= {
        "state_size",
        "n_groups",
        "conv_kernel",
        "expand",
    }


def test_granite_dense_and_experts_by_arithmetic():
    # Mamba: d_in = 2 x 16 = 32 in 4 heads of 8; G = 1, N = 3, K = 2; attention d_h 8
    C = 32 + 2 * 3
    mamba = 16 * (32 + C + 4) + 32 * 16 + C * 2 + C + 3 * 4 + 32
    attention = 2 * 16 * 16 + 2 * 16 * 16
    shared = 3 * 16 * 5
    experts = 4 * 3 * 16 * 6 + 4 * 16
    spec = ModelSpec.from_hf_config(tiny("granitemoehybrid"))
    assert (
        spec.param_count()
        == 2 * 50 * 16 + mamba + attention + 2 * (shared + experts + 2 * 16) + 16
    )
    dense = ModelSpec.from_hf_config(tiny("granitemoehybrid", num_local_experts=0))
    assert (
        dense.param_count()
        == 2 * 50 * 16 + mamba + attention + 2 * (shared + 2 * 16) + 16
    )
    names = {x.name for x in spec.linear_modules()}
    assert {
        "input_linear",
        "output_linear",
        "router",
        "gate_up_proj",
        "in_proj",
        "q_proj",
    } <= names


def test_falcon_h1_runs_attention_and_mamba_side_by_side():
    spec = ModelSpec.from_hf_config(tiny("falcon_h1"))
    C = 32 + 2 * 3
    mamba = 16 * (32 + C + 4) + 32 * 16 + C * 2 + C + 3 * 4  # no gated norm by default
    attention = 2 * 16 * 16 + 2 * 16 * 8
    layer = mamba + attention + 3 * 16 * 10 + 2 * 16
    assert spec.param_count() == 2 * 50 * 16 + 2 * layer + 16
    assert spec.layer_types == ("hybrid", "hybrid")
    t = 100
    assert (
        kv_cache_bytes(spec, tokens=t, dtype="fp32")
        == 2 * (2 * t * 8 + C * 2 + 4 * 8 * 3) * 4
    )
    assert cache_breakdown(spec, tokens=t, dtype="fp32")["hybrid"].keys() == {
        "keys",
        "values",
        "conv_state",
        "recurrent_state",
    }
    assert (
        ModelSpec.from_hf_config(tiny("falcon_h1", mamba_d_ssm=16)).param_count()
        < spec.param_count()
    )


def test_jamba_places_attention_and_experts_by_period():
    spec = ModelSpec.from_hf_config(tiny("jamba"))
    assert spec.layer_types == (
        "linear_attention",
        "linear_attention",
        "full_attention",
        "linear_attention",
    )
    assert spec.mlp_layer_types == ("dense", "moe", "dense", "moe")
    one = ModelSpec.from_hf_config(tiny("jamba", num_experts=1))
    assert one.mlp_layer_types == ("dense",) * 4 and not one.is_moe
    assert {"x_proj", "dt_proj", "router"} <= {x.name for x in spec.linear_modules()}


# ---- refusals ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cfg,words",
    [
        (
            tiny("nemotron_h", hybrid_override_pattern="M*X"),
            ["'hybrid_override_pattern'", "'X'", "layer 2", "'M'", "'E'"],
        ),
        (
            {
                **{
                    k: v
                    for k, v in tiny("nemotron_h").items()
                    if k != "hybrid_override_pattern"
                },
                "layers_block_type": ["linear_attention", "sliding_attention"],
            },
            ["'layers_block_type'", "sliding_attention", "layer 1", "linear_attention"],
        ),
        (
            tiny("nemotron_h", num_hidden_layers=5),
            ["'num_hidden_layers' (5)", "4 layers"],
        ),
        (
            tiny("nemotron_h", layers_block_type=["mlp", "mlp", "mlp", "moe"]),
            ["'layers_block_type'", "'hybrid_override_pattern' ('M*-E')"],
        ),
        (
            tiny("nemotron_h", attention_head_dim=16),
            ["'attention_head_dim'", "'head_dim'"],
        ),
        (
            tiny("granitemoehybrid", layer_types=["mamba", "hybrid"]),
            ["'layer_types'", "'hybrid'", "full_attention"],
        ),
        (
            tiny("granitemoehybrid", layer_types=["mamba"]),
            ["'layer_types'", "2 entries"],
        ),
        (
            tiny("granitemoehybrid", mamba_d_head=5),
            ["'mamba_d_head' (5)", "inner width (32)"],
        ),
        (tiny("mamba2", num_heads=3), ["'num_heads' (3)", "'expand'"]),
        (
            tiny("falcon_h1", layer_types=["hybrid", "full_attention"]),
            ["'layer_types'"],
        ),
        (
            tiny("jamba", attn_layer_offset=4),
            ["'attn_layer_offset' (4)", "'attn_layer_period' (4)"],
        ),
        (
            tiny("jamba", num_experts_per_tok=5),
            ["'num_experts_per_tok' (5)", "'num_experts'"],
        ),
    ],
)
def test_refusals_name_the_key(cfg, words):
    with pytest.raises(ValueError) as err:
        ModelSpec.from_hf_config(cfg)
    for word in words:
        assert word in str(err.value)


def test_pattern_must_be_a_string():
    with pytest.raises(TypeError, match="'hybrid_override_pattern'"):
        ModelSpec.from_hf_config(tiny("nemotron_h", hybrid_override_pattern=["M"]))


def test_typo_suggests_the_type_and_never_another_architecture():
    with pytest.raises(ValueError, match="Did you mean 'nemotron_h'"):
        ModelSpec.from_hf_config({**tiny("nemotron_h"), "model_type": "nemotron-h"})
