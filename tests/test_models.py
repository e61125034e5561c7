"""ModelSpec: reading config.json, exact parameter counts, the catalogue.

Expected counts are written out as arithmetic on the published config values (Hugging Face Hub
config.json of each model); tests/validate checks the same code against transformers itself.
"""

from __future__ import annotations

import dataclasses
import json
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vramlib import _data, models
from vramlib.models import (
    GROUPS,
    SUPPORTED_MODEL_TYPES,
    ModelSpec,
    catalogue_entry,
    get_model,
    model_names,
)

LLAMA_31_8B = {  # meta-llama/Llama-3.1-8B config.json (architecture keys)
    "model_type": "llama",
    "vocab_size": 128256,
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "tie_word_embeddings": False,
    "attention_bias": False,
    "mlp_bias": False,
}
MIXTRAL_8X7B = {  # mistralai/Mixtral-8x7B-v0.1 config.json
    "model_type": "mixtral",
    "vocab_size": 32000,
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "num_local_experts": 8,
    "num_experts_per_tok": 2,
    "sliding_window": None,
}
DEEPSEEK_V3 = {  # deepseek-ai/DeepSeek-V3 config.json
    "model_type": "deepseek_v3",
    "vocab_size": 129280,
    "hidden_size": 7168,
    "intermediate_size": 18432,
    "moe_intermediate_size": 2048,
    "num_hidden_layers": 61,
    "num_attention_heads": 128,
    "num_key_value_heads": 128,
    "n_shared_experts": 1,
    "n_routed_experts": 256,
    "num_experts_per_tok": 8,
    "first_k_dense_replace": 3,
    "q_lora_rank": 1536,
    "kv_lora_rank": 512,
    "qk_nope_head_dim": 128,
    "qk_rope_head_dim": 64,
    "v_head_dim": 128,
    "tie_word_embeddings": False,
    "n_group": 8,
    "topk_group": 4,
}
GEMMA2_9B = {  # google/gemma-2-9b config.json (tie_word_embeddings absent: true by default)
    "model_type": "gemma2",
    "vocab_size": 256000,
    "hidden_size": 3584,
    "intermediate_size": 14336,
    "num_hidden_layers": 42,
    "num_attention_heads": 16,
    "num_key_value_heads": 8,
    "head_dim": 256,
    "sliding_window": 4096,
}


def spec(**overrides) -> ModelSpec:
    return ModelSpec.from_hf_config({**LLAMA_31_8B, **overrides})


# ---- exact counts by arithmetic ---------------------------------------------------------------


def test_llama_31_8b_by_arithmetic():
    H, V, L, I = 4096, 128256, 32, 14336
    attention = H * 32 * 128 * 2 + H * 8 * 128 * 2
    expected = 2 * V * H + L * (attention + 3 * H * I + 2 * H) + H
    s = spec()
    assert s.param_count() == expected == 8_030_261_248
    assert s.active_param_count() == expected
    assert s.param_groups() == {
        "embedding": V * H,
        "lm_head": V * H,
        "attention": L * attention,
        "mlp": L * 3 * H * I,
        "router": 0,
        "norm": L * 2 * H + H,
        "bias": 0,
    }


def test_mixtral_total_and_active_by_arithmetic():
    H, V, L, I, E, k = 4096, 32000, 32, 14336, 8, 2
    layer = H * 4096 * 2 + H * 1024 * 2 + E * 3 * H * I + E * H + 2 * H
    s = ModelSpec.from_hf_config(MIXTRAL_8X7B)
    assert s.param_count() == 2 * V * H + L * layer + H == 46_702_792_704
    assert s.active_param_count() == s.param_count() - L * (E - k) * 3 * H * I
    assert (
        round(s.active_param_count() / 1e9, 1) == 12.9
    )  # Mistral's published "12.9B active"
    assert s.is_moe and s.moe_layers == 32 and s.sliding_window is None


def test_deepseek_v3_by_arithmetic():
    H, V, L, nh = 7168, 129280, 61, 128
    qr, kvr, nope, rope, vd = 1536, 512, 128, 64, 128
    attention = (
        H * qr
        + qr * nh * (nope + rope)
        + H * (kvr + rope)
        + kvr * nh * (nope + vd)
        + nh * vd * H
    )
    norms = 2 * H + qr + kvr
    dense = 3 * H * 18432
    moe = 256 * 3 * H * 2048 + 3 * H * 2048 + 256 * H
    s = ModelSpec.from_hf_config(DEEPSEEK_V3)
    assert (
        s.param_count()
        == 2 * V * H + L * (attention + norms) + 3 * dense + 58 * moe + H
    )
    assert s.active_param_count() == s.param_count() - 58 * (256 - 8) * 3 * H * 2048
    assert (
        s.uses_mla
        and s.moe_layers == 58
        and s.mlp_layer_types[:4] == ("dense",) * 3 + ("moe",)
    )
    assert (
        s.param_groups()["router"] == 58 * 256 * H
    )  # e_score_correction_bias is a buffer: not counted


def test_gemma2_9b_tied_four_norms_by_arithmetic():
    H, V, L = 3584, 256000, 42
    attention = H * 16 * 256 * 2 + H * 8 * 256 * 2
    s = ModelSpec.from_hf_config(GEMMA2_9B)
    assert (
        s.param_count()
        == V * H + L * (attention + 3 * H * 14336 + 4 * H) + H
        == 9_241_705_984
    )
    assert s.param_groups()["lm_head"] == 0
    assert s.layer_types[:3] == (
        "sliding_attention",
        "full_attention",
        "sliding_attention",
    )


def test_layouts_with_biases_and_plain_mlps():
    H, V, I = 64, 100, 96
    # gpt_neox: LayerNorm with bias (2 per layer + final), qkv/dense biases, plain MLP with biases
    neox = ModelSpec.from_hf_config(
        dict(
            model_type="gpt_neox",
            vocab_size=V,
            hidden_size=H,
            num_hidden_layers=1,
            num_attention_heads=4,
            intermediate_size=I,
        )
    )
    assert neox.param_groups() == {
        "embedding": V * H,
        "lm_head": V * H,
        "attention": 4 * H * H,
        "mlp": 2 * H * I,
        "router": 0,
        "norm": 2 * 2 * H + 2 * H,
        "bias": 3 * H + H + I + H,
    }
    # qwen2: q, k, v biases always; o none
    qwen2 = ModelSpec.from_hf_config(
        dict(
            model_type="qwen2",
            vocab_size=V,
            hidden_size=H,
            num_hidden_layers=1,
            num_attention_heads=4,
            num_key_value_heads=2,
            intermediate_size=I,
        )
    )
    assert qwen2.param_groups()["bias"] == H + 2 * 2 * 16
    # falcon-7b style: multi-query (one K/V head), parallel attention with one LayerNorm, no biases
    falcon = ModelSpec.from_hf_config(
        dict(
            model_type="falcon",
            vocab_size=V,
            hidden_size=H,
            num_hidden_layers=1,
            num_attention_heads=4,
        )
    )
    assert falcon.num_key_value_heads == 1 and falcon.intermediate_size == 4 * H
    assert falcon.param_groups() == {
        "embedding": V * H,
        "lm_head": 0,
        "attention": H * (H + 2 * 16) + H * H,
        "mlp": 2 * H * 4 * H,
        "router": 0,
        "norm": 2 * H + 2 * H,
        "bias": 0,
    }
    # qwen2_moe: shared expert and its H x 1 gate
    qmoe = ModelSpec.from_hf_config(
        dict(
            model_type="qwen2_moe",
            vocab_size=V,
            hidden_size=H,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=4,
            num_experts=4,
            num_experts_per_tok=2,
            moe_intermediate_size=8,
            shared_expert_intermediate_size=24,
            mlp_only_layers=[0],
            intermediate_size=I,
        )
    )
    assert qmoe.mlp_layer_types == ("dense", "moe")
    g = qmoe.param_groups()
    assert (
        g["mlp"] == 3 * H * I + 4 * 3 * H * 8 + 3 * H * 24 and g["router"] == 4 * H + H
    )


# ---- defaults as transformers fills them ------------------------------------------------------


def test_absent_keys_take_the_class_defaults():
    base = dict(hidden_size=4096, num_hidden_layers=2, num_attention_heads=32)
    llama = ModelSpec.from_hf_config(dict(model_type="llama", **base))
    assert (
        llama.num_key_value_heads,
        llama.head_dim,
        llama.vocab_size,
        llama.intermediate_size,
        llama.tie_word_embeddings,
    ) == (32, 128, 32000, 11008, False)
    mistral = ModelSpec.from_hf_config(dict(model_type="mistral", **base))
    assert mistral.num_key_value_heads == 8 and mistral.sliding_window == 4096
    assert (
        ModelSpec.from_hf_config(
            dict(model_type="mistral", sliding_window=None, **base)
        ).sliding_window
        is None
    )
    qwen3 = ModelSpec.from_hf_config(
        dict(model_type="qwen3", **{**base, "hidden_size": 1024})
    )
    assert qwen3.head_dim == 128 and qwen3.num_key_value_heads == 32  # not 1024 / 32
    gemma = ModelSpec.from_hf_config(
        dict(model_type="gemma", num_key_value_heads=1, **base)
    )
    assert (
        gemma.head_dim == 256
        and gemma.tie_word_embeddings
        and gemma.vocab_size == 256000
    )
    qwen25 = ModelSpec.from_hf_config(
        dict(
            model_type="qwen2",
            num_key_value_heads=4,
            sliding_window=131072,
            use_sliding_window=False,
            **base,
        )
    )
    assert qwen25.sliding_window is None and set(qwen25.layer_types) == {
        "full_attention"
    }


def test_gemma3_wrapper_reads_text_config_with_default_vocab():
    cfg = {
        "model_type": "gemma3",
        "text_config": {
            "hidden_size": 5376,
            "num_hidden_layers": 62,
            "num_attention_heads": 32,
            "num_key_value_heads": 16,
            "head_dim": 128,
            "intermediate_size": 21504,
            "sliding_window": 1024,
            "model_type": "gemma3_text",
        },
        "vision_config": {"hidden_size": 1152},
    }
    s = ModelSpec.from_hf_config(cfg)
    assert (
        s.model_type == "gemma3_text"
        and s.vocab_size == 262208
        and s.tie_word_embeddings
    )
    assert s.layer_types[:6] == ("sliding_attention",) * 5 + ("full_attention",)
    assert s.sliding_layers == 52  # 62 layers, every 6th global: 10 full


def test_from_path_and_folder(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(LLAMA_31_8B))
    from_folder = ModelSpec.from_hf_config(tmp_path, name="llama")
    from_file = ModelSpec.from_hf_config(str(tmp_path / "config.json"))
    assert from_folder.param_count() == from_file.param_count() == spec().param_count()
    assert from_folder.name == "llama" and from_file.source == str(
        tmp_path / "config.json"
    )
    assert dataclasses.replace(from_file, source=None) == spec()


# ---- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change,error,words",
    [
        ({"hidden_size": None}, ValueError, "hidden_size"),
        ({"num_hidden_layers": 0}, ValueError, "num_hidden_layers"),
        ({"vocab_size": -5}, ValueError, "vocab_size"),
        ({"num_key_value_heads": 5}, ValueError, "num_key_value_heads"),
        ({"num_attention_heads": True}, TypeError, "num_attention_heads"),
        ({"intermediate_size": "14336"}, TypeError, "intermediate_size"),
        ({"tie_word_embeddings": "no"}, TypeError, "tie_word_embeddings"),
        ({"hidden_size": 4100}, ValueError, "not divisible"),
        ({"model_type": "lama"}, ValueError, "'llama'"),
    ],
)
def test_bad_configs_name_the_key(change, error, words):
    with pytest.raises(error, match=words):
        ModelSpec.from_hf_config({**LLAMA_31_8B, **change})


def test_missing_keys_are_named():
    cfg = dict(LLAMA_31_8B)
    del cfg["num_attention_heads"]
    with pytest.raises(ValueError, match="'num_attention_heads' is required"):
        ModelSpec.from_hf_config(cfg)
    with pytest.raises(ValueError, match="model_type"):
        ModelSpec.from_hf_config({"hidden_size": 8})


def test_unsupported_type_lists_the_supported_ones():
    with pytest.raises(ValueError) as err:
        ModelSpec.from_hf_config({**LLAMA_31_8B, "model_type": "mamba"})
    assert all(t in str(err.value) for t in SUPPORTED_MODEL_TYPES)


def test_head_dim_given_needs_no_divisibility():
    s = spec(hidden_size=4100, head_dim=128)
    assert s.head_dim == 128


def test_layer_types_must_match_the_layers():
    with pytest.raises(ValueError, match="layer_types"):
        ModelSpec.from_hf_config({**GEMMA2_9B, "layer_types": ["full_attention"] * 3})
    with pytest.raises(ValueError, match="layer type"):
        ModelSpec.from_hf_config({**GEMMA2_9B, "layer_types": ["global"] * 42})


def test_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "config.json"
    bad.write_text('{\n  "model_type": "llama",\n  "hidden_size": 4096,,\n}')
    with pytest.raises(ValueError, match=r"config\.json.*line 3"):
        ModelSpec.from_hf_config(bad)
    with pytest.raises(FileNotFoundError, match="nowhere.json"):
        ModelSpec.from_hf_config(tmp_path / "nowhere.json")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="no config.json"):
        ModelSpec.from_hf_config(empty)
    with pytest.raises(TypeError, match="source"):
        ModelSpec.from_hf_config(42)
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(TypeError, match="list.json"):
        ModelSpec.from_hf_config(tmp_path / "list.json")


def test_spec_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec().hidden_size = 1


# ---- properties -------------------------------------------------------------------------------

llama_like = st.fixed_dictionaries(
    {
        "model_type": st.sampled_from(
            ["llama", "qwen3", "olmo2", "granite", "cohere", "gemma2", "starcoder2"]
        ),
        "vocab_size": st.integers(1, 10**6),
        "hidden_size": st.sampled_from([64, 512, 4096, 8192]),
        "num_hidden_layers": st.integers(1, 128),
        "num_attention_heads": st.sampled_from([8, 16, 64]),
        "num_key_value_heads": st.sampled_from([1, 2, 8]),
        "intermediate_size": st.integers(1, 50000),
        "tie_word_embeddings": st.booleans(),
    }
)


@given(llama_like)
def test_groups_are_exact_keys_and_sum_to_the_count(cfg):
    s = ModelSpec.from_hf_config(cfg)
    groups = s.param_groups()
    assert tuple(groups) == GROUPS and all(v >= 0 for v in groups.values())
    assert sum(groups.values()) == s.param_count() == s.active_param_count()


@given(llama_like)
def test_untying_adds_one_vocab_by_hidden_matrix(cfg):
    tied = ModelSpec.from_hf_config({**cfg, "tie_word_embeddings": True})
    untied = ModelSpec.from_hf_config({**cfg, "tie_word_embeddings": False})
    assert (
        untied.param_count() - tied.param_count()
        == cfg["vocab_size"] * cfg["hidden_size"]
    )


@given(llama_like)
def test_each_layer_adds_the_same_count(cfg):
    counts = [
        ModelSpec.from_hf_config({**cfg, "num_hidden_layers": n}).param_count()
        for n in (1, 2, 3)
    ]
    assert counts[2] - counts[1] == counts[1] - counts[0] > 0


@given(st.integers(1, 16), st.data())
def test_active_counts_only_the_routed_experts_used(experts, data):
    k = data.draw(st.integers(1, experts))
    s = ModelSpec.from_hf_config(
        {
            **MIXTRAL_8X7B,
            "num_local_experts": experts,
            "num_experts_per_tok": k,
            "num_hidden_layers": 2,
        }
    )
    per_expert = 3 * 4096 * 14336
    assert s.param_count() - s.active_param_count() == 2 * (experts - k) * per_expert


def test_describe_and_repr_are_short():
    s = ModelSpec.from_hf_config(MIXTRAL_8X7B, name="mixtral")
    assert "46,702,792,704" in s.describe() and "active" in s.describe()
    assert repr(s).startswith("ModelSpec('mixtral', mixtral") and len(repr(s)) < 120


# ---- the catalogue ----------------------------------------------------------------------------

FAKE = {
    "_about": "test",
    "models": [
        {
            "id": "meta-llama/Llama-3.1-8B",
            "aliases": ["llama3.1-8b"],
            "source": "hub",
            "published_params": "8.03B",
            "published_params_source": "model card",
            "note": "",
            "config": LLAMA_31_8B,
        },
        {
            "id": "mistralai/Mixtral-8x7B-v0.1",
            "aliases": ["mixtral-8x7b"],
            "source": "hub",
            "published_params": "46.7B",
            "published_params_source": "blog",
            "note": "",
            "config": MIXTRAL_8X7B,
        },
        {
            "id": "other-org/Mixtral-8x7B-v0.1",
            "aliases": [],
            "source": "x",
            "published_params": "47B",
            "published_params_source": "x",
            "note": "",
            "config": MIXTRAL_8X7B,
        },
    ],
}


@pytest.fixture
def fake_catalogue(monkeypatch):
    monkeypatch.setattr(
        _data, "load", lambda name: FAKE if name == "models.json" else pytest.fail(name)
    )


def test_lookup_by_id_name_or_alias(fake_catalogue):
    for name in (
        "mistralai/Mixtral-8x7B-v0.1",
        "MISTRALAI/mixtral-8x7b-v0.1",
        "mixtral_8x7b",
        "Mixtral 8x7B",
    ):
        assert get_model(name).name == "mistralai/Mixtral-8x7B-v0.1"
    assert (
        get_model("Llama-3.1-8B").name == "meta-llama/Llama-3.1-8B"
    )  # organisation optional
    assert get_model("meta-llama/llama-3.1-8b").source == "hub"
    assert get_model("llama3.1-8b").param_count() == 8_030_261_248
    assert model_names() == [e["id"] for e in FAKE["models"]]


def test_ambiguous_and_unknown_names(fake_catalogue):
    with pytest.raises(ValueError, match="ambiguous.*other-org/Mixtral-8x7B-v0.1"):
        get_model("Mixtral-8x7B-v0.1")  # the name without organisation fits two ids
    with pytest.raises(ValueError, match="Did you mean"):
        get_model("mixtral-8x7")
    with pytest.raises(TypeError, match="name"):
        get_model(7)


def test_catalogue_entry_is_a_copy(fake_catalogue):
    entry = catalogue_entry("mixtral-8x7b")
    assert (
        entry["published_params"] == "46.7B"
        and entry["config"]["num_local_experts"] == 8
    )
    entry["config"]["num_local_experts"] = 1
    assert get_model("mixtral-8x7b").num_experts == 8


def test_explicit_data_replaces_the_packaged_catalogue():
    assert get_model("mixtral-8x7b", data=FAKE).num_experts == 8
    assert model_names(FAKE)[0] == "meta-llama/Llama-3.1-8B"


def published_value(text: str) -> tuple[float, float]:
    """A published count such as "8.03B", "30B" or "1.6T": its value and how far a figure
    rounded to its last non-zero digit may be from the exact count (half that digit's unit)."""
    scale = {"B": 10**9, "M": 10**6, "T": 10**12}[text[-1]]
    digits = text[:-1]
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    whole = digits.split(".")[0]
    zeros = len(whole) - len(whole.rstrip("0")) if decimals == 0 else 0
    unit = Fraction(10) ** (zeros - decimals) * scale
    return Fraction(digits) * scale, unit / 2


def test_published_value_reads_the_rounding():
    assert published_value("8.03B") == (8_030_000_000, 5_000_000)
    assert published_value("30B") == (30 * 10**9, 5 * 10**9)
    assert published_value("1.6T") == (1_600 * 10**9, 50 * 10**9)


def test_packaged_catalogue_parses_and_is_near_its_published_counts():
    """Every entry reads; its exact count rounds to the published figure (within 2 %, or
    within the figure's own rounding: "30B" is a count rounded to tens of billions).
    An entry without a publisher's count says so in its note."""
    names = model_names()
    assert names and len(set(names)) == len(names)
    for name in names:
        s = get_model(name)
        entry = catalogue_entry(name)
        assert s.name == name and s.source
        if entry["published_params"] is None:
            assert "No publisher's parameter count was found" in entry["note"], name
            continue
        value, rounding = published_value(entry["published_params"])
        allowed = max(value / 50, rounding)
        assert abs(s.param_count() - value) <= allowed, (name, s.param_count(), entry)


def test_packaged_catalogue_exact_counts():
    assert get_model("llama-3.1-8b").param_count() == 8_030_261_248
    assert get_model("mixtral-8x7b").param_count() == 46_702_792_704
    assert get_model(models.model_names()[0]).param_count() > 0


def test_absurd_layer_counts_are_refused_before_any_per_layer_work():
    from vramlib.models import ModelSpec

    cfg = {
        "model_type": "llama",
        "hidden_size": 64,
        "num_attention_heads": 4,
        "num_hidden_layers": 10**12,
    }
    with pytest.raises(ValueError, match="num_hidden_layers"):
        ModelSpec.from_hf_config(cfg)
    with pytest.raises(ValueError, match="num_hidden_layers"):
        ModelSpec("llama", 100, 64, 10**12, 4, 4, 16, 128)


def test_the_family_index_lists_each_modules_readers():
    """vramlib.families.INDEX (what lets a reader be imported on first use) names
    exactly the model types each family module reads, and every one is supported."""
    import importlib

    from vramlib import families

    for module, types in families.INDEX.items():
        family = importlib.import_module(f"vramlib.families.{module}")
        assert tuple(family.READERS) == types
    listed = [t for types in families.INDEX.values() for t in types]
    assert len(listed) == len(set(listed))
    assert set(listed) <= set(SUPPORTED_MODEL_TYPES)
