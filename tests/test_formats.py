"""Tests for vramlib.formats.

Expected values come from the formats' own layouts, written out here from the struct fields and
register_buffer shapes of the source files (ggml-common.h, AutoGPTQ qlinear_cuda.py, AutoAWQ
gemm.py, bitsandbytes functional.py, the OCP MX spec), never from the code under test.
"""

from __future__ import annotations

import math
from fractions import Fraction as F

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vramlib import formats
from vramlib.formats import (
    GROUPS,
    WeightFormat,
    awq_format,
    format_names,
    get_format,
    ggml_type_bits,
    gguf_format,
    gptq_format,
    kv_cache_dtype_source,
    kv_cache_dtypes,
)
from vramlib.precisions import get_precision

QK_K = 256
HALF = 2  # sizeof(ggml_half)

# Bits per weight from ggml-common.h's block structs, field by field.
Q8_0 = F((HALF + 32) * 8, 32)  # d, qs[32]
Q5_0 = F((HALF + 4 + 16) * 8, 32)  # d, qh[4], qs[16]
Q4_0 = F((HALF + 16) * 8, 32)  # d, qs[16]
Q6_K = F((128 + 64 + 16 + HALF) * 8, QK_K)  # ql[128], qh[64], scales[16], d
Q5_K = F(
    (HALF + HALF + 12 + 32 + 128) * 8, QK_K
)  # d, dmin, scales[12], qh[32], qs[128]
Q4_K = F((HALF + HALF + 12 + 128) * 8, QK_K)  # d, dmin, scales[12], qs[128]
Q3_K = F((32 + 64 + 12 + HALF) * 8, QK_K)  # hmask[32], qs[64], scales[12], d
Q2_K = F((16 + 64 + HALF + HALF) * 8, QK_K)  # scales[16], qs[64], d, dmin

# Llama-3-8B, the data file's reference shape.
D, KV, FF, L = 4096, 1024, 14336, 32
LLAMA3_8B = {
    "embedding": 128256 * D,
    "lm_head": 128256 * D,
    "attention": L * (2 * D * D + 2 * D * KV),
    "mlp": L * 3 * D * FF,
    "router": 0,
    "norm": L * 2 * D + D,
    "bias": 0,
}


# ----------------------------------------------------------------------------- block layouts


def test_ggml_block_bits_match_the_struct_fields():
    assert ggml_type_bits("q8_0") == Q8_0 == F(17, 2)
    assert ggml_type_bits("q5_0") == Q5_0 == F(11, 2)
    assert ggml_type_bits("q4_0") == Q4_0 == F(9, 2)
    assert (
        ggml_type_bits("q6_K") == Q6_K == F(105, 16)
    )  # 6.5625, as the header's comment says
    assert ggml_type_bits("q5_K") == Q5_K == F(11, 2)
    assert ggml_type_bits("q4_K") == Q4_K == F(9, 2)
    assert ggml_type_bits("q3_K") == Q3_K == F(55, 16)  # 3.4375
    assert ggml_type_bits("q2_K") == Q2_K == F(21, 8)  # 2.625


def test_ggml_struct_sizes_match_the_static_asserts():
    types = formats._data.load("formats.json")["ggml_types"]
    size = {
        k: sum(v["fields"].values()) for k, v in types.items() if not k.startswith("_")
    }
    assert size["q6_K"] == HALF + QK_K // 16 + 3 * QK_K // 4 == 210
    assert size["q5_K"] == 2 * HALF + 12 + QK_K // 2 + QK_K // 8 == 176
    assert size["q4_K"] == 2 * HALF + 12 + QK_K // 2 == 144
    assert size["q3_K"] == HALF + QK_K // 4 + QK_K // 8 + 12 == 110
    assert size["q2_K"] == 2 * HALF + QK_K // 16 + QK_K // 4 == 84
    assert size["q8_0"] == HALF + 32 == 34
    assert size["q5_0"] == HALF + 4 + 32 // 2 == 22
    assert size["q4_0"] == HALF + 32 // 2 == 18


@pytest.mark.parametrize(
    "name, base",
    [
        ("Q8_0", Q8_0),
        ("Q6_K", Q6_K),
        ("Q5_K_M", Q5_K),
        ("Q5_0", Q5_0),
        ("Q4_K_M", Q4_K),
        ("Q4_0", Q4_0),
        ("Q3_K_M", Q3_K),
        ("Q2_K", Q2_K),
    ],
)
def test_gguf_linear_bits_are_the_base_type(name, base):
    fmt = get_format(name)
    assert fmt.family == "gguf"
    assert fmt.linear_bits == base
    # 1-D tensors and the router are not quantized: F32.
    assert fmt.bits_for("norm") == fmt.bits_for("bias") == fmt.bits_for("router") == 32


def test_gguf_single_type_files():
    assert get_format("Q8_0").bits_by_group == {
        **{g: Q8_0 for g in GROUPS},
        "router": 32,
        "norm": 32,
        "bias": 32,
        "vision": 16,
        "audio": 16,
    }
    q6 = get_format("Q6_K")
    assert [q6.bits_for(g) for g in ("embedding", "lm_head", "attention", "mlp")] == [
        Q6_K
    ] * 4
    for name, base in (
        ("Q4_0", Q4_0),
        ("Q5_0", Q5_0),
        ("Q5_K_S", Q5_K),
        ("Q3_K_S", Q3_K),
    ):
        fmt = get_format(name)
        assert fmt.bits_for("lm_head") == Q6_K  # output.weight -> Q6_K
        assert fmt.bits_for("embedding") == base
        assert fmt.bits_for("attention") == fmt.bits_for("mlp") == base


# use_more_bits(i, 32): i < 4, i >= 28, or (i - 4) % 3 == 2 -> written out by hand.
MORE_BITS_32 = {0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31}
# Attention tensor sizes at the reference: q and o are D*D, k and v are D*KV.
SHARE_Q, SHARE_K, SHARE_V, SHARE_O = (
    F(D * D, 2 * D * D + 2 * D * KV),
    F(D * KV, 2 * D * D + 2 * D * KV),
    F(D * KV, 2 * D * D + 2 * D * KV),
    F(D * D, 2 * D * D + 2 * D * KV),
)


def test_q4_k_m_mix_at_the_reference_shape():
    assert len(MORE_BITS_32) == 16  # "half of attn_v and ffn_down"
    half = F(16, 32) * Q6_K + F(16, 32) * Q4_K
    fmt = get_format("Q4_K_M")
    assert (
        fmt.bits_for("attention")
        == (SHARE_Q + SHARE_K + SHARE_O) * Q4_K + SHARE_V * half
    )
    assert fmt.bits_for("attention") == F(4603125, 1000000)
    assert fmt.bits_for("mlp") == (2 * Q4_K + half) / 3 == F(484375, 100000)
    assert fmt.bits_for("lm_head") == Q6_K
    assert fmt.bits_for("embedding") == Q4_K


def test_q3_k_m_and_q2_k_mixes():
    fmt = get_format("Q3_K_M")
    v = F(2, 32) * Q5_K + F(30, 32) * Q4_K  # first 2 attn_v Q5_K, rest Q4_K
    down = F(32 // 16, 32) * Q5_K + F(30, 32) * Q4_K  # i < n/16 Q5_K, rest Q4_K
    assert (
        fmt.bits_for("attention")
        == (SHARE_Q + SHARE_K) * Q3_K + SHARE_V * v + SHARE_O * Q4_K
    )
    assert fmt.bits_for("mlp") == (2 * Q3_K + down) / 3
    q2 = get_format("Q2_K")  # n_head / n_head_kv = 4 -> attn_v Q4_K
    assert (
        q2.bits_for("attention")
        == (SHARE_Q + SHARE_K) * Q2_K + SHARE_V * Q4_K + SHARE_O * Q3_K
    )
    assert q2.bits_for("mlp") == (2 * Q2_K + Q3_K) / 3
    # Without grouped-query attention (kv = hidden) attn_v falls back to Q3_K.
    mha = gguf_format("Q2_K", kv_size=D)
    assert mha.bits_for("attention") == (
        F(1, 4) * Q2_K + F(1, 4) * Q2_K + F(1, 4) * Q3_K + F(1, 4) * Q3_K
    )


def test_gguf_mix_for_another_layer_count_and_tied_embeddings():
    # use_more_bits(i, 8): i < 1, i >= 7, or (i - 1) % 3 == 2 -> {0, 3, 6, 7}
    fmt = gguf_format("Q4_K_M", n_layers=8)
    assert fmt.bits_for("mlp") == (2 * Q4_K + F(4, 8) * Q6_K + F(4, 8) * Q4_K) / 3
    tied = gguf_format("Q4_K_M", tied_embeddings=True)
    assert tied.bits_for("embedding") == Q6_K
    ungated = gguf_format("Q4_K_M", gated_mlp=False)
    assert ungated.bits_for("mlp") == (Q4_K + F(1, 2) * Q6_K + F(1, 2) * Q4_K) / 2


def test_gguf_whole_model_bytes_for_llama3_8b():
    # Hand arithmetic with the layout-derived bits (each group a whole number of bytes here).
    fmt = get_format("Q4_K_M")
    expected = (
        LLAMA3_8B["embedding"] * Q4_K
        + LLAMA3_8B["lm_head"] * Q6_K
        + LLAMA3_8B["attention"] * F(4603125, 1000000)
        + LLAMA3_8B["mlp"] * F(484375, 100000)
        + LLAMA3_8B["norm"] * 32
    ) / 8
    assert expected.denominator == 1
    assert fmt.weights_bytes(LLAMA3_8B) == expected


# ----------------------------------------------------------------------------- GPTQ / AWQ


def autogptq_bits(bits, group_size, n_in, n_out):
    """AutoGPTQ QuantLinear's register_buffer shapes, summed in bits, per weight."""
    g = n_in if group_size == -1 else group_size
    n_groups = math.ceil(n_in / g)
    qweight = (n_in // 32 * bits) * n_out * 32
    qzeros = n_groups * (n_out // 32 * bits) * 32
    scales = n_groups * n_out * 16
    g_idx = n_in * 32
    return F(qweight + qzeros + scales + g_idx, n_in * n_out)


@pytest.mark.parametrize("bits", [2, 3, 4, 8])
@pytest.mark.parametrize("group_size", [32, 64, 128, -1])
def test_gptq_named_formats_follow_the_autogptq_layout(bits, group_size):
    name = f"gptq-{bits}bit-" + ("perchannel" if group_size == -1 else f"{group_size}g")
    fmt = get_format(name)
    assert fmt.linear_bits == autogptq_bits(bits, group_size, 4096, 4096)
    assert fmt.bits_for("attention") == fmt.bits_for("mlp") == fmt.linear_bits
    for kept in ("embedding", "lm_head", "router", "norm", "bias"):
        assert fmt.bits_for(kept) == 16


def test_gptq_4bit_128g_written_out():
    # 4 + (16 scale + 4 zero) / 128 + 32 (g_idx) / 4096
    assert (
        get_format("gptq-4bit-128g").linear_bits
        == 4 + F(20, 128) + F(32, 4096)
        == F(533, 128)
    )


def test_gptq_other_shapes():
    assert gptq_format(
        4, 128, in_features=14336, out_features=4096
    ).linear_bits == autogptq_bits(4, 128, 14336, 4096)
    assert gptq_format(
        3, -1, in_features=4096, out_features=14336
    ).linear_bits == autogptq_bits(3, -1, 4096, 14336)
    assert gptq_format(4, "per-channel").linear_bits == autogptq_bits(4, -1, 4096, 4096)


def test_awq_follows_wqlinear_gemm():
    # qweight int32[in, out/8] + qzeros int32[in/g, out/8] + scales fp16[in/g, out]
    n_in, n_out = 4096, 4096
    for g in (32, 64, 128):
        stored = (
            n_in * (n_out // 8) * 32
            + (n_in // g) * (n_out // 8) * 32
            + (n_in // g) * n_out * 16
        )
        assert get_format(f"awq-4bit-{g}g").linear_bits == F(stored, n_in * n_out)
    assert get_format("awq").linear_bits == 4 + F(20, 128)
    assert get_format("awq-4bit-perchannel").linear_bits == 4 + F(20, 4096)
    assert get_format("awq").bits_for("lm_head") == 16


# ----------------------------------------------------------------------------- bitsandbytes, MX


def test_bitsandbytes_layouts():
    assert get_format("nf4").linear_bits == 4 + F(32, 64) == F(9, 2)
    assert get_format("bnb-fp4").linear_bits == F(9, 2)
    dq = 4 + F(8, 64) + F(32, 64 * 256)
    assert dq == F(4126953125, 10**9)
    assert get_format("nf4-dq").linear_bits == dq
    assert get_format("bnb-fp4-dq").linear_bits == dq
    assert get_format("bnb-int8").linear_bits == 8 + F(32, 4096)  # fp32 SCB per row
    for name in ("nf4", "nf4-dq", "bnb-int8"):
        fmt = get_format(name)
        assert [fmt.bits_for(g) for g in ("embedding", "lm_head", "norm", "bias")] == [
            16
        ] * 4


def test_microscaling_layouts():
    mx = get_format("mxfp4")
    assert mx.linear_bits == F(32 * 4 + 8, 32) == F(17, 4)
    assert mx.bits_for("attention") == mx.bits_for("mlp") == F(17, 4)
    assert mx.bits_for("embedding") == mx.bits_for("lm_head") == 16
    moe = get_format("gpt-oss-mxfp4")
    assert moe.bits_for("mlp") == F(17, 4) and moe.bits_for("attention") == 16
    assert moe.bits_for("router") == 16
    nv = get_format("nvfp4")
    assert nv.linear_bits == F(16 * 4 + 8, 16) == F(9, 2)
    assert nv.bits_for("lm_head") == nv.bits_for("router") == 16


# ----------------------------------------------------------------------------- weights_bytes


def test_weights_bytes_hand_made_groups():
    groups = {"attention": 1000, "mlp": 3, "embedding": 10, "norm": 3}
    # nf4: attention 1000*4.5/8 = 562.5 -> 563; mlp 3*4.5/8 = 1.6875 -> 2; embedding 20; norm 6
    assert get_format("nf4").weights_bytes(groups) == 563 + 2 + 20 + 6
    # Q4_0 file: embedding 10*4.5/8 -> 6; attention 562.5 -> 563; mlp -> 2; norm 3*4 = 12
    assert get_format("Q4_0").weights_bytes(groups) == 6 + 563 + 2 + 12
    assert get_format("fp16").weights_bytes({}) == 0
    assert get_format("fp16").weights_bytes({"mlp": 0}) == 0


@given(st.dictionaries(st.sampled_from(GROUPS), st.integers(0, 10**12)))
def test_uniform_formats_equal_p_times_bits_over_8(groups):
    p = sum(groups.values())
    assert get_format("fp32").weights_bytes(groups) == 4 * p
    assert get_format("tf32").weights_bytes(groups) == 4 * p
    assert get_format("fp16").weights_bytes(groups) == 2 * p
    assert get_format(16).weights_bytes(groups) == 2 * p
    assert get_format("bf16").weights_bytes(groups) == 2 * p
    assert get_format("fp8").weights_bytes(groups) == p
    assert get_format("int8").weights_bytes(groups) == p
    even = {g: 2 * n for g, n in groups.items()}
    assert get_format("int4").weights_bytes(even) == p  # 2p values at 4 bits
    assert get_format(3).weights_bytes(groups) == sum(
        -(-3 * n // 8) for n in groups.values()
    )


@settings(max_examples=60)
@given(
    st.integers(1, 31),
    st.integers(1, 31),
    st.dictionaries(st.sampled_from(GROUPS), st.integers(0, 10**11)),
)
def test_more_bits_never_fewer_bytes(a, b, groups):
    lo, hi = sorted((a, b))
    assert get_format(lo).weights_bytes(groups) <= get_format(hi).weights_bytes(groups)


@settings(max_examples=40)
@given(
    st.sampled_from(sorted(formats._registry().values(), key=lambda f: f.name)),
    st.sampled_from(GROUPS),
    st.integers(0, 10**10),
    st.integers(0, 10**10),
)
def test_more_parameters_never_fewer_bytes(fmt, group, n, extra):
    assert fmt.weights_bytes({group: n}) <= fmt.weights_bytes({group: n + extra})


def test_gguf_ladder_is_ordered_on_a_real_model():
    order = [
        "Q2_K",
        "Q3_K_S",
        "Q3_K_M",
        "Q3_K_L",
        "Q4_0",
        "Q4_K_S",
        "Q4_K_M",
        "Q5_0",
        "Q5_K_S",
        "Q5_K_M",
        "Q6_K",
        "Q8_0",
        "fp16",
    ]
    sizes = [get_format(n).weights_bytes(LLAMA3_8B) for n in order]
    assert sizes == sorted(sizes)


# ----------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    "alias, name",
    [
        ("Q4_K_M", "Q4_K_M"),
        ("q4_k_m", "Q4_K_M"),
        ("gguf-q4_k_m", "Q4_K_M"),
        ("GGUF_Q4_K_M", "Q4_K_M"),
        ("gptq-4bit-128g", "gptq-4bit-128g"),
        ("gptq-int4", "gptq-4bit-128g"),
        ("gptq", "gptq-4bit-128g"),
        ("GPTQ-4bit-per-channel", "gptq-4bit-perchannel"),
        ("gptq-int8-32g", "gptq-8bit-32g"),
        ("awq", "awq-4bit-128g"),
        ("AWQ-int4", "awq-4bit-128g"),
        ("nf4", "nf4"),
        ("NF4-DQ", "nf4-dq"),
        ("qlora", "nf4-dq"),
        ("bnb-int8", "bnb-int8"),
        ("LLM.int8", "bnb-int8"),
        ("mxfp4", "mxfp4"),
        ("MX-FP4", "mxfp4"),
        ("nvfp4", "nvfp4"),
        ("bfloat16", "bf16"),
        ("float32", "fp32"),
        ("fp8_e4m3", "fp8"),
        ("e5m2", "fp8_e5m2"),
        ("4bit", "int4"),
        ("q8_0", "Q8_0"),
    ],
)
def test_aliases_resolve(alias, name):
    assert get_format(alias).name == name


def test_every_listed_alias_resolves_to_its_format():
    for fmt in set(formats._registry().values()):
        for key in (
            fmt.name,
            *fmt.aliases,
            fmt.name.upper(),
            fmt.name.replace("-", "_"),
        ):
            assert get_format(key) is fmt, key
    names = format_names()
    assert len(names) == len(set(names))
    for required in (
        "fp32",
        "tf32",
        "fp16",
        "bf16",
        "fp8",
        "fp8_e5m2",
        "int8",
        "int4",
        "Q8_0",
        "Q6_K",
        "Q5_K_M",
        "Q5_0",
        "Q4_K_M",
        "Q4_0",
        "Q3_K_M",
        "Q2_K",
        "nf4",
        "nf4-dq",
        "bnb-int8",
        "mxfp4",
        "nvfp4",
        "gptq-4bit-128g",
        "awq-4bit-128g",
    ):
        assert required in names


def test_bit_widths_and_precisions_give_uniform_formats():
    assert get_format(4).name == "int4" and get_format(8).name == "int8"
    three = get_format(3)
    assert all(b == 3 for _, b in three.group_bits) and three.linear_bits == 3
    assert get_format(get_precision("bf16")) is get_format("bf16")
    assert get_format(16.0) is get_format("fp16")
    fmt = get_format("nf4")
    assert get_format(fmt) is fmt


def test_format_objects_are_complete_and_sourced():
    for fmt in set(formats._registry().values()):
        assert isinstance(fmt, WeightFormat)
        assert tuple(g for g, _ in fmt.group_bits) == GROUPS
        assert all(isinstance(b, F) and b > 0 for _, b in fmt.group_bits)
        assert fmt.source.strip() and fmt.description.strip()
        text = fmt.describe()
        assert fmt.name in text and "source:" in text
        hash(fmt)


def test_data_entries_have_sources():
    data = formats._data.load("formats.json")
    for section in ("uniform", "bitsandbytes", "microscaling", "kv_cache_dtypes"):
        assert all(e["source"].strip() for e in data[section])
    assert data["gptq"]["source"] and data["awq"]["source"] and data["gguf"]["source"]
    assert all(
        v["source"] for k, v in data["ggml_types"].items() if not k.startswith("_")
    )


def test_kv_cache_dtypes_are_precisions():
    names = kv_cache_dtypes()
    assert names == ["fp16", "bf16", "fp8", "fp8_e5m2", "int8", "q8_0", "q4_0"]
    for name in names:
        assert get_precision(name).name == name
        assert kv_cache_dtype_source(name)
    assert "cache-type" in kv_cache_dtype_source("q8_0")


# ----------------------------------------------------------------------------- bad input


def test_unknown_name_suggests_the_closest():
    with pytest.raises(ValueError, match="precision") as err:
        get_format("Q4_K_X")
    assert "Q4_K_M" in str(err.value)
    with pytest.raises(ValueError, match="nvfp4"):
        get_format("nvfp5")
    with pytest.raises(ValueError, match="precision"):
        get_format("")


@pytest.mark.parametrize("bad", [None, True, [4], {"bits": 4}])
def test_wrong_types_are_refused(bad):
    with pytest.raises(TypeError, match="precision"):
        get_format(bad)


def test_bad_bit_widths():
    with pytest.raises(ValueError, match="precision"):
        get_format(4.5)
    with pytest.raises(ValueError, match="precision"):
        get_format(0)


def test_weights_bytes_rejects_bad_groups():
    fmt = get_format("Q4_K_M")
    with pytest.raises(ValueError, match=r"param_groups\['mlp'\]"):
        fmt.weights_bytes({"mlp": -1})
    with pytest.raises(ValueError, match="param_groups") as err:
        fmt.weights_bytes({"mlps": 10})
    assert "'mlp'" in str(err.value)
    with pytest.raises(ValueError, match="param_groups"):
        fmt.weights_bytes({3: 10})
    with pytest.raises(TypeError, match="param_groups"):
        fmt.weights_bytes([("mlp", 10)])
    with pytest.raises(TypeError, match=r"param_groups\['mlp'\]"):
        fmt.weights_bytes({"mlp": "10"})
    with pytest.raises(ValueError, match=r"param_groups\['mlp'\]"):
        fmt.weights_bytes({"mlp": 1.5})
    with pytest.raises(ValueError, match="group") as err:
        fmt.bits_for("attn")
    assert "attention" in str(err.value)


def test_builders_reject_bad_arguments():
    with pytest.raises(ValueError, match="bits"):
        gptq_format(5)
    with pytest.raises(ValueError, match="bits"):
        awq_format(3)
    with pytest.raises(ValueError, match="in_features"):
        gptq_format(4, 128, in_features=100)
    with pytest.raises(ValueError, match="group_size"):
        gptq_format(4, 0)
    with pytest.raises(TypeError, match="group_size"):
        gptq_format(4, 12.5)
    with pytest.raises(ValueError, match="group_size"):
        awq_format(4, 96)
    with pytest.raises(ValueError, match="Q4_K_M"):
        gguf_format("Q4_K_L")
    with pytest.raises(ValueError, match="n_layers"):
        gguf_format("Q4_K_M", n_layers=0)
    with pytest.raises(TypeError, match="tied_embeddings"):
        gguf_format("Q4_K_M", tied_embeddings="yes")
    with pytest.raises(ValueError, match="type_name"):
        ggml_type_bits("q7_K")
    with pytest.raises(ValueError, match="KV-cache dtype"):
        kv_cache_dtype_source("fp4")
