"""tools/measure.py, the measurement harness behind chapter 7, run on the CPU.

Needs torch and transformers (requirements-validate.txt); nothing is downloaded. Expected byte counts
are written out from the architectures' shapes here, not taken from the harness or from vramlib.
"""

from __future__ import annotations

import csv
import importlib.util
import re
from pathlib import Path

import pytest

from vramlib.models import ModelSpec

ROOT = Path(__file__).parents[2]
_spec = importlib.util.spec_from_file_location("measure", ROOT / "tools" / "measure.py")
measure = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(measure)

NO_TOKENS = dict(pad_token_id=None, bos_token_id=None, eos_token_id=None)
CUDA_COLUMNS = [
    c
    for c in measure.COLUMNS
    if "driver" in c
    or "allocated" in c
    or "reserved" in c
    or c == "cuda_context_bytes_measured"
    or c == "cuda_version"
]


def tiny(model_type: str, **extra) -> dict:
    cfg = dict(
        model_type=model_type,
        vocab_size=128,
        hidden_size=64,
        num_hidden_layers=3,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=96,
        **NO_TOKENS,
    )
    cfg.update(extra)
    return cfg


@pytest.fixture(scope="module")
def llama_row() -> dict:
    return measure.measure(tiny("llama"), "fp32", tokens=7, batch=2, decode_steps=3)


def test_tiny_llama_weights_and_cache_are_exact(llama_row):
    h, v, layers, kv_heads, head_dim, inter = 64, 128, 3, 2, 16, 96
    per_layer = (
        2 * h * h + 2 * h * kv_heads * head_dim + 3 * h * inter + 2 * h
    )  # q,o; k,v; MLP; 2 norms
    params = 2 * v * h + layers * per_layer + h  # embed, head, final norm
    assert llama_row["params_measured"] == params == llama_row["pred_params"]
    assert (
        llama_row["weights_bytes_measured"]
        == 4 * params
        == llama_row["pred_weights_bytes"]
    )
    row_bytes = 2 * kv_heads * head_dim * 4  # K and V rows, fp32
    assert (
        llama_row["kv_prefill_bytes_measured"]
        == layers * 7 * 2 * row_bytes
        == llama_row["pred_kv_prefill_bytes"]
    )
    assert (
        llama_row["kv_bytes_measured"]
        == layers * (7 + 3) * 2 * row_bytes
        == llama_row["pred_kv_bytes"]
    )
    assert llama_row["kv_tokens"] == 10


def test_tied_embeddings_are_counted_once():
    """transformers ties the LM head to the embedding in init_weights, which the harness skips for
    speed; it must tie them itself, or a tied model is measured with two tables."""
    row = measure.measure(
        tiny("llama", tie_word_embeddings=True, num_hidden_layers=1),
        "bf16",
        tokens=3,
        batch=1,
        decode_steps=0,
    )
    h, v = 64, 128
    params = (
        v * h + (2 * h * h + 2 * h * 2 * 16 + 3 * h * 96 + 2 * h) + h
    )  # one table, one layer
    assert row["params_measured"] == params == row["pred_params"]
    assert row["weights_bytes_measured"] == 2 * params


def test_cpu_row_leaves_cuda_columns_empty_and_fills_the_rest(llama_row):
    assert set(llama_row) == set(measure.COLUMNS)
    assert all(llama_row[c] in ("", None) for c in CUDA_COLUMNS)
    assert llama_row["device"] == "cpu" and llama_row["model"] == "config:llama"
    assert llama_row["layers_measured"] == llama_row["layers_full"] == 3
    filled = [
        c for c in measure.COLUMNS if c not in CUDA_COLUMNS and c != "driver_version"
    ]
    assert all(llama_row[c] not in ("", None) for c in filled), [
        c for c in filled if llama_row[c] in ("", None)
    ]
    w = llama_row["weights_bytes_measured"]
    assert llama_row["pred_flat_total_bytes"] == w + -(
        -w // 5
    )  # the seeds' x 1.2, rounded up


def test_sliding_window_layers_keep_one_token_less_than_vramlib_counts():
    """transformers trims a sliding layer to W - 1 tokens between steps; vramlib counts the W the
    next token reads. Past the window the two differ by one token per sliding layer."""
    row = measure.measure(
        tiny("mistral", sliding_window=4), "fp32", tokens=6, batch=2, decode_steps=2
    )
    row_bytes = 2 * 2 * 16 * 4
    assert row["kv_bytes_measured"] == 3 * (4 - 1) * 2 * row_bytes
    assert row["pred_kv_bytes"] == 3 * 4 * 2 * row_bytes


def test_mla_cache_is_the_latent():
    cfg = tiny(
        "deepseek_v3",
        n_routed_experts=4,
        num_experts_per_tok=2,
        n_group=1,
        topk_group=1,
        moe_intermediate_size=16,
        first_k_dense_replace=1,
        kv_lora_rank=20,
        q_lora_rank=12,
        qk_rope_head_dim=8,
        qk_nope_head_dim=12,
        v_head_dim=10,
        num_key_value_heads=4,
    )
    row = measure.measure(cfg, "bf16", tokens=5, batch=3, decode_steps=2)
    assert (
        row["kv_bytes_measured"]
        == 3 * (5 + 2) * 3 * (20 + 8) * 2
        == row["pred_kv_bytes"]
    )
    # transformers 5.24 builds DeepSeek-V3's router weight in fp32 whatever the model's
    # dtype (DeepseekV3TopkRouter); vramlib counts it in the weights' bf16.
    # The prediction also counts the routers' fp32 score-correction biases, buffers the
    # checkpoint stores (4 experts x 4 bytes in each of the 2 MoE layers), which the
    # measured column (parameters only) leaves out.
    router = ModelSpec.from_hf_config(cfg).param_groups()["router"]
    score_bias = 2 * 4 * 4
    assert (
        row["weights_bytes_measured"]
        == row["pred_weights_bytes"] - score_bias + 2 * router
    )


def test_catalogue_model_cut_to_one_layer():
    """LLaMA 7B (seed 002) with one of its 32 layers, in bf16: weights and cache by hand."""
    row = measure.measure(
        "huggyllama/llama-7b", "bf16", tokens=8, batch=1, decode_steps=2, layers=1
    )
    h, v, inter = 4096, 32000, 11008
    params = 2 * v * h + (4 * h * h + 3 * h * inter + 2 * h) + h
    assert row["weights_bytes_measured"] == 2 * params == row["pred_weights_bytes"]
    assert (
        row["kv_bytes_measured"] == 1 * (8 + 2) * 2 * 4096 * 2 == row["pred_kv_bytes"]
    )
    assert (row["layers_measured"], row["layers_full"]) == (1, 32)
    assert row["model"] == "huggyllama/llama-7b"
    # every weight page was written, so the process grew by at least the weights
    assert (
        row["load_rss_bytes"] - row["baseline_rss_bytes"]
        >= row["weights_bytes_measured"]
    )
    assert row["prefill_peak_rss_bytes"] >= row["prefill_rss_bytes"]


def test_reduced_config_cuts_layers_and_experts():
    red = measure.reduced_config("Qwen/Qwen3-30B-A3B", layers=2, experts=16)
    assert (red["layers_full"], red["experts_full"]) == (48, 128)
    assert (
        red["config"]["num_hidden_layers"] == 2 and red["config"]["num_experts"] == 16
    )
    assert (
        "quantization_config"
        not in measure.reduced_config("deepseek-ai/DeepSeek-V3", layers=1)["config"]
    )
    with pytest.raises(ValueError, match="layers"):
        measure.reduced_config("Llama-3.1-8B", layers=33)
    with pytest.raises(ValueError, match="experts"):
        measure.reduced_config("Llama-3.1-8B", experts=2)
    with pytest.raises(ValueError, match="dtype"):
        measure.measure(tiny("llama"), "int8", tokens=4, batch=1, decode_steps=0)


def test_cli_appends_rows_under_one_header(tmp_path):
    import json

    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(tiny("qwen2", num_hidden_layers=1)))
    out = tmp_path / "m.csv"
    for dtype in ("bf16", "fp32"):
        assert (
            measure.main(
                [
                    "--config",
                    str(cfg),
                    "--dtype",
                    dtype,
                    "--tokens",
                    "5",
                    "--batch",
                    "1",
                    "--decode-steps",
                    "1",
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
    with out.open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == measure.COLUMNS and len(rows) == 3
    data = [dict(zip(rows[0], r)) for r in rows[1:]]
    assert [r["dtype"] for r in data] == ["bf16", "fp32"]
    assert all(r["weights_bytes_measured"] == r["pred_weights_bytes"] for r in data)
    assert int(data[1]["weights_bytes_measured"]) == 2 * int(
        data[0]["weights_bytes_measured"]
    )


def test_a_file_with_other_columns_is_refused(tmp_path):
    out = tmp_path / "old.csv"
    out.write_text("date_utc,model\n2024-01-01,x\n")
    with pytest.raises(ValueError, match="different columns"):
        measure.append_row(out, {})


def test_committed_measurements_match_the_harness_and_the_readme():
    """The CSVs in vramlib/data/measurements were written by this harness (same header), and the README
    describes every column."""
    folder = ROOT / "vramlib" / "data" / "measurements"
    csvs = sorted(folder.glob("*.csv"))
    assert csvs, "no measurements committed"
    for path in csvs:
        with path.open(newline="") as f:
            assert next(csv.reader(f)) == measure.COLUMNS, path.name
    documented = set(
        re.findall(
            r"^\| `([a-z_0-9]+)`", (folder / "README.md").read_text(), flags=re.M
        )
    )
    assert documented == set(measure.COLUMNS)
