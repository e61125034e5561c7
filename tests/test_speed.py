"""Decode-speed bound: expected values written out as arithmetic on published configs."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vramlib.estimate import estimate
from vramlib.gpus import custom_gpu
from vramlib.models import ModelSpec
from vramlib.speed import (
    bytes_read_per_step,
    decode_step_seconds_bound,
    decode_tokens_per_s_bound,
    weights_read_bytes,
)

LLAMA = ModelSpec.from_hf_config(
    {  # meta-llama/Llama-3.1-8B config.json (architecture keys)
        "model_type": "llama",
        "vocab_size": 128256,
        "hidden_size": 4096,
        "intermediate_size": 14336,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
    }
)
MIXTRAL = ModelSpec.from_hf_config(
    {  # mistralai/Mixtral-8x7B-v0.1 config.json
        "model_type": "mixtral",
        "vocab_size": 32000,
        "hidden_size": 4096,
        "intermediate_size": 14336,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "num_local_experts": 8,
        "num_experts_per_tok": 2,
    }
)
GPU = custom_gpu("test card", 80, 1000)  # 1000 GB/s = 10**12 bytes/s

# Llama-3.1-8B by hand: per layer attention 2*4096*4096 + 2*4096*1024, MLP 3*4096*14336, norms 2*4096
LLAMA_LAYER = 2 * 4096 * 4096 + 2 * 4096 * 1024 + 3 * 4096 * 14336 + 2 * 4096
LLAMA_EMBED = 128256 * 4096
LLAMA_PARAMS = 32 * LLAMA_LAYER + 2 * LLAMA_EMBED + 4096
LLAMA_KV_PER_TOKEN = 2 * 32 * 8 * 128 * 2


def test_llama_weights_read_is_everything_but_the_embedding_table():
    assert LLAMA_PARAMS == 8_030_261_248
    # bf16: the LM head and all layers, plus one embedding row for the one token
    assert weights_read_bytes(LLAMA, "bf16") == 2 * (LLAMA_PARAMS - LLAMA_EMBED + 4096)
    assert weights_read_bytes(LLAMA, "bf16", batch=8) == 2 * (
        LLAMA_PARAMS - LLAMA_EMBED + 8 * 4096
    )
    assert weights_read_bytes(LLAMA, "int4") == (LLAMA_PARAMS - LLAMA_EMBED + 4096) // 2


def test_llama_bound_at_4096_tokens():
    read = bytes_read_per_step(LLAMA, precision="bf16", context=4096)
    weights = 2 * (LLAMA_PARAMS - LLAMA_EMBED + 4096)
    assert read == {
        "weights": weights,
        "kv_cache": 4096 * LLAMA_KV_PER_TOKEN,
        "total": weights + 4096 * LLAMA_KV_PER_TOKEN,
    }
    expected = 10**12 / (weights + 4096 * LLAMA_KV_PER_TOKEN)
    assert decode_tokens_per_s_bound(
        LLAMA, GPU, precision="bf16", context=4096
    ) == pytest.approx(expected)
    assert decode_step_seconds_bound(
        LLAMA, GPU, precision="bf16", context=4096
    ) == pytest.approx(1 / expected)


def test_batch_reads_weights_once_and_every_cache():
    b, t = 16, 2048
    weights = 2 * (LLAMA_PARAMS - LLAMA_EMBED + b * 4096)
    expected = b * 10**12 / (weights + b * t * LLAMA_KV_PER_TOKEN)
    assert decode_tokens_per_s_bound(
        LLAMA, GPU, precision="bf16", context=t, batch=b
    ) == pytest.approx(expected)


def test_tensor_parallel_multiplies_bandwidth():
    one = decode_tokens_per_s_bound(LLAMA, GPU, precision="bf16", context=1000)
    assert decode_tokens_per_s_bound(
        LLAMA, GPU, precision="bf16", context=1000, n_gpus=4
    ) == pytest.approx(4 * one)


def test_moe_reads_only_the_selected_experts():
    params = (
        46_702_792_704  # Mixtral-8x7B, equal to transformers' count (tests/validate)
    )
    expert = 3 * 4096 * 14336
    dense_read = params - 32000 * 4096 + 4096
    assert weights_read_bytes(MIXTRAL, "bf16") == 2 * (
        dense_read - 32 * 6 * expert
    )  # 2 of 8 experts
    assert weights_read_bytes(MIXTRAL, "bf16", batch=2) == 2 * (
        dense_read + 4096 - 32 * 4 * expert
    )
    assert weights_read_bytes(MIXTRAL, "bf16", batch=4) == 2 * (
        dense_read + 3 * 4096
    )  # all 8 read


def test_estimate_input_matches_spec_input():
    e = estimate(LLAMA, precision="fp8", context=8192, batch=4)
    assert decode_tokens_per_s_bound(e, GPU) == decode_tokens_per_s_bound(
        LLAMA, GPU, precision="fp8", context=8192, batch=4
    )
    assert decode_tokens_per_s_bound(
        e, GPU, precision="fp8", context=8192
    ) == decode_tokens_per_s_bound(e, GPU)


@given(st.integers(0, 200_000), st.integers(1, 64))
def test_bound_falls_with_context(context, batch):
    a = decode_tokens_per_s_bound(
        LLAMA, GPU, precision="bf16", context=context, batch=batch
    )
    b = decode_tokens_per_s_bound(
        LLAMA, GPU, precision="bf16", context=context + 1, batch=batch
    )
    assert 0 < b < a


@given(st.integers(1, 100_000), st.integers(1, 63))
def test_bigger_batch_more_tokens_in_all_fewer_each(context, batch):
    small = decode_tokens_per_s_bound(
        LLAMA, GPU, precision="bf16", context=context, batch=batch
    )
    large = decode_tokens_per_s_bound(
        LLAMA, GPU, precision="bf16", context=context, batch=batch + 1
    )
    assert large > small and large / (batch + 1) < small / batch


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="precision is required"):
        decode_tokens_per_s_bound(LLAMA, GPU, context=10)
    with pytest.raises(ValueError, match="context is required"):
        decode_tokens_per_s_bound(LLAMA, GPU, precision="bf16")
    with pytest.raises(ValueError, match="context"):
        decode_tokens_per_s_bound(LLAMA, GPU, precision="bf16", context=-1)
    with pytest.raises(ValueError, match="n_gpus"):
        decode_tokens_per_s_bound(LLAMA, GPU, precision="bf16", context=1, n_gpus=0)
    with pytest.raises(ValueError, match="batch"):
        bytes_read_per_step(LLAMA, precision="bf16", context=1, batch=0)
    with pytest.raises(TypeError, match="model must be"):
        decode_tokens_per_s_bound(3.5, GPU, precision="bf16", context=1)
    with pytest.raises(ValueError, match="Did you mean"):
        decode_tokens_per_s_bound(LLAMA, "H100 SXN", precision="bf16", context=1)
    with pytest.raises(ValueError, match="disagrees with the estimate"):
        decode_tokens_per_s_bound(estimate(LLAMA, context=100), GPU, context=200)


def test_weights_read_match_the_estimate_for_a_gguf_mix():
    # a dense model at batch 1 with an untied embedding reads every weight but the unused embedding rows
    from vramlib.models import get_model

    spec = get_model("meta-llama/Llama-3.1-70B")
    e = estimate(spec, precision="Q4_K_M")
    bits = e.format.bits_for("embedding")
    table = math.ceil(spec.param_groups()["embedding"] * bits / 8)
    one_row = math.ceil(spec.hidden_size * bits / 8)
    assert weights_read_bytes(spec, "Q4_K_M") == e.weights_bytes - table + one_row
