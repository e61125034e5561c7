"""Weights as published: each quantization layout against its formula written out by
hand.

A tiny llama (H=256, I=512, 2 layers, V=1000) has seven linear shapes per layer: q and o
(256x256), k and v (256x64), gate and up (256->512), down (512->256); the LM head
(256->1000). Each expected byte count below is written from the layout's own description
(cited in vramlib/checkpoint/quant.py), not computed by the code under test.
"""

import json
import math
from pathlib import Path

import pytest

from vramlib import ModelSpec, estimate, get_model
from vramlib.checkpoint import published_weights
from vramlib.checkpoint.source import Checkpoint, published_for, with_checkpoint

TINY = {
    "model_type": "llama",
    "vocab_size": 1000,
    "hidden_size": 256,
    "intermediate_size": 512,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 1,
    "tie_word_embeddings": False,
}
# (K inputs, N outputs) of one layer's linear modules
LAYER = [
    (256, 256),
    (256, 64),
    (256, 64),
    (256, 256),
    (256, 512),
    (256, 512),
    (512, 256),
]
L, H, V = 2, 256, 1000
OTHER = V * H + L * 2 * H + H  # embedding, two norms per layer, final norm
HEAD = V * H


@pytest.fixture(scope="module")
def tiny():
    return ModelSpec.from_hf_config(TINY)


def _total(per_module, head_bf16=True):
    """bytes of every layer's modules by ``per_module(K, N)``, the bf16 head and the
    rest"""
    return (
        L * sum(per_module(k, n) for k, n in LAYER) + 2 * HEAD * head_bf16 + 2 * OTHER
    )


def test_plain_checkpoint_is_its_dtype(tiny):
    w = published_weights(tiny, None, dtype="BF16")
    assert w.total_bytes == 2 * tiny.param_count() and w.label == "bf16"
    assert (
        published_weights(tiny, None, dtype="F32").total_bytes == 4 * tiny.param_count()
    )


def test_fp8_block(tiny):
    q = {
        "quant_method": "fp8",
        "fmt": "e4m3",
        "activation_scheme": "dynamic",
        "weight_block_size": [128, 128],
    }
    want = _total(lambda k, n: k * n + 4 * math.ceil(n / 128) * math.ceil(k / 128))
    w = published_weights(tiny, q)
    assert w.total_bytes == want and w.params == tiny.param_count()
    # per-tensor scale, static activations: one fp32 scale and one activation scale each
    q2 = {"quant_method": "fp8", "activation_scheme": "static"}
    assert published_weights(tiny, q2).total_bytes == _total(lambda k, n: k * n + 8)


def test_fp8_modules_to_not_convert_by_layer(tiny):
    q = {
        "quant_method": "fp8",
        "weight_block_size": [128, 128],
        "modules_to_not_convert": ["model.layers.0", "self_attn.k_proj"],
    }
    block = lambda k, n: k * n + 4 * math.ceil(n / 128) * math.ceil(k / 128)  # noqa: E731
    layer0 = sum(2 * k * n for k, n in LAYER)
    layer1 = sum(
        2 * k * n if (k, n) == (256, 64) and i == 1 else block(k, n)
        for i, (k, n) in enumerate(LAYER)
    )
    assert (
        published_weights(tiny, q).total_bytes == layer0 + layer1 + 2 * HEAD + 2 * OTHER
    )


def test_fbgemm_fp8(tiny):
    q = {
        "quant_method": "fbgemm_fp8",
        "activation_scale_ub": 1200.0,
        "modules_to_not_convert": ["lm_head"],
    }
    assert published_weights(tiny, q).total_bytes == _total(lambda k, n: k * n + 4 * n)


def test_gptq(tiny):
    q = {
        "quant_method": "gptq",
        "bits": 4,
        "group_size": 128,
        "desc_act": True,
        "sym": True,
    }
    want = _total(
        lambda k, n: (
            4 * (k // 8) * n + 4 * (k // 128) * (n // 8) + 2 * (k // 128) * n + 4 * k
        )
    )
    assert published_weights(tiny, q).total_bytes == want
    per_channel = dict(q, group_size=-1)
    assert published_weights(tiny, per_channel).total_bytes == _total(
        lambda k, n: 4 * (k // 8) * n + 4 * (n // 8) + 2 * n + 4 * k
    )


def test_awq(tiny):
    q = {
        "quant_method": "awq",
        "bits": 4,
        "group_size": 128,
        "version": "gemm",
        "zero_point": True,
    }
    want = _total(
        lambda k, n: 4 * k * (n // 8) + 4 * (k // 128) * (n // 8) + 2 * (k // 128) * n
    )
    assert published_weights(tiny, q).total_bytes == want


def _bnb_json(n, k, nested):
    state = {"quant_type": "nf4", "blocksize": 64, "dtype": "bfloat16", "shape": [n, k]}
    if nested:
        state.update(
            nested_blocksize=256,
            nested_dtype="float32",
            nested_offset=0.012345678901234567,
        )
    return len(json.dumps(state))


def test_bnb_4bit_double_quant(tiny):
    q = {
        "quant_method": "bitsandbytes",
        "load_in_4bit": True,
        "bnb_4bit_quant_type": "nf4",
        "bnb_4bit_use_double_quant": True,
    }

    def one(k, n):
        blocks = k * n // 64
        return (
            k * n // 2
            + blocks
            + 4 * math.ceil(blocks / 256)
            + 4 * 256
            + 4 * 16
            + _bnb_json(n, k, True)
        )

    assert published_weights(tiny, q).total_bytes == _total(one)


def test_bnb_8bit_skip_modules(tiny):
    # transformers 5.24 matches a pattern from the start of the name or as a suffix:
    # "mlp" alone names nothing; "model.layers.1.mlp" names layer 1's MLP
    q = {
        "quant_method": "bitsandbytes",
        "load_in_8bit": True,
        "llm_int8_skip_modules": ["lm_head", "mlp", "model.layers.1.mlp"],
    }

    def one(i, k, n):
        mlp = i == 1 and (k, n) in ((256, 512), (512, 256))
        return 2 * k * n if mlp else k * n + 4 * n + 1

    want = sum(one(i, k, n) for i in range(L) for k, n in LAYER) + 2 * HEAD + 2 * OTHER
    assert published_weights(tiny, q).total_bytes == want


def test_compressed_tensors_w4a16_asymmetric_with_actorder(tiny):
    q = {
        "quant_method": "compressed-tensors",
        "format": "pack-quantized",
        "ignore": ["lm_head"],
        "config_groups": {
            "group_0": {
                "targets": ["Linear"],
                "weights": {
                    "num_bits": 4,
                    "type": "int",
                    "strategy": "group",
                    "group_size": 128,
                    "symmetric": False,
                    "actorder": "group",
                },
            }
        },
    }

    def one(k, n):
        g = k // 128
        return 4 * n * (k // 8) + 16 + 2 * n * g + 4 * (n // 8) * g + 4 * k

    assert published_weights(tiny, q).total_bytes == _total(one)


def test_compressed_tensors_fp8_dynamic_and_kv_scheme(tiny):
    q = {
        "quant_method": "compressed-tensors",
        "format": "float-quantized",
        "ignore": ["lm_head"],
        "config_groups": {
            "group_0": {
                "targets": ["Linear"],
                "weights": {
                    "num_bits": 8,
                    "type": "float",
                    "strategy": "channel",
                    "symmetric": True,
                },
                "input_activations": {
                    "num_bits": 8,
                    "type": "float",
                    "strategy": "token",
                    "dynamic": True,
                },
            }
        },
        "kv_cache_scheme": {
            "num_bits": 8,
            "type": "float",
            "strategy": "tensor",
            "dynamic": False,
            "symmetric": True,
        },
    }
    w = published_weights(tiny, q)
    # k_scale and v_scale (bf16, one each) per attention layer
    assert w.total_bytes == _total(lambda k, n: k * n + 2 * n) + L * 2 * 2
    assert w.kv_cache_dtype == "fp8"


def test_compressed_tensors_nvfp4_regex_ignore(tiny):
    q = {
        "quant_method": "compressed-tensors",
        "format": "nvfp4-pack-quantized",
        "ignore": ["lm_head", "re:.*self_attn.*"],
        "config_groups": {
            "group_0": {
                "targets": ["Linear"],
                "weights": {
                    "num_bits": 4,
                    "type": "float",
                    "strategy": "tensor_group",
                    "group_size": 16,
                    "symmetric": True,
                },
                "input_activations": {
                    "num_bits": 4,
                    "type": "float",
                    "strategy": "tensor_group",
                    "group_size": 16,
                    "dynamic": "local",
                },
            }
        },
    }

    def one(k, n):
        if (k, n) in ((256, 256), (256, 64)):
            return 2 * k * n
        return k * n // 2 + n * k // 16 + 4 + 4

    assert published_weights(tiny, q).total_bytes == _total(one)


def test_modelopt_nvfp4_and_fp8(tiny):
    q = {
        "quant_method": "modelopt",
        "quant_algo": "NVFP4",
        "group_size": 16,
        "exclude_modules": ["lm_head", "model.layers.1.mlp*"],
    }

    def one(i):
        def f(k, n):
            if i == 1 and (k, n) in ((256, 512), (512, 256)):
                return 2 * k * n
            return k * n // 2 + k * n // 16 + 8

        return f

    want = sum(one(i)(k, n) for i in range(L) for k, n in LAYER) + 2 * HEAD + 2 * OTHER
    assert published_weights(tiny, q).total_bytes == want
    fp8 = {
        "quant_method": "modelopt",
        "quant_algo": "FP8",
        "exclude_modules": ["lm_head"],
    }
    assert published_weights(tiny, fp8).total_bytes == _total(lambda k, n: k * n + 8)


def test_mxfp4_converts_experts_only():
    moe = ModelSpec.from_hf_config(
        {
            "model_type": "qwen3_moe",
            "vocab_size": 1000,
            "hidden_size": 256,
            "num_hidden_layers": 1,
            "num_attention_heads": 4,
            "num_key_value_heads": 1,
            "head_dim": 64,
            "intermediate_size": 512,
            "moe_intermediate_size": 128,
            "num_experts": 4,
            "num_experts_per_tok": 2,
        }
    )
    q = {
        "quant_method": "mxfp4",
        "modules_to_not_convert": [
            "model.layers.*.self_attn",
            "model.layers.*.mlp.gate",
            "model.embed_tokens",
            "lm_head",
        ],
    }
    plain = published_weights(moe, None).total_bytes
    experts = 4 * (256 * 256 + 128 * 256)  # fused gate_up (2*128 x 256) and down
    packed = experts // 2 + experts // 32
    assert published_weights(moe, q).total_bytes == plain - 2 * experts + packed


@pytest.mark.parametrize(
    "q, words",
    [
        ({"quant_method": "hqq"}, "quant_method"),
        ({"bits": 4}, "quant_method"),
        ({"quant_method": "gptq"}, "bits"),
        ({"quant_method": "gptq", "bits": 5}, "bits"),
        ({"quant_method": "awq", "bits": 4, "version": "gemv"}, "version"),
        ({"quant_method": "fp8", "weight_block_size": [128]}, "weight_block_size"),
        (
            {"quant_method": "fp8", "activation_scheme": "sometimes"},
            "activation_scheme",
        ),
        ({"quant_method": "bitsandbytes"}, "load_in_4bit"),
        (
            {
                "quant_method": "bitsandbytes",
                "load_in_4bit": True,
                "bnb_4bit_quant_type": "nf3",
            },
            "bnb_4bit_quant_type",
        ),
        ({"quant_method": "compressed-tensors"}, "config_groups"),
        (
            {
                "quant_method": "compressed-tensors",
                "config_groups": {
                    "g": {
                        "targets": ["Linear"],
                        "weights": {"num_bits": 4, "type": "int", "strategy": "group"},
                    }
                },
            },
            "group_size",
        ),
        ({"quant_method": "modelopt", "quant_algo": "INT3"}, "quant_algo"),
        (
            {
                "quant_method": "fp8",
                "modules_to_not_convert": "x",
                "weight_block_size": [1, 1],
            },
            None,
        ),
    ],
)
def test_unknown_or_malformed_configs_name_the_key(tiny, q, words):
    if words is None:  # a single name is accepted as a list of one
        assert published_weights(tiny, q).total_bytes > 0
        return
    with pytest.raises((ValueError, TypeError), match=words):
        published_weights(tiny, q)


def test_a_config_that_converts_nothing_is_refused(tiny):
    q = {"quant_method": "fp8", "modules_to_not_convert": ["model"]}
    with pytest.raises(ValueError, match="converts no linear layer"):
        published_weights(tiny, q)


def test_estimate_defaults_to_as_published(tiny):
    q = {"quant_method": "awq", "bits": 4, "group_size": 128, "version": "gemm"}
    spec = with_checkpoint(
        tiny, Checkpoint.from_config(dict(TINY, quantization_config=q))
    )
    e = estimate(spec)
    assert e.precision == "as published: awq 4-bit g128 + bf16"
    assert e.weights_bytes == published_for(spec).total_bytes
    assert estimate(spec, precision="bf16").weights_bytes == 2 * tiny.param_count()
    assert estimate(tiny).precision == "bf16"  # a plain spec: as before


def test_catalogue_deepseek_v3_is_fp8_as_published():
    e = estimate("deepseek-ai/DeepSeek-V3")
    assert e.precision.startswith("as published: fp8 block 128x128")
    spec = get_model("deepseek-ai/DeepSeek-V3")
    # by hand: every routed and shared expert, dense MLP and attention matrix in fp8
    # with an
    # fp32 scale per 128x128 block; embedding, LM head, routers and norms in bf16
    h, v, n = 7168, 129280, 128

    def block(k, o):
        return k * o + 4 * math.ceil(o / 128) * math.ceil(k / 128)

    attn = (
        block(h, 1536)
        + block(1536, n * 192)
        + block(h, 576)
        + block(512, n * 256)
        + block(n * 128, h)
    )
    dense = 2 * block(h, 18432) + block(18432, h)
    expert = 2 * block(h, 2048) + block(2048, h)
    moe = 257 * expert + 2 * 256 * h  # 256 routed + 1 shared; bf16 router
    norms = 61 * (2 * h + 1536 + 512) + h
    score_bias = 4 * 256  # each router's e_score_correction_bias: an fp32 buffer
    want = 61 * attn + 3 * dense + 58 * (moe + score_bias) + 2 * (2 * v * h) + 2 * norms
    assert e.weights_bytes == want == published_for(spec).total_bytes


PUBLISHED = json.loads(
    (
        Path(__file__).parent / "data" / "checkpoints" / "quantization_configs.json"
    ).read_text()
)["configs"]


def _published(model_id):
    entry = next(e for e in PUBLISHED if e["id"] == model_id)
    assert entry["source"].startswith("https://")
    return entry["quantization_config"]


def test_published_deepseek_v3_block_is_the_catalogue_one():
    spec = get_model("deepseek-ai/DeepSeek-V3")
    assert spec.checkpoint.quantization_config == _published("deepseek-ai/DeepSeek-V3")


def test_published_gpt_oss_ignore_list_keeps_attention_and_router_16_bit():
    moe = ModelSpec.from_hf_config(
        {
            "model_type": "qwen3_moe",
            "vocab_size": 1000,
            "hidden_size": 256,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 1,
            "head_dim": 64,
            "intermediate_size": 512,
            "moe_intermediate_size": 128,
            "num_experts": 4,
            "num_experts_per_tok": 2,
        }
    )
    w = published_weights(moe, _published("openai/gpt-oss-20b"))
    kinds = {m.kind for m in w.modules if m.scheme.startswith("mxfp4")}
    assert kinds == {"expert"}
    assert all(m.scheme == "bf16" for m in w.modules if m.kind != "expert")
