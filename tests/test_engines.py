"""Engine models against hand-derived figures: vLLM pages, groups and budgets, SGLang's
pool, llama.cpp's buffers and placement. Expected values are written out from the
configs and the engines' rules, not taken from the code under test."""

import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vramlib import cli, get_model
from vramlib.engines import engine_version, llamacpp, sglang, vllm
from vramlib.layers import Layer
from vramlib.layers.attention import Attention
from vramlib.layers.ffn import DenseMLP, NoFFN
from vramlib.layers.ssm import Mamba2
from vramlib.models import ModelSpec

GIB, MIB = 2**30, 2**20
L31 = "meta-llama/Llama-3.1-8B"


def llama8b_params():
    v, h, n, kv, d, i, L = 128256, 4096, 32, 8, 128, 14336, 32
    layer = 2 * h * n * d + 2 * h * kv * d + 3 * h * i + 2 * h
    return 2 * v * h + L * layer + h


# ---- vLLM ----------------------------------------------------------------------------


def test_vllm_weights_bf16_with_rotary_cache():
    expected = 2 * llama8b_params() + 131072 * 128 * 2
    assert vllm.weights_bytes_per_gpu(L31) == expected


def test_vllm_weights_split_over_two_ranks_keep_norms_whole():
    norms = (2 * 32 + 1) * 4096 * 2
    split = 2 * llama8b_params() - norms
    expected = split // 2 + norms + 8192 * 128 * 2
    assert (
        vllm.weights_bytes_per_gpu("meta-llama/Meta-Llama-3-8B", "bf16", 2) == expected
    )


def test_vllm_page_and_blocks_for_llama():
    layout = vllm.kv_layout(L31)
    page = 16 * 2 * 8 * 128 * 2
    assert (layout.page_bytes, layout.group_size, layout.block_size) == (page, 32, 16)
    budget = 55 * GIB + 12345
    blocks = budget // page // 32
    assert layout.num_blocks(budget) == blocks
    assert layout.tokens(blocks) == blocks * 16
    assert layout.concurrency(blocks, 20000, 8192) == blocks / math.ceil(20000 / 16)


def test_vllm_fp8_cache_halves_the_page_and_tp_beyond_kv_heads_replicates():
    assert vllm.kv_layout(L31, kv_cache_dtype="fp8").page_bytes == 16 * 2 * 8 * 128
    qwen = "Qwen/Qwen3-235B-A22B"  # 4 KV heads: at TP 8 each rank keeps one
    assert vllm.kv_layout(qwen, tensor_parallel=8).page_bytes == 16 * 2 * 1 * 128 * 2
    assert vllm.kv_layout(qwen, tensor_parallel=2).page_bytes == 16 * 2 * 2 * 128 * 2


def test_vllm_sliding_and_full_layers_make_two_groups():
    gemma = get_model("google/gemma-2-9b")  # 21 sliding (4096) + 21 full, 8 x 256
    layout = vllm.kv_layout(gemma)
    page = 16 * 2 * 8 * 256 * 2
    assert layout.page_bytes == page and layout.group_size == 21
    assert sorted(s.kind for s, _ in layout.groups) == ["full", "sliding"]
    budget = 20 * GIB
    blocks = budget // page // 21
    assert layout.num_blocks(budget) == blocks
    assert layout.tokens(blocks) == blocks // 2 * 16
    full = math.ceil(8192 / 16)
    sliding = math.ceil(min(4096 - 1 + 8192, 8192) / 16) + 1
    assert layout.request_blocks(8192, 8192) == full + sliding
    merged = vllm.kv_layout(gemma, hybrid_kv_manager=False)
    assert merged.groups[0][0].kind == "full" and merged.group_size == 42


def hybrid_spec(n_mamba=6, n_attn=2):
    h = 1024
    mamba = Layer(
        Mamba2(h, heads=32, head_dim=64, state_size=128, groups=8, conv_kernel=4),
        NoFFN(),
        h,
        norms=1,
    )
    attn = Layer(Attention(h, heads=8, kv_heads=2, head_dim=128), DenseMLP(h, 4096), h)
    layers = (mamba,) * n_mamba + (attn,) * n_attn
    return ModelSpec(
        "hybrid_test",
        32000,
        h,
        len(layers),
        8,
        2,
        128,
        4096,
        layers=layers,
        max_position_embeddings=65536,
    )


def test_vllm_hybrid_pads_attention_pages_to_the_state_page():
    conv = (32 * 64 + 2 * 8 * 128) * (4 - 1) * 2  # K - 1 columns, bf16
    ssm = 32 * 64 * 128 * 2
    state = conv + ssm
    per_token = 2 * 2 * 128 * 2
    block = 16 * math.ceil(state / (16 * per_token))
    layout = vllm.kv_layout(hybrid_spec())
    assert layout.block_size == block == 544
    assert layout.page_bytes == block * per_token
    assert layout.mamba_padding == block * per_token - state
    assert (
        layout.group_size == 2 and len(layout.groups) == 4
    )  # 3 state groups, 1 attention
    budget = 10 * GIB
    blocks = budget // layout.page_bytes // 2
    assert layout.num_blocks(budget) == blocks
    assert layout.tokens(blocks) == blocks // 4 * 544
    assert layout.request_blocks(8192, 8192) == 3 + math.ceil(8192 / 544)


def test_vllm_hybrid_block_sizes_of_nemotron_3_nano():
    # Nemotron 3 Nano 30B-A3B: Mamba-2 of 64 heads x 64, 8 groups of state 128, kernel
    # 4; attention with 2 KV heads of 128. fp8 KV cache, fp32 SSM state, --block-size 32
    # (the settings of vllm-project/vllm#41037, which reports 4192, 4192 and 2112 tokens
    # at TP 1, 2 and 4).
    staging = Path(__file__).resolve().parent.parent / "data" / "staging"
    entry = next(
        m
        for m in json.loads((staging / "models-2026.json").read_text())["models"]
        if m["id"] == "nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16"
    )
    spec = ModelSpec.from_hf_config(entry["config"])
    for tp, expected in ((1, 4192), (2, 4192), (4, 2112)):
        conv = (64 * 64 + 2 * 8 * 128) // tp * (4 - 1) * 2
        ssm = 64 // tp * 64 * 128 * 4
        attn = 2 * max(1, 2 // tp) * 128 * 1
        block = 32 * math.ceil((conv + ssm) / (32 * attn))
        layout = vllm.kv_layout(
            spec,
            kv_cache_dtype="fp8",
            tensor_parallel=tp,
            block_size=32,
            mamba_ssm_dtype="fp32",
        )
        assert layout.block_size == block == expected


def test_vllm_v0_block_and_prediction_arithmetic():
    assert vllm.v0_block_bytes(L31) == 16 * 32 * 2 * 8 * 128 * 2
    p = vllm.predict(
        L31,
        "RTX 3090",
        max_model_len=20000,
        accounting="v0",
        non_torch_bytes=0,
        total_bytes=24 * GIB,
    )
    budget = int(24 * GIB * 0.9 - p.weights_bytes_per_gpu - p.activation_bytes)
    assert p.kv_pool_bytes == budget
    assert p.num_blocks == budget // (16 * 32 * 4096)
    assert p.max_concurrency == p.num_blocks * 16 / 20000


def test_vllm_largest_max_model_len_is_the_token_capacity_for_full_attention():
    p = vllm.predict(L31, "H100", max_model_len=8192)
    assert p.largest_max_model_len == min(p.kv_cache_tokens, 131072)
    tight = vllm.predict(L31, "RTX 4090", max_model_len=131072)
    assert not tight.fits
    assert tight.largest_max_model_len == tight.kv_cache_tokens


def test_vllm_torch_total_is_nvidia_smi_less_the_driver_share():
    assert vllm.torch_total_bytes("H100") == (81559 - 434) * MIB


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 80 * GIB), st.integers(1, 200_000))
def test_vllm_blocks_never_exceed_the_budget(budget, length):
    layout = vllm.kv_layout(L31)
    blocks = layout.num_blocks(budget)
    assert blocks * layout.page_bytes * layout.group_size <= max(budget, 0)
    assert layout.num_blocks(budget + layout.page_bytes * 32) == blocks + 1
    if blocks:
        longer = layout.concurrency(blocks, length + 16, 8192)
        assert longer <= layout.concurrency(blocks, length, 8192)


def test_vllm_refuses_what_it_does_not_model():
    with pytest.raises(ValueError, match="accounting.*Did you mean 'v0'"):
        vllm.predict(L31, "H100", accounting="v00")
    with pytest.raises(ValueError, match="gpu_memory_utilization"):
        vllm.predict(L31, "H100", gpu_memory_utilization=1.5)
    with pytest.raises(ValueError, match="v0"):
        vllm.v0_block_bytes(hybrid_spec())


# ---- SGLang --------------------------------------------------------------------------


def test_sglang_cell_and_pool():
    qwen = "Qwen/Qwen3-235B-A22B"
    cell = 1 * 128 * 94 * 2 * 2
    assert sglang.cell_bytes(qwen, tensor_parallel=4) == cell
    assert (
        sglang.kv_size_bytes(qwen, 367404, tensor_parallel=4)
        == (367404 + 1) * 94 * 128 * 2
    )
    free, weights = 70 * GIB, 50 * GIB
    tokens = int((free * 0.9 - weights) // cell)
    assert sglang.max_total_num_tokens(free, weights, cell, 0.9) == tokens
    mla = get_model("deepseek-ai/DeepSeek-V3")
    assert sglang.cell_bytes(mla) == (512 + 64) * 61 * 2


# ---- llama.cpp -----------------------------------------------------------------------


def test_llamacpp_cells_are_padded():
    assert llamacpp.kv_cells(100) == 128
    assert llamacpp.kv_cells(100, flash_attn=True) == 256
    assert llamacpp.kv_cells(4096) == 4096


def test_llamacpp_quantized_kv_and_sliding_layers():
    qwen = "Qwen/Qwen2.5-32B"
    kv = llamacpp.kv_layer_bytes(
        qwen, 32768, cache_type_k="q8_0", cache_type_v="q8_0", flash_attn=True
    )
    assert sum(k + v for k, v in kv) == 64 * 32768 * (1024 // 32 * 34) * 2 == 4352 * MIB
    gemma = get_model("google/gemma-2-9b")
    kv = llamacpp.kv_layer_bytes(gemma, 32768, n_ubatch=512)
    cells = [k // (8 * 256 * 2) for k, _ in kv]
    assert set(cells) == {32768, 4608}  # 4096 + 512, padded to 256
    assert cells.count(4608) == 21


def llama_layer_q4_0():
    h, kv, i = 4096, 1024, 14336
    weights = (2 * h * h + 2 * h * kv + 3 * h * i) * 18 // 32
    return weights + 2 * h * 4


def test_llamacpp_partial_offload_places_the_last_layers_on_the_gpu():
    p = llamacpp.predict(L31, precision="q4_0", n_ctx=4096, n_gpu_layers=16)
    emb = 128256 * 4096 * 18 // 32
    head = 128256 * 4096 * 210 // 256  # output.weight in q6_K
    assert p.gpu_model_bytes == 16 * llama_layer_q4_0()
    assert p.host_model_bytes == emb + 16 * llama_layer_q4_0() + head + 4096 * 4
    kv_layer = 4096 * 1024 * 2 * 2
    assert (p.gpu_kv_bytes, p.host_kv_bytes) == (16 * kv_layer, 16 * kv_layer)
    full = llamacpp.predict(L31, precision="q4_0", n_ctx=4096)
    assert full.gpu_model_bytes == 32 * llama_layer_q4_0() + head + 4096 * 4
    assert full.host_model_bytes == emb


def test_llamacpp_experts_on_the_cpu():
    moe = "Qwen/Qwen3-30B-A3B"
    spec = get_model(moe)
    all_gpu = llamacpp.predict(moe, precision="q8_0")
    some = llamacpp.predict(moe, precision="q8_0", n_cpu_moe=4)
    h, w, e = spec.hidden_size, spec.moe_intermediate_size, spec.num_experts
    experts = 3 * e * h * w * 34 // 32
    assert all_gpu.gpu_model_bytes - some.gpu_model_bytes == 4 * experts
    assert some.host_model_bytes - all_gpu.host_model_bytes == 4 * experts


def test_llamacpp_inverse_questions():
    best = llamacpp.max_gpu_layers(L31, "RTX 3060", precision="q8_0", n_ctx=32768)
    free = llamacpp.free_gpu_bytes("RTX 3060")
    assert 0 < best < 33
    fits = llamacpp.predict(L31, precision="q8_0", n_ctx=32768, n_gpu_layers=best)
    assert fits.gpu_bytes <= free
    over = llamacpp.predict(L31, precision="q8_0", n_ctx=32768, n_gpu_layers=best + 1)
    assert over.gpu_bytes > free
    moe = "Qwen/Qwen3-30B-A3B"
    k = llamacpp.min_cpu_moe(moe, "RTX 3060", precision="q4_0", n_ctx=8192)
    free = llamacpp.free_gpu_bytes("RTX 3060")
    assert 0 < k < 48
    assert (
        llamacpp.predict(moe, precision="q4_0", n_ctx=8192, n_cpu_moe=k).gpu_bytes
        <= free
    )
    assert (
        llamacpp.predict(moe, precision="q4_0", n_ctx=8192, n_cpu_moe=k - 1).gpu_bytes
        > free
    )


def test_llamacpp_decode_bound_adds_both_memories():
    p = llamacpp.predict(L31, precision="q4_0", n_ctx=4096, n_gpu_layers=16)
    gpu_read = 16 * llama_layer_q4_0()
    host_read = 16 * llama_layer_q4_0() + 128256 * 4096 * 210 // 256 + 4096 * 4
    bound = p.decode_tokens_per_s_bound(1_000 * 10**9, 100 * 10**9)
    assert bound == pytest.approx(1 / (gpu_read / 1e12 + host_read / 1e11))
    with pytest.raises(ValueError, match="host_bandwidth"):
        p.decode_tokens_per_s_bound(10**12)


def test_llamacpp_refusals_name_the_argument():
    with pytest.raises(ValueError, match="cache_type_k.*Accepted"):
        llamacpp.kv_layer_bytes(L31, 4096, cache_type_k="q6_K")
    with pytest.raises(ValueError, match="ggml type.*Did you mean.*'q4_0'"):
        llamacpp.ggml_type("q4_O")
    with pytest.raises(ValueError, match="no experts"):
        llamacpp.min_cpu_moe(L31, "RTX 4090")


# ---- the command line ----------------------------------------------------------------


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_vllm_json_carries_the_figures(capsys):
    code, out, _ = run_cli(
        capsys,
        "Llama-3.1-8B",
        "--engine",
        "vllm",
        "--gpu",
        "H100",
        "--context",
        "32768",
        "--json",
    )
    assert code == 0
    data = json.loads(out)["engine"]
    for key in (
        "kv_cache_tokens",
        "max_concurrency",
        "kv_pool_bytes",
        "weights_bytes_per_gpu",
        "version",
    ):
        assert key in data
    assert data["gpu_memory_utilization"] == 0.9  # vLLM's default, not the CLI's 1.0
    expected = vllm.predict(L31, "H100", max_model_len=32768)
    assert data["kv_cache_tokens"] == expected.kv_cache_tokens


def test_cli_llamacpp_json_and_text(capsys):
    code, out, _ = run_cli(
        capsys,
        "Llama-3.1-8B",
        "--engine",
        "llama.cpp",
        "--precision",
        "q4_0",
        "--ngl",
        "20",
        "--gpu",
        "RTX 3060",
        "--json",
    )
    assert code == 0
    data = json.loads(out)["engine"]
    for key in (
        "gpu_bytes",
        "host_bytes",
        "kv_bytes",
        "compute_buffer_bytes",
        "version",
        "max_gpu_layers",
    ):
        assert key in data
    assert data["n_gpu_layers"] == 20
    code, out, _ = run_cli(
        capsys,
        "Llama-3.1-8B",
        "--engine",
        "llama.cpp",
        "--precision",
        "q4_0",
        "--gpu",
        "RTX 3060",
    )
    assert code == 0 and "highest -ngl that fits" in out


def test_cli_engine_errors_are_one_line(capsys):
    code, _, err = run_cli(capsys, "Llama-3.1-8B", "--engine", "vlm", "--gpu", "H100")
    assert code == 2 and "--engine" in err and "'vllm'" in err and err.count("\n") == 1
    code, _, err = run_cli(
        capsys, "Llama-3.1-8B", "--engine", "sglang", "--gpu", "H100"
    )
    assert code == 2 and "--mem-fraction-static" in err
    code, _, err = run_cli(capsys, "Llama-3.1-8B", "--engine", "vllm", "--gpu", "H10O")
    assert code == 2 and "--gpu" in err
    code, _, err = run_cli(capsys, "Llama-3.1-8B", "--engine", "llama.cpp")
    assert code == 2 and "--precision" in err


def test_engine_versions_are_stated():
    for engine in ("vllm", "sglang", "llama.cpp"):
        assert engine_version(engine)
