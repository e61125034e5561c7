"""The readers of vramlib/families/moe.py on small configs worked out by hand: each
expected number is written as the formula it comes from, term by term."""

from __future__ import annotations

import pytest

from vramlib.kv import kv_bytes_per_token, kv_cache_bytes
from vramlib.models import ModelSpec

TOK = dict(pad_token_id=None, bos_token_id=None, eos_token_id=None)


def spec(model_type: str, **cfg) -> ModelSpec:
    return ModelSpec.from_hf_config(dict(model_type=model_type, **cfg))


# ---- parameters --------------------------------------------------------------------


def test_glm4_moe_dense_first_then_routed_and_shared_experts():
    s = spec(
        "glm4_moe",
        vocab_size=100,
        hidden_size=16,
        num_hidden_layers=3,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=8,
        intermediate_size=40,
        n_routed_experts=4,
        num_experts_per_tok=2,
        moe_intermediate_size=8,
        n_shared_experts=1,
        first_k_dense_replace=1,
        use_qk_norm=True,
        attention_bias=True,
    )
    # q, k, v, o; q/k/v biases (no o bias); q/k norms of d_h; two hidden norms
    layer = 16 * 32 + 16 * 16 + 16 * 16 + 32 * 16 + (32 + 16 + 16) + 2 * 8 + 2 * 16
    dense = 3 * 16 * 40
    experts, router, shared = 4 * 3 * 16 * 8, 4 * 16, 3 * 16 * 8
    total = 2 * 100 * 16 + 16 + 3 * layer + dense + 2 * (experts + router + shared)
    assert s.param_count() == total == 14048
    assert s.mlp_layer_types == ("dense", "moe", "moe")
    assert s.active_param_count() == total - 2 * (4 - 2) * 3 * 16 * 8
    assert (
        s.num_experts,
        s.experts_per_token,
        s.moe_intermediate_size,
        s.shared_expert_intermediate_size,
        s.mtp_layers,
    ) == (4, 2, 8, 8, 1)
    assert "num_nextn_predict_layers" in s.defaulted_keys


def test_glm4_moe_reads_the_other_names_of_its_keys():
    base = dict(
        vocab_size=10,
        hidden_size=8,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        num_experts_per_tok=1,
    )
    a = spec("glm4_moe", n_routed_experts=3, num_nextn_predict_layers=2, **base)
    b = spec("glm4_moe", num_local_experts=3, num_mtp_layers=2, **base)
    assert a.param_count() == b.param_count() and a.mtp_layers == b.mtp_layers == 2
    with pytest.raises(ValueError, match="disagree"):
        spec("glm4_moe", n_routed_experts=3, num_local_experts=4, **base)


def test_ernie_biases_everywhere_the_lm_head_included_when_tied():
    s = spec(
        "ernie4_5_moe",
        vocab_size=50,
        hidden_size=16,
        num_hidden_layers=3,
        num_attention_heads=2,
        num_key_value_heads=1,
        intermediate_size=24,
        moe_num_experts=2,
        moe_k=1,
        moe_intermediate_size=8,
        moe_num_shared_experts=1,
        use_bias=True,
        tie_word_embeddings=True,
    )
    attention = 16 * 16 + 16 * 8 + 16 * 8 + 16 * 16 + (16 + 8 + 8 + 16) + 2 * 16
    dense = 3 * 16 * 24 + (24 + 24 + 16)
    experts, router = 2 * 3 * 16 * 8, 2 * 16 + 2  # + the score-correction parameter
    shared = 3 * 16 * 8 + (8 + 8 + 16)
    total = 50 * 16 + 50 + 16 + 3 * attention + dense + 2 * (experts + router + shared)
    assert s.param_count() == total == 7062
    assert s.mlp_layer_types == ("dense", "moe", "moe")  # start index 1 by default
    assert s.param_groups()["router"] == 2 * router


@pytest.mark.parametrize(
    "start,end,every,expected",
    [(0, -1, 1, "MMMMM"), (1, 3, 1, "DMMMD"), (0, -1, 2, "DMDMD"), (2, 1, 1, "DDDDD")],
)
def test_ernie_expert_layers(start, end, every, expected):
    s = spec(
        "ernie4_5_moe",
        vocab_size=10,
        hidden_size=8,
        num_hidden_layers=5,
        num_attention_heads=2,
        num_key_value_heads=1,
        moe_num_experts=2,
        moe_k=1,
        moe_layer_start_index=start,
        moe_layer_end_index=end,
        moe_layer_interval=every,
    )
    assert "".join("M" if k == "moe" else "D" for k in s.mlp_layer_types) == expected


def test_hunyuan_shared_mlp_and_top_k_per_layer():
    s = spec(
        "hunyuan_v1_moe",
        vocab_size=40,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        head_dim=8,
        intermediate_size=12,
        num_experts=3,
        moe_topk=[1, 3],
    )
    attention = 4 * 16 * 16 + 2 * 8 + 2 * 16  # q, k, v, o; q/k norms; two norms
    moe = 3 * 3 * 16 * 12 + 3 * 16 + 3 * 16 * 12  # experts, router, shared MLP
    total = 2 * 40 * 16 + 16 + 2 * (attention + moe)
    assert s.param_count() == total == 8144
    # a token skips E - k experts of 3HI in each layer: 2 in layer 0, none in layer 1
    assert s.active_param_count() == total - (3 - 1) * 3 * 16 * 12
    assert s.experts_per_token == 3
    assert s.layers[0] is not s.layers[1]


def test_minimax_m2_experts_of_intermediate_size_and_full_qk_norms():
    s = spec(
        "minimax_m2",
        vocab_size=20,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=8,
        intermediate_size=8,
        num_experts=4,
        num_experts_per_tok=2,
    )
    attention = 16 * 16 + 16 * 8 + 16 * 8 + 16 * 16 + (16 + 8) + 2 * 16
    moe = 4 * 3 * 16 * 8 + 4 * 16
    assert s.param_count() == 2 * 20 * 16 + 16 + attention + moe == 3080
    assert s.moe_intermediate_size == s.intermediate_size == 8


def test_apertus_plain_mlp_and_xielu_scalars():
    s = spec(
        "apertus",
        vocab_size=30,
        hidden_size=8,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=20,
        attention_bias=True,
    )
    layer = (
        4 * 8 * 8
        + 4 * 8  # q, k, v, o and their biases (n_kv = n_h by default)
        + 2 * 4
        + 2 * 8  # q/k norms of d_h = 4; two hidden norms
        + 2 * 8 * 20
        + 2
    )  # up and down; xIELU's alpha_p and alpha_n
    assert s.param_count() == 2 * 30 * 8 + 8 + 2 * layer == 1756
    plain = spec(
        "apertus",
        vocab_size=30,
        hidden_size=8,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=20,
        attention_bias=True,
        hidden_act="relu2",
    )
    assert s.param_count() - plain.param_count() == 2 * 2
    assert not s.mlp_gated


def test_seed_oss_biases_and_a_null_head_dim():
    cfg = dict(
        vocab_size=10,
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        intermediate_size=6,
    )
    layer = 8 * 8 + 8 * 4 + 8 * 4 + 8 * 8 + (8 + 4 + 4) + 2 * 8 + 3 * 8 * 6
    assert spec("seed_oss", head_dim=4, **cfg).param_count() == 160 + 8 + layer == 536
    assert spec("seed_oss", head_dim=None, **cfg).param_count() == 536  # 8 / 2 = 4
    with_o = spec("seed_oss", head_dim=4, attention_out_bias=True, **cfg)
    assert with_o.param_count() == 536 + 8
    assert spec("seed_oss", **cfg).head_dim == 128  # the class default


def test_ministral3_default_head_dim_and_window_on_every_layer():
    s = spec(
        "ministral3",
        vocab_size=10,
        hidden_size=8,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        intermediate_size=6,
        sliding_window=5,
    )
    layer = 8 * 256 + 8 * 128 + 8 * 128 + 256 * 8 + 2 * 8 + 3 * 8 * 6
    assert s.param_count() == 160 + 8 + 2 * layer == 12776
    assert s.layer_types == ("sliding_attention",) * 2
    # 2 layers x min(9, 5) tokens x (K + V) x 128 x 2 bytes (bf16)
    assert kv_cache_bytes(s, tokens=9, batch=1) == 2 * 5 * 2 * 128 * 2 == 5120


def test_olmo3_pattern_params_and_cache():
    s = spec(
        "olmo3",
        vocab_size=64,
        hidden_size=32,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=24,
        sliding_window=4,
    )
    layer = 32 * 32 + 2 * 32 * 16 + 32 * 32 + (32 + 16) + 2 * 32 + 3 * 32 * 24
    assert s.param_count() == 2 * 64 * 32 + 32 + 4 * layer == 26080
    assert s.layer_types == ("sliding_attention",) * 3 + ("full_attention",)
    row = 2 * 2 * 8 * 2  # K + V, 2 heads x 8, bf16
    assert kv_bytes_per_token(s) == 4 * row
    assert kv_cache_bytes(s, tokens=10, batch=3) == 3 * (3 * 4 + 10) * row == 4224


def test_smollm3_layers_without_rotary_positions_are_the_sliding_ones():
    base = dict(
        vocab_size=10,
        hidden_size=8,
        num_hidden_layers=4,
        num_attention_heads=2,
        num_key_value_heads=1,
        intermediate_size=6,
    )
    s = spec(
        "smollm3",
        use_sliding_window=True,
        sliding_window=6,
        no_rope_layers=[1, 0, 1, 0],
        **base,
    )
    assert s.layer_types == ("full_attention", "sliding_attention") * 2
    default = spec("smollm3", use_sliding_window=True, sliding_window=6, **base)
    assert default.layer_types == ("full_attention",) * 3 + ("sliding_attention",)
    assert spec("smollm3", **base).layer_types == ("full_attention",) * 4
    # rotary positions or not, the weights are the same
    assert (
        s.param_count()
        == spec("smollm3", no_rope_layers=[1, 1, 1, 1], **base).param_count()
    )


# ---- linear layers by name ---------------------------------------------------------


def test_linear_module_names():
    h = spec(
        "hunyuan_v1_moe",
        vocab_size=10,
        hidden_size=8,
        num_hidden_layers=2,
        num_attention_heads=2,
        head_dim=4,
        intermediate_size=6,
        num_experts=3,
    )
    names = {(x.name, x.kind) for x in h.linear_modules()}
    assert ("wg", "router") in names and ("gate", "router") not in names
    assert ("gate_proj", "shared_expert") in names
    e = spec(
        "ernie4_5_moe",
        vocab_size=10,
        hidden_size=8,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        moe_num_experts=2,
        moe_k=1,
        moe_intermediate_size=4,
        use_bias=True,
    )
    shared = [x for x in e.linear_modules() if x.kind == "shared_expert"]
    assert [(x.name, x.in_features, x.out_features, x.bias) for x in shared] == [
        ("gate_proj", 8, 8, True),
        ("up_proj", 8, 8, True),
        ("down_proj", 8, 8, True),
    ]
    g = spec(
        "glm4_moe",
        vocab_size=10,
        hidden_size=8,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        n_routed_experts=3,
        num_experts_per_tok=1,
        first_k_dense_replace=0,
    )
    router = [x for x in g.linear_modules() if x.kind == "router"]
    assert [(x.name, x.in_features, x.out_features, x.count) for x in router] == [
        ("gate", 8, 3, 2)
    ]


# ---- refusals ----------------------------------------------------------------------

SMALL = dict(
    vocab_size=10,
    hidden_size=8,
    num_hidden_layers=2,
    num_attention_heads=2,
    num_key_value_heads=1,
)


@pytest.mark.parametrize(
    "model_type,extra,match",
    [
        ("seed_oss", dict(sliding_window=4), "'sliding_window' is 4 .*reads the whole"),
        ("glm4_moe", dict(attention_chunk_size=8), "'attention_chunk_size'"),
        ("ministral3", dict(attention_chunk_size=8), "'attention_chunk_size'"),
        ("olmo3", dict(sliding_window=None), "'sliding_window' is None.*need a window"),
        (
            "olmo3",
            dict(layer_types=["chunked_attention", "full_attention"]),
            "'chunked_attention' for layer 0.*full_attention, sliding_attention",
        ),
        ("olmo3", dict(layer_types=["full_attention"]), "list of 2 entries"),
        (
            "smollm3",
            dict(layer_types=["sliding_attention", "full_attention"], sliding_window=4),
            "use_sliding_window is false",
        ),
        ("smollm3", dict(no_rope_layers=[1]), "'no_rope_layers' must be a list of 2"),
        ("smollm3", dict(no_rope_layers=[1, 2]), "each 1 .* or 0"),
        ("seed_oss", dict(hidden_act="xielu"), "learned parameters"),
        ("apertus", dict(hidden_act="xielo"), "Did you mean 'xielu'"),
        ("ministral3", dict(head_dim=None), "'head_dim' must be an integer"),
        ("ministral3", dict(num_key_value_heads=None), "'num_key_value_heads'"),
        ("minimax_m2", dict(use_qk_norm=False), "'use_qk_norm'"),
        ("minimax_m2", dict(shared_intermediate_size=64), "no shared expert"),
        ("minimax_m2", dict(num_local_experts=2, num_experts_per_tok=3), "exceeds"),
        ("ernie4_5_moe", dict(moe_num_experts=2, moe_k=3), "'moe_k' \\(3\\) exceeds"),
        ("ernie4_5_moe", dict(moe_layer_interval=0), "'moe_layer_interval'"),
        ("hunyuan_v1_moe", dict(), "'head_dim' is required"),
        ("hunyuan_v1_moe", dict(head_dim=4, use_cla=True), "cross-layer"),
        (
            "hunyuan_v1_moe",
            dict(head_dim=4, num_experts=[2, 2]),
            "same number of experts",
        ),
        (
            "hunyuan_v1_moe",
            dict(head_dim=4, num_experts=2, moe_topk=[1]),
            "'moe_topk' must be one integer or a list of 2",
        ),
        ("hunyuan_v1_moe", dict(head_dim=4, num_experts=2, moe_topk=3), "exceeds"),
        (
            "hunyuan_v1_moe",
            dict(head_dim=4, intermediate_size=6, moe_intermediate_size=[6, 4]),
            "ignores it and builds 6",
        ),
        ("hunyuan_v1_moe", dict(head_dim=4, num_shared_expert=2), "builds 1"),
        ("apertus", dict(per_layer_config={"0": {"hidden_size": 4}}), "per-layer"),
    ],
)
def test_refusals_name_the_key(model_type, extra, match):
    with pytest.raises((ValueError, TypeError), match=match):
        spec(model_type, **{**SMALL, **extra})


def test_a_layer_types_entry_on_a_type_that_ignores_the_key_is_checked():
    with pytest.raises(ValueError, match="seed_oss model does not have"):
        spec("seed_oss", layer_types=["full_attention", "sliding_attention"], **SMALL)
    ok = spec("seed_oss", layer_types=["full_attention"] * 2, **SMALL)
    assert ok.layer_types == ("full_attention",) * 2
