"""gpt_oss, llama4_text, gemma4_text, cohere2, exaone4: small models counted by hand.

Every expected number is arithmetic written out here from the module shapes of
transformers 5.24's modeling files (tests/validate checks the same code against
transformers itself).
"""

from __future__ import annotations

import pytest

from vramlib.kv import cache_breakdown, kv_cache_bytes
from vramlib.layers.attention import Attention
from vramlib.layers.ffn import MoE
from vramlib.layers.gemma4 import Gemma4FeedForward
from vramlib.models import ModelSpec

S, F, C = "sliding_attention", "full_attention", "chunked_attention"
SMALL = dict(
    vocab_size=10,
    hidden_size=8,
    num_attention_heads=2,
    num_key_value_heads=1,
    head_dim=4,
    intermediate_size=6,
)


def spec(model_type: str, **keys) -> ModelSpec:
    return ModelSpec.from_hf_config(dict(SMALL, model_type=model_type, **keys))


# ---- gpt-oss -------------------------------------------------------------------------

GPT_OSS = dict(
    num_hidden_layers=2, num_local_experts=2, num_experts_per_tok=1, sliding_window=4
)


def test_gpt_oss_counted_by_hand():
    s = spec("gpt_oss", **GPT_OSS)
    # per layer: q 8x8, k 8x4, v 8x4, o 8x8; biases 8 + 4 + 4 + 8; sinks 2; norms 2 x 8;
    # router 2x8 + bias 2; experts gate_up 2x8x12 + bias 2x12, down 2x6x8 + bias 2x8
    layer = (64 + 32 + 32 + 64) + 24 + 2 + 16 + (16 + 2) + (192 + 24) + (96 + 16)
    assert layer == 580
    assert s.param_count() == 80 + 80 + 8 + 2 * layer  # embedding, lm_head, final norm
    assert s.param_groups() == {
        "embedding": 80,
        "lm_head": 80,
        "attention": 2 * 192,
        "mlp": 2 * (192 + 96),
        "router": 2 * 16,
        "norm": 8 + 2 * (16 + 2),
        "bias": 2 * (24 + 2 + 24 + 16),
    }
    # one of two experts skipped per layer: 3 x 8 x 6 weights + 12 + 8 biases
    assert s.param_count() - s.active_param_count() == 2 * (144 + 12 + 8)
    assert s.layer_types == (S, F)  # even layers slide


def test_gpt_oss_cache_by_hand():
    s = spec("gpt_oss", **GPT_OSS)
    key_row = 1 * 4 * 2  # one KV head of 4, bf16
    # layer 0 slides over 4 of 10 tokens, layer 1 keeps all 10; K and V; 3 sequences
    assert kv_cache_bytes(s, tokens=10, batch=3) == 3 * 2 * key_row * (4 + 10)
    assert cache_breakdown(s, tokens=2) == {
        S: {"keys": 16, "values": 16},
        F: {"keys": 16, "values": 16},
    }


def test_gpt_oss_linear_modules():
    lins = {(x.name, x.kind): x for x in spec("gpt_oss", **GPT_OSS).linear_modules()}
    assert lins["q_proj", "attention"].bias and lins["o_proj", "attention"].bias
    router = lins["router", "router"]
    assert (router.in_features, router.out_features, router.bias, router.count) == (
        8,
        2,
        True,
        2,
    )
    gate_up = lins["gate_up_proj", "expert"]
    assert (gate_up.in_features, gate_up.out_features, gate_up.bias, gate_up.count) == (
        8,
        12,
        True,
        4,
    )  # 2 experts x 2 layers
    assert ("gate", "router") not in lins


def test_gpt_oss_reads_num_experts_as_num_local_experts():
    keys = dict(GPT_OSS)
    keys["num_experts"] = keys.pop("num_local_experts")
    assert (
        spec("gpt_oss", **keys).param_count()
        == spec("gpt_oss", **GPT_OSS).param_count()
    )


# ---- Llama 4 -------------------------------------------------------------------------

LLAMA4 = dict(
    num_hidden_layers=4,
    intermediate_size_mlp=10,
    num_local_experts=2,
    num_experts_per_tok=1,
    interleave_moe_layer_step=2,
    attention_chunk_size=4,
)


def test_llama4_counted_by_hand():
    s = spec("llama4_text", **LLAMA4)
    assert s.layer_types == (C, C, C, F)  # every fourth layer: no rope, full attention
    assert s.mlp_layer_types == (
        "dense",
        "moe",
        "dense",
        "moe",
    )  # step 2: layers 1 and 3
    attention, norms = 64 + 32 + 32 + 64, 2 * 8
    dense = 3 * 8 * 10  # intermediate_size_mlp
    moe = 2 * 8 + 2 * 3 * 8 * 6 + 3 * 8 * 6  # router, 2 experts, shared expert
    assert (
        s.param_count() == 80 + 80 + 8 + 4 * (attention + norms) + 2 * dense + 2 * moe
    )
    assert s.param_count() - s.active_param_count() == 2 * 3 * 8 * 6
    assert s.intermediate_size == 10


def test_llama4_chunked_cache_by_hand():
    s = spec("llama4_text", **LLAMA4)
    key_row = 1 * 4 * 4  # fp32
    assert cache_breakdown(s, tokens=10, dtype="fp32") == {
        C: {"keys": 3 * 4 * key_row, "values": 3 * 4 * key_row},  # min(10, C = 4)
        F: {"keys": 10 * key_row, "values": 10 * key_row},
    }


def test_llama4_moe_layers_list_and_no_chunk():
    s = spec(
        "llama4_text", **dict(LLAMA4, moe_layers=[0, 9], attention_chunk_size=None)
    )
    assert s.mlp_layer_types == ("moe", "dense", "dense", "dense")
    assert s.layer_types == (F,) * 4


def test_llama4_refuses_what_it_does_not_have():
    with pytest.raises(
        ValueError, match=r"'layer_types'.*full_attention, chunked_attention"
    ):
        spec("llama4_text", **dict(LLAMA4, layer_types=[S, F, F, F]))
    with pytest.raises(ValueError, match="'no_rope_layers' must be a list of 4"):
        spec("llama4_text", **dict(LLAMA4, no_rope_layers=[1, 0]))
    with pytest.raises(ValueError, match="'num_experts_per_tok' \\(3\\) exceeds"):
        spec("llama4_text", **dict(LLAMA4, num_experts_per_tok=3))


# ---- Gemma 4 -------------------------------------------------------------------------

GEMMA4 = dict(
    num_hidden_layers=4,
    num_key_value_heads=2,
    layer_types=[S, F, S, S],
    sliding_window=4,
    global_head_dim=8,
    num_global_key_value_heads=1,
    attention_k_eq_v=True,
    num_kv_shared_layers=1,
    use_double_wide_mlp=True,
    hidden_size_per_layer_input=2,
    vocab_size_per_layer_input=5,
)


def test_gemma4_counted_by_hand():
    s = spec("gemma4_text", **GEMMA4)
    assert s.layer_types == (S, F, S, F)  # the last layer is forced to full attention
    ple_layer = 8 * 2 + 2 * 8 + 8  # gate, projection, norm
    local = (4 * 8 * 8) + (4 + 4) + 4 * 8 + 3 * 8 * 6 + ple_layer  # 2 KV heads of 4
    glob = (
        (8 * 16 + 8 * 8 + 16 * 8) + (8 + 8) + 4 * 8 + 3 * 8 * 6 + ple_layer
    )  # no v_proj
    shared = (
        (8 * 16 + 16 * 8) + 8 + 4 * 8 + 3 * 8 * 12 + ple_layer
    )  # q, o, q_norm; 2x MLP
    model = (
        80 + 8 + 5 * (4 * 2) + 8 * (4 * 2) + 2
    )  # tied embedding, norm, PLE table, proj
    assert (local, glob, shared) == (480, 552, 624)
    assert s.param_count() == model + 2 * local + glob + shared
    assert s.defaulted_keys.count("tie_word_embeddings") == 1


def test_gemma4_cache_by_hand():
    s = spec("gemma4_text", **GEMMA4)
    local_row, global_row = 2 * 4 * 4, 1 * 8 * 4  # fp32 key rows
    keys = 2 * 4 * local_row + 10 * global_row  # layer 3 reuses layer 1's: nothing
    assert kv_cache_bytes(s, tokens=10, dtype="fp32") == 2 * keys


def test_gemma4_per_layer_config_as_saved_by_transformers():
    keys = dict(
        GEMMA4,
        per_layer_config={
            "01": {"head_dim": 8, "num_key_value_heads": 1},
            "03": {"head_dim": 8, "num_key_value_heads": 1},
        },
    )
    del keys["global_head_dim"], keys["num_global_key_value_heads"]
    assert (
        spec("gemma4_text", **keys).param_count()
        == spec("gemma4_text", **GEMMA4).param_count()
    )
    keys["per_layer_config"] = (
        None  # null: every layer takes the global head_dim and heads
    )
    local_only = spec("gemma4_text", **keys)
    assert {x.mixer.head_dim for x in local_only.layers} == {4}


def test_gemma4_without_global_keys_uses_class_default_head_size():
    keys = dict(GEMMA4)
    del keys["global_head_dim"]
    s = spec("gemma4_text", **keys)
    assert s.layers[1].mixer.head_dim == 512
    assert "global_head_dim" in s.defaulted_keys


def test_gemma4_experts_beside_the_dense_mlp():
    s = spec(
        "gemma4_text",
        num_hidden_layers=1,
        hidden_size_per_layer_input=0,
        enable_moe_block=True,
        num_experts=4,
        top_k_experts=2,
        moe_intermediate_size=3,
    )
    ffn = s.layers[0].ffn
    # dense 3x8x6, experts 4 x 3x8x3, router 4x8 + scale 8 + per-expert scale 4, 3 norms
    assert ffn.params() == {"mlp": 144 + 288, "router": 32 + 8 + 4, "norm": 24}
    assert s.param_count() - s.active_param_count() == 2 * 3 * 8 * 3


def test_gemma4_refuses_what_it_does_not_have():
    with pytest.raises(
        ValueError, match="'intermediate_size'.*head_dim, num_key_value_heads"
    ):
        spec(
            "gemma4_text",
            **dict(GEMMA4, per_layer_config={"1": {"intermediate_size": 4}}),
        )
    with pytest.raises(ValueError, match="different shapes"):
        spec("gemma4_text", **dict(GEMMA4, per_layer_config={"1": {"head_dim": 8}}))
    with pytest.raises(ValueError, match="'num_kv_shared_layers' \\(3\\)"):
        spec("gemma4_text", **dict(GEMMA4, num_kv_shared_layers=3))
    with pytest.raises(ValueError, match="'use_bidirectional_attention'"):
        spec("gemma4_text", **dict(GEMMA4, use_bidirectional_attention="both"))


def test_gemma4_linear_modules():
    lins = spec("gemma4_text", **GEMMA4).linear_modules()
    v = [x for x in lins if x.name == "v_proj"]
    assert [(x.in_features, x.out_features, x.count) for x in v] == [
        (8, 8, 2)
    ]  # local only
    names = {x.name for x in lins}
    assert {"per_layer_input_gate", "per_layer_projection"} <= names
    assert "lm_head" in names  # a module even when its weight is tied


# ---- Cohere 2 and EXAONE 4 -----------------------------------------------------------


def test_cohere2_counted_by_hand():
    keys = dict(
        SMALL,
        model_type="cohere2",
        num_hidden_layers=4,
        sliding_window=4,
        attention_bias=True,
    )
    del keys["head_dim"]  # hidden_size / num_attention_heads = 4
    s = ModelSpec.from_hf_config(keys)
    assert s.layer_types == (S, S, S, F)  # sliding_window_pattern 4
    layer = (64 + 32 + 32 + 64) + (8 + 4 + 4 + 8) + 8 + 3 * 8 * 6  # one norm per layer
    assert s.param_count() == 80 + 8 + 4 * layer  # tied
    assert kv_cache_bytes(s, tokens=6, dtype="fp32") == 2 * 16 * (3 * 4 + 6)


def test_exaone4_counted_by_hand():
    s = spec("exaone4", num_hidden_layers=4, sliding_window=4, sliding_window_pattern=2)
    assert s.layer_types == (S, F, S, F)
    layer = (64 + 32 + 32 + 64) + (4 + 4) + 2 * 8 + 3 * 8 * 6
    assert s.param_count() == 80 + 80 + 8 + 4 * layer


def test_exaone4_refuses_configs_transformers_cannot_build():
    with pytest.raises(ValueError, match="'sliding_window' is null"):
        spec("exaone4", num_hidden_layers=2, sliding_window=None)
    with pytest.raises(ValueError, match="'sliding_window_pattern'"):
        spec("exaone4", num_hidden_layers=2, sliding_window_pattern="LG")
    s = spec("exaone4", num_hidden_layers=2, sliding_window=None, layer_types=[F, F])
    assert s.layer_types == (F, F)


@pytest.mark.parametrize("model_type", ["gpt_oss", "llama4_text", "cohere2", "exaone4"])
def test_per_layer_overrides_are_refused_where_not_read(model_type):
    with pytest.raises(ValueError, match=f"'per_layer_config'.*{model_type}"):
        spec(model_type, num_hidden_layers=2, per_layer_config={"0": {"head_dim": 8}})


def test_a_typo_suggests_the_family():
    with pytest.raises(ValueError, match="Did you mean 'gpt_oss'"):
        spec("gpt-oss", num_hidden_layers=2)


# ---- the units -----------------------------------------------------------------------


def test_attention_keys_as_values_and_borrowed_keys():
    base = dict(
        hidden=8, heads=2, kv_heads=1, head_dim=4, qkv_bias=True, qk_norm="head"
    )
    assert Attention(**base).params() == {
        "attention": 192,
        "bias": 8 + 4 + 4,
        "norm": 8,
    }
    assert Attention(**base, k_eq_v=True).params() == {
        "attention": 160,
        "bias": 8 + 4,
        "norm": 8,
    }
    borrowed = Attention(**base, shares_kv=True, kv_proj=False)
    assert borrowed.params() == {"attention": 128, "bias": 8, "norm": 4}
    assert [x.name for x in borrowed.linears()] == ["q_proj", "o_proj"]
    with pytest.raises(ValueError, match="shares_kv"):
        Attention(**base, kv_proj=False)


def test_moe_biases():
    moe = MoE(8, 2, 1, 6, expert_bias=True, router_bias=True, router_name="router")
    assert moe.params() == {
        "mlp": 2 * 3 * 8 * 6,
        "router": 16,
        "bias": 2 * (12 + 8) + 2,
    }
    assert moe.expert_params() == 3 * 8 * 6 + 12 + 8
    assert MoE(8, 2, 1, 6).params()["bias"] == 0


def test_gemma4_feed_forward_unit():
    ffn = Gemma4FeedForward(8, 6, per_layer_input=2)
    assert ffn.kind == "dense"
    assert ffn.params() == {"mlp": 144 + 32, "router": 0, "norm": 8}
    with pytest.raises(ValueError, match="top_k_experts"):
        Gemma4FeedForward(8, 6, experts=2, top_k=3, expert_width=4)
