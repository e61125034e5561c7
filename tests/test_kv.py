"""KV-cache bytes: expected values written out as arithmetic on published configs.

tests/validate compares the same functions with the caches transformers fills in a forward pass.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vramlib.kv import (
    kv_bytes_per_token,
    kv_cache_bytes,
    kv_cache_bytes_per_layer,
    kv_row_elements,
)
from vramlib.models import ModelSpec
from vramlib.precisions import get_precision

LLAMA_31_8B = {  # meta-llama/Llama-3.1-8B config.json (architecture keys)
    "model_type": "llama",
    "vocab_size": 128256,
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
}
GEMMA2_9B = {  # google/gemma-2-9b config.json: layers alternate sliding (4096) and global
    "model_type": "gemma2",
    "vocab_size": 256000,
    "hidden_size": 3584,
    "intermediate_size": 14336,
    "num_hidden_layers": 42,
    "num_attention_heads": 16,
    "num_key_value_heads": 8,
    "head_dim": 256,
    "sliding_window": 4096,
}
DEEPSEEK_V3 = {  # deepseek-ai/DeepSeek-V3 config.json (attention keys)
    "model_type": "deepseek_v3",
    "vocab_size": 129280,
    "hidden_size": 7168,
    "intermediate_size": 18432,
    "moe_intermediate_size": 2048,
    "num_hidden_layers": 61,
    "num_attention_heads": 128,
    "n_routed_experts": 256,
    "num_experts_per_tok": 8,
    "first_k_dense_replace": 3,
    "q_lora_rank": 1536,
    "kv_lora_rank": 512,
    "qk_nope_head_dim": 128,
    "qk_rope_head_dim": 64,
    "v_head_dim": 128,
}

LLAMA = ModelSpec.from_hf_config(LLAMA_31_8B)
GEMMA2 = ModelSpec.from_hf_config(GEMMA2_9B)
DEEPSEEK = ModelSpec.from_hf_config(DEEPSEEK_V3)
MISTRAL_V01 = ModelSpec.from_hf_config(
    {  # mistralai/Mistral-7B-v0.1: every layer slides over 4096
        "model_type": "mistral",
        "vocab_size": 32000,
        "hidden_size": 4096,
        "intermediate_size": 14336,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "sliding_window": 4096,
    }
)


def test_llama_31_8b_full_attention():
    per_token = 2 * 32 * 8 * 128 * 2  # K and V, 32 layers, 8 KV heads x 128, bf16
    assert kv_bytes_per_token(LLAMA) == per_token == 131_072
    assert kv_cache_bytes(LLAMA, tokens=8192) == 8192 * per_token == 2**30
    assert (
        kv_cache_bytes(LLAMA, tokens=128_000, batch=4, dtype="fp8")
        == 4 * 128_000 * per_token // 2
    )


def test_block_quantized_cache_counts_whole_blocks():
    q8 = get_precision("q8_0")
    row = 8 * 128  # elements per K row: 32 blocks of 32
    assert kv_bytes_per_token(LLAMA, "q8_0") == 32 * 2 * (row // 32) * 34
    odd = ModelSpec.from_hf_config(
        {**LLAMA_31_8B, "head_dim": 20, "num_key_value_heads": 1}
    )
    assert (
        kv_bytes_per_token(odd, q8) == 32 * 2 * 34
    )  # 20 elements still take one 34-byte block
    assert kv_bytes_per_token(odd, "int4") == 32 * 2 * 10


def test_sliding_window_layers_stop_growing():
    window_full = kv_cache_bytes(MISTRAL_V01, tokens=4096)
    assert window_full == 4096 * 2 * 32 * 8 * 128 * 2
    assert kv_cache_bytes(MISTRAL_V01, tokens=32_000) == window_full
    assert kv_cache_bytes(MISTRAL_V01, tokens=100) == 100 * kv_bytes_per_token(
        MISTRAL_V01
    )


def test_gemma2_alternates_local_and_global_layers():
    row = 2 * 8 * 256 * 2  # K and V, 8 KV heads x 256, bf16
    t = 8192
    assert kv_cache_bytes(GEMMA2, tokens=t) == 21 * t * row + 21 * 4096 * row
    layers = kv_cache_bytes_per_layer(GEMMA2, tokens=t)
    assert layers[:2] == [4096 * row, t * row] and len(layers) == 42


def test_mla_caches_the_latent_and_can_be_expanded():
    assert kv_row_elements(DEEPSEEK) == (512 + 64, 0)
    assert kv_bytes_per_token(DEEPSEEK) == 61 * 576 * 2 == 70_272
    expanded = 61 * (128 * (128 + 64) + 128 * 128) * 2
    assert kv_bytes_per_token(DEEPSEEK, mla_expanded=True) == expanded
    assert expanded / kv_bytes_per_token(DEEPSEEK) == pytest.approx(40960 / 576)
    assert (
        kv_cache_bytes(DEEPSEEK, tokens=1000, batch=3, mla_expanded=True)
        == 3000 * expanded
    )
    assert kv_bytes_per_token(LLAMA, mla_expanded=True) == kv_bytes_per_token(
        LLAMA
    )  # no MLA: no effect


def test_empty_context_is_empty():
    assert kv_cache_bytes(LLAMA, tokens=0, batch=8) == 0


@pytest.mark.parametrize(
    "kwargs,error,words",
    [
        (dict(tokens=-1), ValueError, "tokens"),
        (dict(tokens=True), TypeError, "tokens"),
        (dict(tokens=10, batch=0), ValueError, "batch"),
        (dict(tokens=10, dtype="fp7"), ValueError, "precision"),
        (dict(tokens=2.5), ValueError, "tokens"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, words):
    with pytest.raises(error, match=words):
        kv_cache_bytes(LLAMA, **kwargs)


def test_spec_must_be_a_model_spec():
    with pytest.raises(TypeError, match="ModelSpec"):
        kv_cache_bytes(LLAMA_31_8B, tokens=1)


specs = st.sampled_from([LLAMA, GEMMA2, DEEPSEEK, MISTRAL_V01])
dtypes = st.sampled_from(["bf16", "fp32", "fp8", "q8_0", "q4_0", "int4", 3])


@given(specs, st.integers(0, 10**6), st.integers(1, 64), dtypes)
def test_batch_scales_linearly(spec, tokens, batch, dtype):
    one = kv_cache_bytes(spec, tokens=tokens, dtype=dtype)
    assert kv_cache_bytes(spec, tokens=tokens, batch=batch, dtype=dtype) == batch * one


@given(specs, st.integers(0, 10**6), dtypes)
def test_never_shrinks_and_never_outgrows_full_attention(spec, tokens, dtype):
    now = kv_cache_bytes(spec, tokens=tokens, dtype=dtype)
    assert kv_cache_bytes(spec, tokens=tokens + 1, dtype=dtype) >= now
    assert now <= tokens * kv_bytes_per_token(spec, dtype)
    assert sum(kv_cache_bytes_per_layer(spec, tokens=tokens, dtype=dtype)) == now


@given(specs, st.integers(0, 4096), dtypes)
def test_grows_at_the_per_token_rate_while_windows_fill(spec, tokens, dtype):
    assert kv_cache_bytes(
        spec, tokens=tokens, dtype=dtype
    ) == tokens * kv_bytes_per_token(spec, dtype)
