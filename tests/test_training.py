"""Training memory: the ZeRO paper's per-parameter bytes and Korthikanti et al.'s activation formula,
written out as arithmetic."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vramlib.models import ModelSpec
from vramlib.training import korthikanti_activation_bytes, training_bytes

LLAMA = ModelSpec.from_hf_config({  # meta-llama/Llama-3.1-8B config.json (architecture keys)
    "model_type": "llama", "vocab_size": 128256, "hidden_size": 4096, "intermediate_size": 14336,
    "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8})


def test_mixed_precision_adam_is_16_bytes_per_parameter():
    # ZeRO (Rajbhandari et al. 2020): 2 (fp16 weights) + 2 (fp16 grads) + 12 (fp32 copy, momentum, variance)
    t = training_bytes(1_000_000_000)
    assert t.parts() == {"weights": 2 * 10**9, "gradients": 2 * 10**9, "master_weights": 4 * 10**9,
                         "optimizer_states": 8 * 10**9, "activations": 0}
    assert t.bytes_per_param == 16 and t.total_bytes == 16 * 10**9
    assert t.activations == "excluded"


@pytest.mark.parametrize("optimizer, precision, per_param", [
    ("adam", "mixed", 2 + 2 + 4 + 8), ("adamw", "mixed", 16), ("sgd", "mixed", 2 + 2 + 4),
    ("sgd_momentum", "mixed", 2 + 2 + 4 + 4), ("adam", "fp32", 4 + 4 + 8), ("sgd", "fp32", 8),
    ("sgd_momentum", "fp32", 12)])
def test_bytes_per_parameter(optimizer, precision, per_param):
    t = training_bytes(7_000_000, optimizer=optimizer, precision=precision)
    assert t.bytes_per_param == per_param
    assert t.model_state_bytes == per_param * 7_000_000


def test_spec_counts_its_parameters():
    params = 8_030_261_248   # Llama-3.1-8B, counted by hand in tests/test_speed.py
    assert training_bytes(LLAMA).model_state_bytes == 16 * params


def test_korthikanti_activations():
    s, b, h, a, L = 2048, 2, 4096, 32, 32
    none = L * (34 * s * b * h + 5 * a * s * s * b)   # eq. (1): sbh(34 + 5as/h) per layer
    assert korthikanti_activation_bytes(LLAMA, seq_len=s, micro_batch=b) == none
    assert korthikanti_activation_bytes(LLAMA, seq_len=s, micro_batch=b, recompute="selective") == L * 34 * s * b * h
    assert korthikanti_activation_bytes(LLAMA, seq_len=s, micro_batch=b, recompute="full") == L * 2 * s * b * h
    t = training_bytes(LLAMA, seq_len=s, micro_batch=b)
    assert t.activation_bytes == none and t.total_bytes == 16 * 8_030_261_248 + none
    assert t.activations == "korthikanti2022/none"


@given(st.integers(1, 10**12), st.integers(1, 4096))
def test_zero_stages(params, n):
    t = training_bytes(params)
    ceil = lambda x: -(-x // n)
    assert t.zero_per_gpu_bytes(n, 0) == 16 * params
    assert t.zero_per_gpu_bytes(n, 1) == 4 * params + ceil(12 * params)
    assert t.zero_per_gpu_bytes(n, 2) == 2 * params + ceil(14 * params)
    assert t.zero_per_gpu_bytes(n, 3) == ceil(16 * params)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="Did you mean 'adam'"):
        training_bytes(10, optimizer="adma")
    with pytest.raises(ValueError, match="training precision"):
        training_bytes(10, precision="bf16")
    with pytest.raises(ValueError, match="seq_len needs a model spec"):
        training_bytes(10, seq_len=128)
    with pytest.raises(ValueError, match="model must be an integer"):
        training_bytes(0)
    with pytest.raises(TypeError, match="model must be an integer"):
        training_bytes(1.5j)
    with pytest.raises(ValueError, match="recomputation"):
        training_bytes(LLAMA, seq_len=128, recompute="partial")
    with pytest.raises(ValueError, match="seq_len"):
        training_bytes(LLAMA, seq_len=0)
    with pytest.raises(ValueError, match="stage"):
        training_bytes(10).zero_per_gpu_bytes(2, 4)
    with pytest.raises(ValueError, match="n_gpus"):
        training_bytes(10).zero_per_gpu_bytes(0)
