"""Latent attention with an indexer (DeepSeek-V3.2, GLM-5) and DeepSeek-V4's compressed
attention: small examples worked by hand, the readers, and what they refuse."""

from __future__ import annotations

import pytest

from vramlib.kv import cache_breakdown, kv_bytes_per_token, kv_cache_bytes
from vramlib.layers.attention import LatentAttention
from vramlib.layers.latent import CompressedAttention
from vramlib.models import ModelSpec
from vramlib.precisions import get_precision

BF16, FP32 = get_precision("bf16"), get_precision("fp32")

# ---- the units, by hand --------------------------------------------------------------

# H = 64, n_h = 4, r_kv = 16, r_q = 24, d_nope = 8, d_rope = 4, d_v = 6,
# n_I = 3, d_I = 8
MLA = dict(
    hidden=64,
    heads=4,
    kv_lora_rank=16,
    q_lora_rank=24,
    qk_nope_head_dim=8,
    qk_rope_head_dim=4,
    v_head_dim=6,
)


def test_indexer_parameters_by_hand():
    layer = LatentAttention(**MLA, index_topk=5, index_n_heads=3, index_head_dim=8)
    mla = 64 * 24 + 24 * 4 * (8 + 4) + 64 * (16 + 4) + 16 * 4 * (8 + 6) + 4 * 6 * 64
    indexer = 24 * 3 * 8 + 64 * 8 + 64 * 3  # wq_b, wk, weights_proj
    assert layer.params() == {
        "attention": mla + indexer,
        "bias": 0,
        "norm": 24 + 16 + 2 * 8,
    }  # q/kv latent norms, k_norm w+b
    assert layer.layer_type == "indexed_attention"
    names = [lin.name for lin in layer.linears()]
    assert names[-3:] == ["wq_b", "wk", "weights_proj"]


def test_indexer_cache_by_hand():
    layer = LatentAttention(**MLA, index_topk=5, index_n_heads=3, index_head_dim=8)
    # 10 tokens in bf16: latent (16 + 4) x 2 bytes, indexer keys 8 x 2 bytes per token
    assert layer.cache_bytes(10, BF16, BF16) == {
        "latent": 10 * 20 * 2,
        "indexer_keys": 10 * 8 * 2,
    }
    assert layer.bytes_per_token(BF16) == (20 + 8) * 2
    expanded = layer.cache_bytes(10, BF16, BF16, mla_expanded=True)
    assert expanded == {
        "keys": 10 * 4 * 12 * 2,
        "values": 10 * 4 * 6 * 2,
        "indexer_keys": 10 * 8 * 2,
    }


def test_a_shared_indexer_layer_has_no_indexer_of_its_own():
    shared = LatentAttention(**MLA, index_topk=5, index_shared=True)
    plain = LatentAttention(**MLA)
    assert shared.layer_type == "indexed_attention"
    assert plain.layer_type == "full_attention"
    assert shared.params() == plain.params()
    assert shared.cache_bytes(10, BF16, BF16) == {"latent": 10 * 20 * 2}
    assert shared.linears() == plain.linears()


def test_indexer_refusals():
    with pytest.raises(ValueError, match="q_lora_rank must be set"):
        LatentAttention(
            **dict(MLA, q_lora_rank=None),
            index_topk=5,
            index_n_heads=3,
            index_head_dim=8,
        )
    with pytest.raises(ValueError, match="index_topk > 0"):
        LatentAttention(**MLA, index_n_heads=3, index_head_dim=8)
    with pytest.raises(ValueError, match="index_head_dim"):
        LatentAttention(**MLA, index_topk=5, index_n_heads=3)


# H = 32, n_h = 4, d = 16, r_q = 12, g = 2, r_o = 6, W = 4; CSA m = 3, n_I = 2, c = 8
V4 = dict(
    hidden=32, heads=4, head_dim=16, q_lora_rank=12, o_groups=2, o_lora_rank=6, window=4
)
CSA = dict(
    kind="compressed_sparse_attention",
    compress_rate=3,
    index_n_heads=2,
    index_head_dim=8,
    index_topk=3,
)
CORE = 32 * 12 + 12 * 4 * 16 + 32 * 16 + 4 * 16 * 6 + 2 * 6 * 32  # q_a q_b kv o_a o_b


def test_v4_parameters_by_hand():
    sliding = CompressedAttention(**V4)
    assert sliding.params() == {"attention": CORE, "norm": 12 + 16 + 4}
    heavy = CompressedAttention(
        **V4, kind="heavily_compressed_attention", compress_rate=5
    )
    assert heavy.params() == {
        "attention": CORE + 2 * 32 * 16,  # compressor kv, gate
        "norm": 12 + 16 + 4 + 5 * 16 + 16,
    }  # position bias, norm
    sparse = CompressedAttention(**V4, **CSA)
    compressor = 2 * 32 * 32  # two series: kv and gate of 2d
    indexer = 2 * 32 * 16 + 12 * 2 * 8 + 32 * 2  # kv and gate of 2c, q_b, weights
    assert sparse.params() == {
        "attention": CORE + compressor + indexer,
        "norm": 12 + 16 + 4 + 3 * 32 + 16 + 3 * 16 + 8,
    }
    assert sparse.layer_type == "compressed_sparse_attention"


def test_v4_cache_by_hand():
    sparse = CompressedAttention(**V4, **CSA)
    # 7 tokens, bf16: window min(7, 4) rows of 16; 7 = 2 x 3 + 1: two entries and
    # one token waiting
    state = (
        2 * 1 * 32 * 2
        + 2 * 1 * 16 * 2  # waiting values + gates, compressor, indexer
        + 3 * (16 + 8) * 2
        + 3 * (16 + 8) * 4
    )  # overlap: values bf16, gates fp32
    assert sparse.cache_bytes(7, BF16, BF16) == {
        "keys": 4 * 16 * 2,
        "compressed_keys": 2 * 16 * 2,
        "indexer_keys": 2 * 8 * 2,
        "compressor_state": state,
    }
    # before the first window closes: no entries, no overlap
    assert sparse.cache_bytes(2, BF16, BF16) == {
        "keys": 2 * 16 * 2,
        "compressed_keys": 0,
        "indexer_keys": 0,
        "compressor_state": 2 * 2 * 32 * 2 + 2 * 2 * 16 * 2,
    }
    heavy = CompressedAttention(
        **V4, kind="heavily_compressed_attention", compress_rate=5
    )
    assert heavy.cache_bytes(12, FP32, FP32) == {
        "keys": 4 * 16 * 4,
        "compressed_keys": 2 * 16 * 4,
        "compressor_state": 2 * 2 * 16 * 4,
    }
    assert CompressedAttention(**V4).cache_bytes(3, BF16, BF16) == {"keys": 3 * 16 * 2}
    assert sparse.bytes_per_token(BF16) == 16 * 2


def test_v4_unit_refusals():
    with pytest.raises(ValueError, match="Accepted: compressed_sparse_attention"):
        CompressedAttention(**V4, kind="chunked_attention")
    with pytest.raises(ValueError, match="o_groups"):
        CompressedAttention(**dict(V4, o_groups=3))
    with pytest.raises(ValueError, match="compress_rate"):
        CompressedAttention(**V4, kind="heavily_compressed_attention")
    with pytest.raises(ValueError, match="has an indexer"):
        CompressedAttention(
            **V4,
            kind="heavily_compressed_attention",
            compress_rate=4,
            index_n_heads=2,
            index_head_dim=8,
            index_topk=3,
        )


# ---- the readers ---------------------------------------------------------------------


def dsa(model_type: str, **extra) -> dict:
    cfg = dict(
        model_type=model_type,
        vocab_size=100,
        hidden_size=64,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=4,
        intermediate_size=96,
        moe_intermediate_size=16,
        n_routed_experts=4,
        num_experts_per_tok=2,
        kv_lora_rank=16,
        q_lora_rank=24,
        qk_rope_head_dim=4,
        qk_nope_head_dim=8,
        v_head_dim=6,
        index_n_heads=3,
        index_head_dim=8,
        index_topk=5,
        first_k_dense_replace=1,
    )
    cfg.update(extra)
    return cfg


def test_deepseek_v32_reads_dense_then_experts_and_mtp_layers():
    spec = ModelSpec.from_hf_config(dsa("deepseek_v32", num_nextn_predict_layers=1))
    assert spec.mlp_layer_types == ("dense", "moe", "moe", "moe")
    assert spec.layer_types == ("indexed_attention",) * 4
    assert spec.mtp_layers == 1
    # 4 layers x 10 tokens x (latent 16 + 4, indexer key 8) x 2 bytes
    assert kv_cache_bytes(spec, tokens=10) == 4 * 10 * (20 + 8) * 2
    assert kv_bytes_per_token(spec) == 4 * (20 + 8) * 2
    names = {lin.name for lin in spec.linear_modules()}
    assert {"wq_b", "wk", "weights_proj", "q_a_proj", "kv_b_proj"} <= names


def test_deepseek_v32_class_defaults_fill_absent_keys():
    cfg = dsa("deepseek_v32")
    for key in ("index_n_heads", "index_head_dim", "index_topk"):
        del cfg[key]
    spec = ModelSpec.from_hf_config(cfg)
    mixer = spec.layers[0].mixer
    assert (mixer.index_n_heads, mixer.index_head_dim, mixer.index_topk) == (
        64,
        128,
        2048,
    )
    assert {"index_n_heads", "index_head_dim", "index_topk"} <= set(spec.defaulted_keys)
    assert spec.max_position_embeddings == 163840


@pytest.mark.parametrize(
    "extra,shared",
    [
        (dict(indexer_types=["full", "shared", "shared", "full"]), (0, 1, 1, 0)),
        (dict(index_topk_pattern="FSFS"), (0, 1, 0, 1)),
        # layer i runs its indexer when max(i - offset + 1, 0) is a multiple of the
        # frequency
        (dict(index_topk_freq=2, index_skip_topk_offset=1), (0, 1, 0, 1)),
        (dict(index_topk_freq=2), (0, 0, 1, 0)),
        ({}, (0, 0, 0, 0)),
    ],
)
def test_glm_shared_indexer_layers(extra, shared):
    spec = ModelSpec.from_hf_config(dsa("glm_moe_dsa", **extra))
    assert tuple(int(x.mixer.index_shared) for x in spec.layers) == shared
    own = shared.count(0)
    assert cache_breakdown(spec, tokens=10) == {
        "indexed_attention": {
            "latent": 4 * 10 * 20 * 2,
            "indexer_keys": own * 10 * 8 * 2,
        }
    }


@pytest.mark.parametrize(
    "model_type,extra,message",
    [
        (
            "deepseek_v32",
            dict(layer_types=["full_attention"] * 4),
            "'full_attention' for layer 0",
        ),
        (
            "glm_moe_dsa",
            dict(indexer_types=["shared", "full", "full", "full"]),
            "first layer",
        ),
        ("glm_moe_dsa", dict(index_topk_pattern="FXFF"), "letters F"),
        (
            "glm_moe_dsa",
            dict(index_topk_pattern=["F", "S", "F", "S"]),
            "'full', 'shared'",
        ),
        ("glm_moe_dsa", dict(indexer_types=["full", "full"]), "at least 4 entries"),
        ("deepseek_v32", dict(index_topk_pattern="FSFS"), "only for glm_moe_dsa"),
        ("deepseek_v32", dict(moe_layer_freq=2), "moe_layer_freq"),
        (
            "deepseek_v32",
            dict(mlp_layer_types=["dense", "moe", "moe", "moe"]),
            "'sparse'",
        ),
        ("deepseek_v32", dict(q_lora_rank=None), "'q_lora_rank'"),
        ("deepseek_v32", dict(index_head_dim=2), "at least 'qk_rope_head_dim'"),
        ("glm_moe_dsa", dict(num_experts=3, n_routed_experts=4), "disagree"),
    ],
)
def test_dsa_refusals(model_type, extra, message):
    with pytest.raises(ValueError, match=message):
        ModelSpec.from_hf_config(dsa(model_type, **extra))


def v4(**extra) -> dict:
    cfg = dict(
        model_type="deepseek_v4",
        vocab_size=100,
        hidden_size=32,
        num_hidden_layers=4,
        num_attention_heads=4,
        head_dim=16,
        q_lora_rank=12,
        moe_intermediate_size=8,
        n_routed_experts=4,
        num_experts_per_tok=2,
        o_groups=2,
        o_lora_rank=6,
        index_n_heads=2,
        index_head_dim=8,
        index_topk=3,
        sliding_window=4,
        hc_mult=2,
        compress_rates={
            "compressed_sparse_attention": 3,
            "heavily_compressed_attention": 5,
        },
    )
    cfg.update(extra)
    return cfg


def test_v4_layer_kinds_from_each_way_of_saying_them():
    heavy, sparse = "heavily_compressed_attention", "compressed_sparse_attention"
    # the class's schedule: two heavy layers, then sparse and heavy alternately
    assert ModelSpec.from_hf_config(v4()).layer_types == (heavy, heavy, heavy, sparse)
    legacy = ModelSpec.from_hf_config(v4(compress_ratios=[0, 4, 128, 4, 0]))
    assert legacy.layer_types == ("sliding_attention", sparse, heavy, sparse)
    rates = ModelSpec.from_hf_config(v4(compress_rates=None, compress_rate_hca=7))
    assert rates.layers[0].mixer.compress_rate == 7
    assert rates.layers[3].mixer.compress_rate == 4


def test_v4_model_level_parameters_by_hand():
    spec = ModelSpec.from_hf_config(v4(tie_word_embeddings=True, mlp_bias=True))
    n, h = 2, 32  # streams, hidden
    per_hc = (2 + n) * n * (n * h) + (2 + n) * n + 3  # fn, base, scale
    head = n * (n * h) + n + 1  # hc_fn, hc_base, hc_scale
    experts = 4 * 3 * 32 * 8 + 3 * 32 * 8 + 4 * 32  # routed, shared, router
    heavy = CORE + 2 * 32 * 16 + 12 + 16 + 4 + 5 * 16 + 16  # as in the unit's test
    sparse = (
        CORE
        + 2 * 32 * 32
        + 2 * 32 * 16
        + 12 * 2 * 8
        + 32 * 2
        + 12
        + 16
        + 4
        + 3 * 32
        + 16
        + 3 * 16
        + 8
    )
    mixers = 3 * heavy + sparse  # layers: heavy, heavy, heavy, sparse
    shared_bias = 2 * 8 + 32
    total = (
        100 * 32
        + 32
        + head  # embedding (tied), final norm, hyper-connection head
        + 4 * (2 * per_hc + experts + 2 * 32 + shared_bias)
        + mixers
    )
    assert spec.param_count() == total
    assert spec.mtp_layers == 1  # the class default
    names = {(lin.name, lin.kind) for lin in spec.linear_modules()}
    assert {
        ("o_a_proj", "attention"),
        ("o_b_proj", "attention"),
        ("gate_proj", "attention"),
        ("gate_proj", "shared_expert"),
    } <= names


def test_v4_cache_breakdown_names_every_part():
    spec = ModelSpec.from_hf_config(v4())
    parts = cache_breakdown(spec, tokens=20)
    assert set(parts) == {"heavily_compressed_attention", "compressed_sparse_attention"}
    assert set(parts["compressed_sparse_attention"]) == {
        "keys",
        "compressed_keys",
        "indexer_keys",
        "compressor_state",
    }
    # 3 heavy layers: window 4 rows + 20 // 5 entries of 16 elements, nothing waiting
    assert parts["heavily_compressed_attention"] == {
        "keys": 3 * 4 * 16 * 2,
        "compressed_keys": 3 * 4 * 16 * 2,
        "compressor_state": 0,
    }


@pytest.mark.parametrize(
    "extra,message",
    [
        (dict(num_key_value_heads=8), "'num_key_value_heads' is 8"),
        (dict(n_shared_experts=2), "'n_shared_experts'"),
        (dict(compress_ratios=[0, 8, 4, 4]), "each 0, 4 or 128"),
        (
            dict(compress_rates={"compressed_sparse_attention": 3}),
            "no rate for 'heavily_compressed_attention'",
        ),
        (dict(layer_types=["full_attention"] * 4), "'full_attention' for layer 0"),
        (dict(mlp_layer_types=["dense"] * 4), "'dense' for layer 0"),
        (dict(o_groups=3), "'o_groups'"),
        (dict(intermediate_size=9), "disagree"),
    ],
)
def test_v4_refusals(extra, message):
    with pytest.raises(ValueError, match=message):
        ModelSpec.from_hf_config(v4(**extra))
