"""Weights against the byte counts of published checkpoints.

vramlib/data/checkpoints/published_sizes.json keeps real configs with the sizes their
publishers' files state: the ``metadata.total_size`` of a safetensors index (the
tensors' bytes, exactly) or the sizes of the ``.safetensors`` files themselves (tensors
plus each file's header). Each test builds the folder a user would point vramlib at
(config.json, and the index when there is one) and compares what vramlib counts with
what the files say. The expected values are the published numbers and the allowances
are derived by hand below; where a test also needs a part vramlib counts (DeepSeek's
extra decoder layer, vLLM's rotary cache), it says so.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import vramlib
from vramlib.checkpoint import source

DATA = json.loads(
    (
        Path(vramlib.__file__).parent / "data" / "checkpoints" / "published_sizes.json"
    ).read_text()
)["entries"]
BY_ID = {e["id"]: e for e in DATA}

# The config says bfloat16, but the index's total_size is four bytes a parameter.
DTYPE_DISAGREES = {"ByteDance-Seed/UI-TARS-1.5-7B"}
# bitsandbytes 4-bit: each module's JSON quant state holds a float whose printed
# length varies (see vramlib.checkpoint.quant._bnb_state_json).
FLOAT_TEXT = {"Irfanuruchi/Llama-2-13B-Computer-Engineering"}
EXACT = [
    e
    for e in DATA
    if e["kind"] == "index" and e["id"] not in DTYPE_DISAGREES | FLOAT_TEXT
]
GPTQ_FILES = [
    e for e in DATA if e["kind"] == "files" and e["id"].startswith("TheBloke/")
]
WITH_MTP = "deepseek-ai/DeepSeek-R1"
OTHER_FILES = [
    e
    for e in DATA
    if e["kind"] == "files"
    and not e["id"].startswith("TheBloke/")
    and e["id"] != WITH_MTP
]


def folder(tmp_path: Path, entry: dict) -> Path:
    """What a user downloads, less the weights: config.json, and the index when the
    sizes come from one."""
    (tmp_path / "config.json").write_text(json.dumps(entry["config"]))
    if entry["kind"] == "index":
        index = {"metadata": {"total_size": entry["total_size"]}, "weight_map": {}}
        (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    return tmp_path


def weights(tmp_path: Path, entry: dict) -> tuple[int, object]:
    spec = source.load(str(folder(tmp_path, entry)))
    return vramlib.estimate(spec).weights_bytes, spec


def test_the_data_names_its_sources():
    assert len(DATA) >= 40
    for e in DATA:
        assert e["source_config"].startswith("https://github.com/"), e["id"]
        assert e["source_sizes"].startswith("https://github.com/"), e["id"]
        assert (e["kind"] == "index") == ("total_size" in e), e["id"]


@pytest.mark.parametrize("entry", EXACT, ids=lambda e: e["id"])
def test_weights_are_the_index_total_size(tmp_path, entry):
    got, spec = weights(tmp_path, entry)
    assert got == entry["total_size"]
    assert "index total_size" in source.describe(spec)
    assert "the weights counted, exactly" in source.describe(spec)


def test_the_exact_set_covers_the_formats():
    """Plain bf16 and fp32, multimodal towers, MXFP4, AWQ and bitsandbytes 8-bit."""
    methods = set()
    for e in EXACT:
        q = e["config"].get("quantization_config") or {}
        methods.add(q.get("quant_method", e["config"].get("torch_dtype")))
    assert {"bfloat16", "float32", "mxfp4", "awq", "bitsandbytes"} <= methods
    assert {"gemma3", "gemma4", "qwen2_5_vl", "qwen3_5"} <= {
        e["config"]["model_type"] for e in EXACT
    }


@pytest.mark.parametrize(
    "model_id", ["google/medgemma-27b-it", "google/gemma-4-31B-it"]
)
def test_total_parameters_count_the_tied_head_again(tmp_path, model_id):
    """These indexes also state total_parameters: every parameter with the tied LM
    head counted a second time (vocab x hidden of the text model)."""
    entry = BY_ID[model_id]
    _, spec = weights(tmp_path, entry)
    text = entry["config"]["text_config"]
    head = text["vocab_size"] * text["hidden_size"]
    assert spec.tie_word_embeddings
    assert spec.param_count() + head == entry["total_parameters"]


def test_gemma4_buffers_are_in_the_total(tmp_path):
    """Gemma 4 stores a layer_scalar per decoder layer and its vision tower's
    standardization bias and scale (buffers, no parameters): 60 + 2 x 1152 values."""
    entry = BY_ID["google/gemma-4-31B-it"]
    got, spec = weights(tmp_path, entry)
    vision = entry["config"]["vision_config"]
    assert vision["standardize"] is True
    assert spec.buffers() == {"model": 60 + 2 * vision["hidden_size"]}
    assert got - 2 * (60 + 2 * vision["hidden_size"]) == 2 * spec.param_count()


def test_bnb_nf4_is_exact_but_for_the_quant_state_float(tmp_path):
    """bitsandbytes writes each module's quant state as JSON into a uint8 tensor; its
    nested_offset is a float printed at its own length (up to 20 characters here), so
    the count may differ by a few bytes per quantized module: 7 a layer."""
    entry = BY_ID["Irfanuruchi/Llama-2-13B-Computer-Engineering"]
    got, _ = weights(tmp_path, entry)
    modules = 7 * entry["config"]["num_hidden_layers"]
    assert abs(got - entry["total_size"]) <= 4 * modules


def test_a_config_that_misstates_its_dtype_is_shown_against_the_index(tmp_path):
    entry = BY_ID["ByteDance-Seed/UI-TARS-1.5-7B"]
    assert entry["config"]["torch_dtype"] == "bfloat16"
    got, spec = weights(tmp_path, entry)
    assert 2 * got == entry["total_size"]  # the files hold fp32
    text = source.describe(spec)
    assert f"{entry['total_size'] - got:,} bytes more" in text


# ---- file sizes: tensors plus headers ---------------------------------------------------

# A safetensors header entry is the tensor's name, dtype, shape and two offsets as
# JSON: {"model.layers.0.mlp.up_proj.qweight":{"dtype":"I32","shape":[640,13824],
# "data_offsets":[1,2]}} -- between 40 and 300 bytes for these names.
HEADER_MIN, HEADER_MAX = 40, 300


def llama_tensors(cfg: dict, per_linear: int) -> int:
    """Tensors of a Llama-layout checkpoint: seven linear layers a layer with
    ``per_linear`` tensors each, two norms a layer, the embedding, final norm and
    head."""
    return cfg["num_hidden_layers"] * (7 * per_linear + 2) + 3


def zero_biases(cfg: dict) -> int:
    """AutoGPTQ of 2023 saved an fp16 bias for every quantized linear layer, all zeros,
    whether or not the model has biases (github.com/AutoGPTQ/AutoGPTQ/issues/555;
    loaders skip them: github.com/huggingface/optimum/pull/1827)."""
    h, i, n = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    kv = (
        h
        // cfg["num_attention_heads"]
        * cfg.get("num_key_value_heads", cfg["num_attention_heads"])
    )
    return 2 * n * (h + kv + kv + h + i + i + h)


# The two earliest uploads of Wizard-Vicuna-30B (May 2023, transformers 4.28) hold
# 2.65 MB more than the bias-and-header account explains; the later branches of the
# same model do not. Their residue is bounded loosely.
OLDEST = {
    "TheBloke/Wizard-Vicuna-30B-Uncensored-GPTQ",
    "TheBloke/Wizard-Vicuna-30B-Uncensored-GPTQ@2023-05-31",
}


def gptq_folder(tmp_path: Path, entry: dict) -> Path:
    path = folder(tmp_path, entry)
    if "quantize_config_json" in entry:
        (path / "quantize_config.json").write_text(
            json.dumps(entry["quantize_config_json"])
        )
    return path


@pytest.mark.parametrize("entry", GPTQ_FILES, ids=lambda e: e["id"])
def test_gptq_files_are_weights_zero_biases_and_headers(tmp_path, entry):
    cfg = entry["config"]
    if "quantize_config_json" in entry:
        # settings beside config.json: refused as a folder, sized once merged
        with pytest.raises(ValueError, match="quantize_config.json"):
            source.load(str(gptq_folder(tmp_path, entry)))
        cfg = dict(
            cfg,
            quantization_config=dict(
                entry["quantize_config_json"], quant_method="gptq"
            ),
        )
        entry = dict(entry, config=cfg)
        entry.pop("quantize_config_json")
    got, spec = weights(tmp_path, entry)
    assert "gptq" in vramlib.estimate(spec).precision
    files = entry["file_sizes"]
    residue = sum(files.values()) - got - zero_biases(cfg)
    if entry["id"] in OLDEST:
        assert 0 < residue < sum(files.values()) // 5000  # under 0.02 %
        return
    tensors = llama_tensors(cfg, 5)  # qweight, qzeros, scales, g_idx, bias
    assert HEADER_MIN * tensors <= residue - 8 * len(files) <= HEADER_MAX * tensors


# llm-compressor saved this tied model's LM head as a tensor of its own (vocab x hidden
# in bf16, which the loaders skip for a tied model): the residue is that copy plus the
# header.
UNTIED_HEAD = {
    "LGAI-EXAONE/EXAONE-4.0-1.2B, W4A16 by llm-compressor (his0si/EXAONE-4.0-1.2B on "
    "GitHub)"
}


@pytest.mark.parametrize("entry", OTHER_FILES, ids=lambda e: e["id"])
def test_other_files_are_weights_and_headers(tmp_path, entry):
    got, _ = weights(tmp_path, entry)
    files = entry["file_sizes"]
    residue = sum(files.values()) - got - 8 * len(files)
    cfg = entry["config"]
    if entry["id"] in UNTIED_HEAD:
        assert cfg["tie_word_embeddings"] is True
        residue -= 2 * cfg["vocab_size"] * cfg["hidden_size"]
    q = cfg.get("quantization_config") or {}
    if cfg["model_type"] == "llama" and q.get("quant_method") == "bitsandbytes":
        # 4-bit: weight, absmax, quant_map, nested_absmax, nested_quant_map, quant
        # state; 8-bit: weight and SCB. Modules left out keep one tensor: counted as
        # quantized, which only widens the bracket.
        per = 6 if q.get("load_in_4bit") else 2
        tensors = llama_tensors(cfg, per)
        assert HEADER_MIN * tensors // 2 <= residue <= HEADER_MAX * tensors
    else:  # headers are under 0.02 % of these files
        assert 0 < residue < sum(files.values()) // 5000


def test_deepseek_r1_shards_are_the_model_its_mtp_module_and_headers(tmp_path):
    """DeepSeek-R1's 163 fp8 shards (128 x 128 blocks, an fp32 scale each) hold the main
    model and one multi-token-prediction module (README_WEIGHTS.md of DeepSeek-V3): a
    61st decoder layer like the others, its own copies of the embedding and output
    head (bf16), three RMSNorms (enorm, hnorm, shared_head.norm) and eh_proj, a 2H x H
    projection that vLLM's MTP loader builds as a plain (bf16) linear layer. What is
    left must be the shards' headers: 40 to 300 bytes for each of its tensors."""
    entry = BY_ID[WITH_MTP]
    cfg = entry["config"]
    main, spec = weights(tmp_path, entry)
    assert "fp8 block 128x128" in vramlib.estimate(spec).precision
    # one more decoder layer, counted as the model's others are
    (tmp_path / "62").mkdir()
    deeper = dict(entry, config=dict(cfg, num_hidden_layers=62))
    mtp_layer = weights(tmp_path / "62", deeper)[0] - main
    h, v, e = cfg["hidden_size"], cfg["vocab_size"], cfg["n_routed_experts"]
    mtp = mtp_layer + 2 * (2 * v * h) + 3 * (2 * h) + 2 * (2 * h * h)
    files = entry["file_sizes"]
    residue = sum(files.values()) - main - mtp - 8 * len(files)
    # tensors: attention 12 (five fp8 matrices with their scales, two norms), two
    # layer norms; dense MLP 6; MoE: router weight and bias, experts' and the shared
    # expert's three fp8 matrices with scales; embedding, norm, head; MTP's six others
    dense = cfg["first_k_dense_replace"]
    moe = cfg["num_hidden_layers"] - dense + 1
    tensors = dense * (12 + 2 + 6) + moe * (12 + 2 + 2 + 6 * e + 6) + 3 + 6
    assert HEADER_MIN * tensors <= residue <= HEADER_MAX * tensors


# ---- the command line ---------------------------------------------------------------


def test_the_answer_holds_the_weights_against_the_index(tmp_path, capsys):
    from vramlib.cli import main

    entry = BY_ID["ByteDance-Seed/UI-TARS-1.5-7B"]
    assert main([str(folder(tmp_path, entry)), "--json"]) == 0
    inputs = json.loads(capsys.readouterr().out)["inputs"]
    assert f"index total_size: {entry['total_size']:,} bytes" in inputs["checkpoint"]
    assert "more than the" in inputs["checkpoint"]


def test_settings_beside_the_config_are_refused_in_one_line(tmp_path, capsys):
    from vramlib.cli import main

    entry = BY_ID["TheBloke/Wizard-Vicuna-30B-Uncensored-GPTQ@2023-05-31"]
    assert main([str(gptq_folder(tmp_path, entry))]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "quantize_config.json" in err
    assert "Did you mean" not in err  # a folder that exists has no look-alikes


def test_an_mlx_checkpoint_is_named_and_refused(tmp_path):
    """mlx-community's Qwen3.5-9B-MLX-8bit (config read at
    github.com/leo-kreisman/Qwen3.5-9B-MLX-8bit, commit 57b66137): MLX's own layout,
    with no quant_method; refused with a message that says what it is."""
    cfg = {
        "model_type": "llama",
        "architectures": ["LlamaForCausalLM"],
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "intermediate_size": 128,
        "vocab_size": 256,
        "quantization_config": {"group_size": 64, "bits": 8, "mode": "affine"},
    }
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="MLX"):
        vramlib.estimate(source.load(str(tmp_path)))


def test_vllm_loads_the_checkpoint_as_published(tmp_path):
    """With no precision forced, the vLLM model loads what the checkpoint stores:
    gpt-oss-20b's index total_size (its vocabulary is already a multiple of 64, so no
    padding rows) plus the rotary cache vLLM keeps beside the weights."""
    from vramlib.engines import vllm

    entry = BY_ID["openai/gpt-oss-20b"]
    spec = source.load(str(folder(tmp_path, entry)))
    assert entry["config"]["vocab_size"] % 64 == 0
    got = vllm.weights_bytes_per_gpu(spec, None, 1)
    assert got == entry["total_size"] + vllm.rotary_cache_bytes(spec, 2)
    assert vllm.weights_bytes_per_gpu(spec, "bf16", 1) > 2.5 * entry["total_size"]


def test_the_sizer_sizes_a_checkpoint_as_published(tmp_path):
    from vramlib.sizing import AS_PUBLISHED, size

    entry = BY_ID["openai/gpt-oss-20b"]
    spec = source.load(str(folder(tmp_path, entry)))
    r = size(spec, precision=AS_PUBLISHED, gpu="H100 SXM 80GB")
    assert not r.error and r.precision.startswith("as published: mxfp4")
    assert r.per_gpu_bytes["weights"] == entry["total_size"]  # one GPU
