"""The layer units and the layer-wise ModelSpec, against formulas written out by hand."""
from __future__ import annotations

import pytest

from vramlib import get_precision
from vramlib.kv import (cache_breakdown, cache_bytes_per_layer, kv_bytes_per_token, kv_cache_bytes,
                        state_bytes_per_sequence)
from vramlib.layers import Attention, DenseMLP, LatentAttention, Layer, MoE, NoFFN
from vramlib.models import ModelSpec, get_model

BF16, FP32 = get_precision("bf16"), get_precision("fp32")


def test_attention_parameters_by_group():
    a = Attention(hidden=64, heads=8, kv_heads=2, head_dim=16, qkv_bias=True, o_bias=True,
                  qk_norm="head", sinks=True)
    # q and o: 64*128 each; k and v: 64*32 each
    assert a.params() == {"attention": 2 * 64 * 128 + 2 * 64 * 32,
                          "bias": 128 + 2 * 32 + 64, "norm": 2 * 16 + 8}


def test_sliding_and_chunked_layers_keep_at_most_their_span():
    full = Attention(64, 8, 2, 16)
    sliding = Attention(64, 8, 2, 16, span="sliding", window=10)
    chunked = Attention(64, 8, 2, 16, span="chunked", window=10)
    row = 2 * 16 * 2  # n_kv * d_h elements, bf16
    assert full.cache_bytes(25, BF16, BF16) == {"keys": 25 * row, "values": 25 * row}
    assert sliding.cache_bytes(25, BF16, BF16) == {"keys": 10 * row, "values": 10 * row}
    assert chunked.cache_bytes(7, BF16, BF16)["keys"] == 7 * row
    assert (full.layer_type, sliding.layer_type, chunked.layer_type) == (
        "full_attention", "sliding_attention", "chunked_attention")


def test_a_layer_that_reuses_earlier_keys_and_values_keeps_nothing():
    shared = Attention(64, 8, 2, 16, shares_kv=True)
    assert shared.cache_bytes(100, BF16, BF16) == {}
    assert shared.bytes_per_token(BF16) == 0


def test_attention_refuses_inconsistent_shapes():
    with pytest.raises(ValueError, match="multiple"):
        Attention(64, 6, 4, 16)
    with pytest.raises(ValueError, match="span"):
        Attention(64, 8, 2, 16, span="local", window=4)
    with pytest.raises(TypeError, match="window"):
        Attention(64, 8, 2, 16, span="sliding")
    with pytest.raises(ValueError, match="no window"):
        Attention(64, 8, 2, 16, window=4)


def test_latent_attention_matches_deepseek_v3_by_hand():
    m = LatentAttention(7168, 128, 512, 1536, 128, 64, 128)
    q = 7168 * 1536 + 1536 * 128 * 192
    kv = 7168 * (512 + 64) + 512 * 128 * (128 + 128)
    o = 128 * 128 * 7168
    assert m.params() == {"attention": q + kv + o, "bias": 0, "norm": 1536 + 512}
    assert m.cache_bytes(10, BF16, BF16) == {"latent": 10 * 576 * 2}
    expanded = m.cache_bytes(10, BF16, BF16, mla_expanded=True)
    assert expanded == {"keys": 10 * 128 * 192 * 2, "values": 10 * 128 * 128 * 2}


def test_feed_forward_blocks():
    assert DenseMLP(64, 100).params() == {"mlp": 3 * 64 * 100, "bias": 0}
    assert DenseMLP(64, 100, gated=False, bias=True).params() == {
        "mlp": 2 * 64 * 100, "bias": 100 + 64}
    moe = MoE(64, experts=8, top_k=2, width=32, shared_width=48, shared_gate=True)
    assert moe.params() == {"mlp": 8 * 3 * 64 * 32 + 3 * 64 * 48, "router": 8 * 64 + 64,
                            "bias": 0}
    assert moe.expert_params() == 3 * 64 * 32
    assert NoFFN().params() == {}
    with pytest.raises(ValueError, match="exceeds"):
        MoE(64, experts=2, top_k=3, width=8)


def hybrid_spec() -> ModelSpec:
    """Four layers written out: sliding+dense, full+experts, shared-KV+dense, full+nothing."""
    h = 32
    sliding = Attention(h, 4, 2, 8, span="sliding", window=6)
    full = Attention(h, 4, 2, 8)
    shared = Attention(h, 4, 2, 8, shares_kv=True)
    dense, moe = DenseMLP(h, 40), MoE(h, 4, 2, 16)
    layers = (Layer(sliding, dense, h), Layer(full, moe, h), Layer(shared, dense, h),
              Layer(full, NoFFN(), h, norms=1))
    return ModelSpec("custom", 100, h, 4, 4, 2, 8, 40, num_experts=4, experts_per_token=2,
                     moe_intermediate_size=16, sliding_window=6, layers=layers,
                     extra_params=(("embedding", 7),))


def test_a_stack_of_unlike_layers_adds_up_by_hand():
    spec = hybrid_spec()
    attention = 2 * 32 * 32 + 2 * 32 * 16  # q, o: 32x32; k, v: 32x16
    assert spec.layer_types == ("sliding_attention", "full_attention", "full_attention",
                                "full_attention")
    assert spec.mlp_layer_types == ("dense", "moe", "dense", "none")
    groups = spec.param_groups()
    assert groups["attention"] == 4 * attention
    assert groups["mlp"] == 2 * 3 * 32 * 40 + 4 * 3 * 32 * 16
    assert groups["router"] == 4 * 32
    assert groups["norm"] == (2 + 2 + 2 + 1) * 32 + 32  # per-layer norms + final norm
    assert groups["embedding"] == 100 * 32 + 7 and groups["lm_head"] == 100 * 32
    assert spec.active_param_count() == spec.param_count() - 2 * 3 * 32 * 16


def test_the_cache_of_unlike_layers_by_part():
    spec = hybrid_spec()
    row = 2 * 8 * 2  # n_kv * d_h * 2 bytes
    per_layer = cache_bytes_per_layer(spec, tokens=10, batch=3)
    assert per_layer == [{"keys": 6 * row * 3, "values": 6 * row * 3},
                         {"keys": 10 * row * 3, "values": 10 * row * 3}, {},
                         {"keys": 10 * row * 3, "values": 10 * row * 3}]
    assert kv_cache_bytes(spec, tokens=10, batch=3) == 2 * (6 + 10 + 10) * row * 3
    assert cache_breakdown(spec, tokens=10) == {
        "sliding_attention": {"keys": 6 * row, "values": 6 * row},
        "full_attention": {"keys": 20 * row, "values": 20 * row}}
    assert kv_bytes_per_token(spec) == 3 * 2 * row
    assert state_bytes_per_sequence(spec) == 0


def test_layers_must_be_one_per_layer():
    layer = hybrid_spec().layers[0]
    with pytest.raises(ValueError, match="layers must hold"):
        ModelSpec("custom", 100, 32, 2, 4, 2, 8, 40, layers=(layer,))


def test_extra_params_name_a_known_group():
    with pytest.raises(ValueError, match="parameter group"):
        ModelSpec("llama", 100, 32, 1, 4, 2, 8, 40, extra_params=(("vision", 5),))


def test_linear_modules_of_llama_3_1_8b_by_hand():
    spec = get_model("meta-llama/Llama-3.1-8B")
    got = {(m.name, m.in_features, m.out_features, m.count) for m in spec.linear_modules()}
    assert got == {("q_proj", 4096, 4096, 32), ("k_proj", 4096, 1024, 32),
                   ("v_proj", 4096, 1024, 32), ("o_proj", 4096, 4096, 32),
                   ("gate_proj", 4096, 14336, 32), ("up_proj", 4096, 14336, 32),
                   ("down_proj", 14336, 4096, 32), ("lm_head", 4096, 128256, 1)}


def test_fused_names_of_older_families():
    names = {m.name for m in get_model("EleutherAI/pythia-6.9b-deduped").linear_modules()}
    assert names == {"query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h", "lm_head"}


def test_state_dtype_defaults():
    """States follow a 16/32-bit cache dtype, and stay bf16 under a quantized KV cache."""
    from vramlib.kv import _dtypes
    assert _dtypes("fp32", None)[1].name == "fp32"
    assert _dtypes("fp8", None)[1].name == "bf16"
    assert _dtypes("fp8", "fp32")[1].name == "fp32"


# ---- refusing what is not understood ---------------------------------------------------------

BASE = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2)


def test_an_architecture_vramlib_does_not_read_is_refused_without_a_suggestion():
    with pytest.raises(ValueError) as err:
        ModelSpec.from_hf_config(dict(model_type="mamba", **BASE))
    assert "does not support" in str(err.value) and "Did you mean" not in str(err.value)


def test_a_typo_gets_a_suggestion():
    with pytest.raises(ValueError, match="Did you mean 'llama'"):
        ModelSpec.from_hf_config(dict(model_type="lama", **BASE))


def test_a_head_other_than_a_language_model_is_refused():
    with pytest.raises(ValueError, match="LlamaForSequenceClassification"):
        ModelSpec.from_hf_config(dict(model_type="llama", **BASE,
                                      architectures=["LlamaForSequenceClassification"]))


@pytest.mark.parametrize("kind", ["linear_attention", "mamba", "sliding_attention"])
def test_layer_types_a_reader_ignores_must_agree_with_its_layers(kind):
    with pytest.raises(ValueError, match="layer_types"):
        ModelSpec.from_hf_config(dict(model_type="llama", **BASE,
                                      layer_types=["full_attention", kind]))


def test_layer_types_that_agree_are_accepted():
    spec = ModelSpec.from_hf_config(dict(model_type="llama", **BASE,
                                         layer_types=["full_attention"] * 2))
    assert spec.layer_types == ("full_attention", "full_attention")


def test_an_unknown_layer_kind_is_refused_not_renamed():
    cfg = dict(model_type="gemma2", **BASE, layer_types=["linear_attention", "full_attention"])
    with pytest.raises(ValueError) as err:
        ModelSpec.from_hf_config(cfg)
    assert "linear_attention" in str(err.value) and "Did you mean" not in str(err.value)


def test_defaulted_keys_are_named():
    spec = ModelSpec.from_hf_config(dict(model_type="llama", **BASE))
    assert {"vocab_size", "intermediate_size", "max_position_embeddings"} <= set(
        spec.defaulted_keys)
    assert "hidden_size" not in spec.defaulted_keys


def test_mixer_labels_and_the_cache_by_kind():
    from vramlib.kv import cache_by_mixer
    from vramlib.layers import mixer_label

    spec = hybrid_spec()
    assert [mixer_label(x.mixer) for x in spec.layers] == [
        "sliding (6) attention", "full attention", "shared-KV attention", "full attention"]
    row = 2 * 8 * 2  # n_kv * d_h * 2 bytes
    assert cache_by_mixer(spec, tokens=10, batch=2) == {
        "sliding (6) attention": dict(layers=1, per_token=2 * row, per_sequence=0,
                                      total=2 * 6 * row * 2),
        "full attention": dict(layers=2, per_token=4 * row, per_sequence=0,
                               total=2 * 2 * 10 * row * 2),
        "shared-KV attention": dict(layers=1, per_token=0, per_sequence=0, total=0)}
