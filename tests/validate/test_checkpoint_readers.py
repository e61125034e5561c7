"""vramlib's standard-library readers against the packages' own: safetensors (files
written by ``safetensors.torch``), gguf-py (files written by ``gguf.GGUFWriter``), and
the quantized
linear layers transformers builds (their tensors' sizes)."""

import numpy as np
import pytest
import torch

import gguf as gguf_py
from safetensors import safe_open
from safetensors.torch import save_file

from vramlib.checkpoint import gguf, safetensors
from vramlib.checkpoint.quant import _Cfg, _fbgemm_fp8, _fp8
from vramlib.layers import Linear


def test_safetensors_reader_matches_the_package(tmp_path):
    tensors = {
        "a": torch.zeros(3, 5, dtype=torch.bfloat16),
        "b": torch.zeros(7, dtype=torch.float8_e4m3fn),
        "c": torch.zeros(2, 3, 4, dtype=torch.float32),
        "d": torch.zeros(9, dtype=torch.int32),
        "e": torch.zeros(0, dtype=torch.float16),
    }
    f = tmp_path / "x.safetensors"
    save_file(tensors, str(f), metadata={"format": "pt"})
    mine = {t.name: t for t in safetensors.read_header(f).tensors}
    with safe_open(str(f), framework="pt") as s:
        for name in s.keys():
            t = s.get_tensor(name)
            assert mine[name].shape == tuple(t.shape)
            assert mine[name].nbytes == t.numel() * t.element_size()
    assert safetensors.read_header(f).total_bytes == sum(
        t.numel() * t.element_size() for t in tensors.values()
    )


def test_gguf_reader_matches_gguf_py(tmp_path):
    f = tmp_path / "x.gguf"
    w = gguf_py.GGUFWriter(str(f), "llama")
    w.add_block_count(2)
    w.add_embedding_length(256)
    w.add_head_count(4)
    w.add_string("general.name", "tiny")
    w.add_array("tokenizer.ggml.tokens", [f"t{i}" for i in range(5000)])
    specs = [
        ("token_embd.weight", gguf_py.GGMLQuantizationType.Q4_K, (320, 256)),
        ("blk.0.attn_q.weight", gguf_py.GGMLQuantizationType.Q8_0, (256, 256)),
        ("blk.0.ffn_down.weight", gguf_py.GGMLQuantizationType.Q6_K, (256, 512)),
        ("output_norm.weight", gguf_py.GGMLQuantizationType.F32, (256,)),
    ]
    for name, qtype, shape in specs:
        be, bb = gguf_py.GGML_QUANT_SIZES[qtype]
        raw_shape = (*shape[:-1], shape[-1] // be * bb)
        w.add_tensor(
            name,
            np.zeros(raw_shape, dtype=np.uint8 if be > 1 else np.float32),
            raw_shape=raw_shape if be > 1 else None,
            raw_dtype=qtype,
        )
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    theirs = gguf_py.GGUFReader(str(f))
    mine = gguf.read_header(f)
    assert [t.name for t in mine.tensors] == [t.name for t in theirs.tensors]
    for m, t in zip(mine.tensors, theirs.tensors):
        assert m.type == t.tensor_type.name and m.nbytes == int(t.n_bytes)
        assert m.elements == int(t.n_elements)
    assert mine.architecture == "llama" and mine.metadata["llama.block_count"] == 2
    assert mine.metadata["tokenizer.ggml.tokens"].length == 5000
    assert {v[0] for v in gguf.GGML_TYPES.values()} <= {
        q.name for q in gguf_py.GGMLQuantizationType
    }
    for tid, (name, be, bb) in gguf.GGML_TYPES.items():
        assert gguf_py.GGML_QUANT_SIZES[gguf_py.GGMLQuantizationType(tid)] == (
            be,
            bb,
        ), name


@pytest.mark.parametrize(
    "k, n, block", [(256, 512, [128, 128]), (300, 200, [128, 128]), (256, 64, None)]
)
def test_fp8_layout_matches_transformers_fp8linear(k, n, block):
    from transformers.integrations.finegrained_fp8 import FP8Linear

    layer = FP8Linear(k, n, block_size=tuple(block) if block else None)
    want = sum(
        p.numel() * p.element_size() for p in (layer.weight, layer.weight_scale_inv)
    )
    label, rule = _fp8(
        _Cfg({"quant_method": "fp8", "weight_block_size": block}), "BF16"
    )
    _, stored = rule("model.layers.0.self_attn.q_proj", Linear("q_proj", k, n))
    assert sum(s.nbytes for s in stored) == want


def test_fbgemm_layout_matches_transformers():
    from transformers.integrations.fbgemm_fp8 import FbgemmFp8Linear

    layer = FbgemmFp8Linear(256, 512, bias=True)
    want = sum(t.numel() * t.element_size() for t in layer.state_dict().values())
    _, rule = _fbgemm_fp8(_Cfg({"quant_method": "fbgemm_fp8"}), "BF16")
    _, stored = rule(
        "model.layers.0.mlp.up_proj", Linear("up_proj", 256, 512, bias=True)
    )
    assert sum(s.nbytes for s in stored) == want
