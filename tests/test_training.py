"""Training memory: the ZeRO paper's per-parameter bytes and Korthikanti et al.'s activation formula,
written out as arithmetic."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vramlib.models import ModelSpec
from vramlib import training as tr
from vramlib.models import get_model
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
        training_bytes(10, precision="bf61")
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


# ---- fine-tuning: every part by hand --------------------------------------------------------

H, I, V, L, NH, NKV, D = 4096, 14336, 128256, 32, 32, 8, 128   # Llama-3.1-8B


def test_lora_params_by_hand():
    # all-linear at rank r: per layer r(H + H) + 2 r(H + 8*128) + r(H + H) + 2 r(H + I) + r(I + H)
    r = 16
    per_layer = r * (2 * H) + 2 * r * (H + NKV * D) + r * (2 * H) + 3 * r * (H + I)
    assert tr.lora_params(LLAMA, r) == L * per_layer == 41_943_040
    assert tr.lora_params(LLAMA, 8, "q_proj,v_proj") == L * 8 * (2 * H + H + NKV * D)


def test_lora_targets_refuse_unknown_names():
    with pytest.raises(ValueError, match="Did you mean 'q_proj'"):
        tr.lora_params(LLAMA, 8, "q_prj")
    with pytest.raises(ValueError, match="no mixture-of-experts"):
        tr.lora_params(LLAMA, 8, "experts")
    with pytest.raises(ValueError, match="at least one"):
        tr.lora_params(LLAMA, 8, " , ")


def test_nf4_layout_by_hand():
    # bitsandbytes: 4-bit codes, one uint8 absmax per 64, one fp32 per 256 absmaxes, fp32 offset
    n = 4096 * 14336
    assert tr.nf4_bytes(n) == n // 2 + n // 64 + 4 * (n // 64 // 256) + 4
    assert tr.nf4_bytes(n, double_quant=False) == n // 2 + 4 * (n // 64)
    assert tr.nf4_bytes(1) == 1 + 1 + 4 + 4
    assert tr.nf4_bytes(65, double_quant=False) == 33 + 8


def test_optimizer_states_by_hand():
    shapes = [((4096, 1024), 2), ((64,), 3)]   # two matrices, three vectors
    n_mat, n_vec = 4096 * 1024, 64
    assert tr.optimizer_state_bytes(shapes, "adamw", 4) == 2 * (8 * n_mat + 4) + 3 * (8 * 64 + 4)
    assert tr.optimizer_state_bytes(shapes, "sgd_momentum", 2) == 2 * 2 * n_mat + 3 * 2 * 64
    assert tr.optimizer_state_bytes(shapes, "sgd", 4) == 0
    # Adafactor: a row (4096) and a column (1024) second moment per matrix, the whole vector
    assert tr.optimizer_state_bytes(shapes, "adafactor", 4) == \
        2 * ((4096 + 1024) * 4 + 4) + 3 * (64 * 4 + 4)
    # 8-bit AdamW: 2 bytes per element + two fp32 absmax per 256; small tensors stay fp32
    assert tr.optimizer_state_bytes(shapes, "adamw8bit") == \
        2 * (2 * n_mat + 8 * (n_mat // 256)) + 3 * 8 * n_vec


def test_full_fine_tuning_parts():
    p = 8_030_261_248
    t = tr.fine_tuning_bytes(LLAMA)
    tensors = 1 + 7 * L + 1 + (2 * L + 1)   # embedding, linears, LM head, norms
    assert t.parts() == {"weights": 2 * p, "gradients": 2 * p, "master_weights": 4 * p,
                         "optimizer_states": 8 * p + 4 * tensors, "activations": 0}
    assert t.trainable_params == p
    pure = tr.fine_tuning_bytes(LLAMA, precision="bf16")
    assert pure.model_state_bytes == 2 * p + 2 * p + 4 * p + 4 * tensors


def test_lora_and_qlora_parts():
    r, p = 16, 8_030_261_248
    n_lora = 41_943_040
    lora = tr.fine_tuning_bytes(LLAMA, method="lora", lora_rank=r)
    assert lora.weights_bytes == 2 * p and lora.lora_bytes == 2 * n_lora
    assert lora.gradients_bytes == 2 * n_lora and lora.master_weights_bytes == 0
    assert lora.optimizer_bytes == 4 * n_lora + 4 * 2 * 7 * L   # bf16 m and v; step per tensor
    q = tr.fine_tuning_bytes(LLAMA, method="qlora", lora_rank=r)
    linear = [(H, H), (H, NKV * D), (H, NKV * D), (H, H), (H, I), (H, I), (I, H)]
    nf4 = L * sum(tr.nf4_bytes(a * b) for a, b in linear)
    assert q.weights_bytes == nf4 + 2 * (2 * V * H + (2 * L + 1) * H)
    fp8 = tr.fine_tuning_bytes(LLAMA, method="lora", base_dtype="fp8")
    assert fp8.weights_bytes == L * sum(a * b for a, b in linear) + 2 * (2 * V * H + (2 * L + 1) * H)


def test_activations_by_hand():
    s, b = 1024, 2
    t = s * b
    norm = 4 * t * H + 4 * t + 2 * t * H + 2 * t * H
    eager = (2 * t * NH * D + 2 * 2 * t * NH * D + 6 * t * NH * s + 2 * t * NH * D)
    sdpa = 2 * t * NH * D + 2 * 2 * t * NKV * D + 2 * t * NH * D + 4 * t * NH
    outside = 8 * t + 4 * s * D + norm + 4 * t * V + 8 * t + 4
    for kind, attn in (("eager", eager), ("sdpa", sdpa)):
        got = tr.activation_bytes(LLAMA, seq_len=s, micro_batch=b, attention=kind)
        assert got == outside + L * (2 * norm + attn + 8 * t * I)
    ckpt = tr.activation_bytes(LLAMA, seq_len=s, micro_batch=b, checkpointing="layer")
    assert ckpt == outside - 4 * s * D + L * 2 * t * H


def test_zero_and_offload():
    t0 = tr.fine_tuning_bytes(LLAMA)
    ceil = lambda x, n: -(-x // n)
    for stage, n in (("1", 4), ("2", 8), ("3", 8), ("fsdp", 2)):
        t = tr.fine_tuning_bytes(LLAMA, zero=stage, n_gpus=n)
        assert t.optimizer_bytes == ceil(t0.optimizer_bytes, n)
        assert t.master_weights_bytes == ceil(t0.master_weights_bytes, n)
        assert t.gradients_bytes == (t0.gradients_bytes if stage == "1"
                                     else ceil(t0.gradients_bytes, n))
        sharded = stage in ("3", "fsdp")
        assert t.weights_bytes == (ceil(t0.weights_bytes, n) if sharded else t0.weights_bytes)
        assert t.gathered_weights_bytes == (ceil(t0.weights_bytes, L) if sharded else 0)
    off = tr.fine_tuning_bytes(LLAMA, zero=3, n_gpus=8, offload="all")
    assert off.weights_bytes == off.gradients_bytes == off.optimizer_bytes == 0
    z3 = tr.fine_tuning_bytes(LLAMA, zero=3, n_gpus=8)
    assert off.cpu_bytes == z3.model_state_bytes
    with pytest.raises(ValueError, match="zero=3"):
        tr.fine_tuning_bytes(LLAMA, offload="all")


def test_what_fits_is_the_edge():
    cap = 24 * 2**30
    kw = dict(method="qlora", checkpointing="layer")
    b = tr.max_micro_batch(LLAMA, cap, seq_len=2048, **kw)
    assert tr.fine_tuning_bytes(LLAMA, seq_len=2048, micro_batch=b, **kw).total_bytes <= cap
    assert tr.fine_tuning_bytes(LLAMA, seq_len=2048, micro_batch=b + 1, **kw).total_bytes > cap
    s = tr.max_seq_len(LLAMA, cap, **kw)
    assert tr.fine_tuning_bytes(LLAMA, seq_len=s, **kw).total_bytes <= cap
    assert tr.fine_tuning_bytes(LLAMA, seq_len=s + 1, **kw).total_bytes > cap
    assert tr.max_micro_batch(LLAMA, 10**9, seq_len=2048) == 0


@pytest.mark.parametrize("name", ["Qwen/Qwen3-30B-A3B", "deepseek-ai/DeepSeek-V3",
                                  "mistralai/Mixtral-8x7B-v0.1", "Qwen/Qwen1.5-MoE-A2.7B"])
def test_every_part_for_moe_models(name):
    spec = get_model(name)
    assert sum(x.numel * x.count for x in tr.parameter_tensors(spec)) == spec.param_count()
    for method in ("full", "lora", "qlora"):
        t = tr.fine_tuning_bytes(spec, method=method, seq_len=512, lora_targets="all-linear")
        assert all(v >= 0 for v in t.parts().values()) and t.total_bytes > 0
    q = tr.fine_tuning_bytes(spec, method="qlora")
    lo = tr.fine_tuning_bytes(spec, method="lora")
    assert q.weights_bytes < lo.weights_bytes   # experts stay 16-bit, the rest is NF4


def test_fine_tuning_refuses_bad_input():
    with pytest.raises(ValueError, match="training method"):
        tr.fine_tuning_bytes(LLAMA, method="qlroa")
    with pytest.raises(ValueError, match="checkpointing"):
        tr.fine_tuning_bytes(LLAMA, seq_len=8, checkpointing="full")
    with pytest.raises(ValueError, match="ZeRO stage"):
        tr.fine_tuning_bytes(LLAMA, zero=4)
    with pytest.raises(ValueError, match="base dtype"):
        tr.fine_tuning_bytes(LLAMA, method="lora", base_dtype="int3")
    with pytest.raises(ValueError, match="attention implementation"):
        tr.fine_tuning_bytes(LLAMA, seq_len=8, attention="flash")


# ---- the command line -----------------------------------------------------------------------

def test_cli_train_json_has_the_parts_and_the_fit():
    import json

    from vramlib.cli import main, run
    out = json.loads(run(["Llama-3.1-8B", "--train", "qlora", "--seq-len", "2048",
                          "--checkpointing", "layer", "--gpu", "RTX 4090", "--json"]))["train"]
    t = tr.fine_tuning_bytes(LLAMA, method="qlora", seq_len=2048, checkpointing="layer")
    assert out["trainable_params"] == 41_943_040
    assert out["parts_bytes"] == t.parts() and out["total_bytes"] == t.total_bytes
    assert out["fits"] is True and out["max_micro_batch"] >= 1
    assert out["max_seq_len"] == tr.max_seq_len(LLAMA, out["capacity_bytes"], method="qlora",
                                                checkpointing="layer")
    text = run(["Llama-3.1-8B", "--train", "full", "--zero", "3", "--gpus", "8"])
    assert "ZeRO 3 over 8 GPUs" in text and "GiB (2^30 B)" in text
    assert main(["Llama-3.1-8B", "--train", "lora", "--lora-targets", "q_prj"]) == 2
    assert main(["Llama-3.1-8B", "--train", "lora", "--optimizer", "adma"]) == 2
    assert main(["Llama-3.1-8B", "--train", "lora", "--seq-len", "0"]) == 2
