"""Files a user has: safetensors and GGUF headers read exactly, hostile files refused
quickly."""

import io
import json
import struct

import pytest
from hypothesis import given, settings, strategies as st

from checkpoint_files import gguf_bytes, safetensors_bytes, tiny_llama_gguf
from vramlib import estimate, get_model
from vramlib.checkpoint import gguf, safetensors
from vramlib.checkpoint.source import load

TINY = {
    "model_type": "llama",
    "vocab_size": 1000,
    "hidden_size": 256,
    "intermediate_size": 512,
    "num_hidden_layers": 1,
    "num_attention_heads": 4,
    "num_key_value_heads": 1,
    "torch_dtype": "bfloat16",
}


def test_safetensors_header_exact_bytes(tmp_path):
    f = tmp_path / "x.safetensors"
    f.write_bytes(
        safetensors_bytes(
            {"a": ("BF16", (3, 5)), "b": ("F8_E4M3", (7,)), "c": ("F32", (2, 2))},
            {"format": "pt"},
        )
    )
    h = safetensors.read_header(f)
    assert [(t.name, t.dtype, t.shape) for t in h.tensors] == [
        ("a", "BF16", (3, 5)),
        ("b", "F8_E4M3", (7,)),
        ("c", "F32", (2, 2)),
    ]
    assert h.total_bytes == 30 + 7 + 16 and h.metadata == (("format", "pt"),)
    assert h.by_dtype() == {"BF16": 30, "F8_E4M3": 7, "F32": 16}


@pytest.mark.parametrize(
    "data, words",
    [
        (b"abc", "8-byte"),
        (struct.pack("<Q", 2**40) + b"{}", "header length"),
        (struct.pack("<Q", 100) + b"{}", "past the end"),
        (struct.pack("<Q", 2) + b"[]", "JSON object"),
        (struct.pack("<Q", 4) + b"\xff\xfe{}", "UTF-8"),
    ],
)
def test_safetensors_hostile_headers(tmp_path, data, words):
    f = tmp_path / "bad.safetensors"
    f.write_bytes(data)
    with pytest.raises(ValueError, match=words):
        safetensors.read_header(f)


def test_safetensors_offsets_must_match_shape(tmp_path):
    raw = json.dumps(
        {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 8]}}
    ).encode()
    f = tmp_path / "bad.safetensors"
    f.write_bytes(struct.pack("<Q", len(raw)) + raw + bytes(8))
    with pytest.raises(ValueError, match="should take 16 bytes"):
        safetensors.read_header(f)


@settings(max_examples=40)
@given(st.binary(max_size=64))
def test_safetensors_random_bytes_never_hang(data):
    try:
        safetensors.read_header(io.BytesIO(data))
    except ValueError:
        pass


def test_folder_with_index_and_shards(tmp_path):
    shards = {
        "model-1.safetensors": {"model.embed_tokens.weight": ("BF16", (1000, 256))},
        "model-2.safetensors": {"lm_head.weight": ("BF16", (1000, 256))},
    }
    wmap = {}
    for name, tensors in shards.items():
        (tmp_path / name).write_bytes(safetensors_bytes(tensors))
        wmap.update(dict.fromkeys(tensors, name))
    (tmp_path / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": 1_024_000}, "weight_map": wmap})
    )
    (tmp_path / "config.json").write_text(json.dumps(TINY))
    spec = load(str(tmp_path))
    assert spec.checkpoint.stored_bytes == 2 * 2 * 1000 * 256
    assert spec.checkpoint.index_total_size == 1_024_000
    assert get_model(str(tmp_path)).checkpoint.stored_bytes == 1_024_000


def test_quantized_folder_is_sized_as_published(tmp_path):
    cfg = dict(
        TINY,
        quantization_config={"quant_method": "fp8", "weight_block_size": [128, 128]},
    )
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    e = estimate(str(tmp_path))
    assert e.precision == "as published: fp8 block 128x128 + bf16"


def test_a_safetensors_file_needs_its_config(tmp_path):
    f = tmp_path / "model.safetensors"
    f.write_bytes(safetensors_bytes({"a": ("BF16", (2,))}))
    with pytest.raises(FileNotFoundError, match="config.json"):
        load(str(f))
    (tmp_path / "config.json").write_text(json.dumps(TINY))
    assert load(str(f)).checkpoint.stored_bytes == 4


def test_gguf_header_and_architecture(tmp_path):
    meta, tensors = tiny_llama_gguf()
    data, sizes = gguf_bytes(meta, tensors)
    f = tmp_path / "tiny.gguf"
    f.write_bytes(data)
    h = gguf.read_header(f)
    assert h.version == 3 and h.architecture == "llama"
    assert h.total_bytes == sum(sizes)
    # by hand: Q4_K is 144 bytes per 256 weights, Q6_K 210, F32 4 per weight
    assert (
        h.by_type()["Q4_K"]
        == 2 * (256 * 256 * 2 + 256 * 64 + 2 * 256 * 512) // 256 * 144
    )
    assert isinstance(h.metadata["tokenizer.ggml.tokens"], list)
    spec = load(str(f))
    assert (
        spec.vocab_size,
        spec.hidden_size,
        spec.num_hidden_layers,
        spec.num_key_value_heads,
        spec.intermediate_size,
    ) == (320, 256, 2, 1, 512)
    assert spec.param_count() == sum(
        t[2][0] * (t[2][1] if len(t[2]) > 1 else 1) for t in tensors
    )
    e = estimate(spec)
    assert e.weights_bytes == sum(sizes) and e.precision.startswith(
        "as published: GGUF"
    )


@pytest.mark.parametrize(
    "mutate, words",
    [
        (lambda b: b"GGUX" + b[4:], "magic"),
        (lambda b: b[:4] + struct.pack("<I", 7) + b[8:], "version 7"),
        (lambda b: b[:8] + struct.pack("<Q", 10**9) + b[16:], "exceed"),
        (lambda b: b[:16] + struct.pack("<Q", 10**8) + b[24:], "exceed"),
        (lambda b: b[:60], "truncated"),
    ],
)
def test_gguf_hostile_headers(tmp_path, mutate, words):
    meta, tensors = tiny_llama_gguf()
    data, _ = gguf_bytes(meta, tensors)
    f = tmp_path / "bad.gguf"
    f.write_bytes(mutate(data))
    with pytest.raises(ValueError, match=words):
        gguf.read_header(f)


def test_gguf_huge_string_length_is_refused_before_reading(tmp_path):
    data = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 2**62)
    f = tmp_path / "bad.gguf"
    f.write_bytes(data)
    with pytest.raises(ValueError, match="string"):
        gguf.read_header(f)


def test_gguf_unknown_architecture_is_refused(tmp_path):
    meta, tensors = tiny_llama_gguf()
    meta["general.architecture"] = "rwkv7"
    data, _ = gguf_bytes(meta, tensors)
    f = tmp_path / "x.gguf"
    f.write_bytes(data)
    assert gguf.read_header(f).total_bytes > 0
    with pytest.raises(ValueError, match="rwkv7"):
        load(str(f))


@settings(max_examples=40)
@given(st.binary(max_size=80))
def test_gguf_random_bytes_never_hang(data):
    try:
        gguf.read_header(io.BytesIO(b"GGUF" + data))
    except ValueError:
        pass
