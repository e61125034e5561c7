"""Multimodal checkpoints by hand: tower counts from their formulas, tokens per image,
the vision group in estimates and formats, and refusals."""

from __future__ import annotations

import copy

import pytest

import vramlib
from vramlib.formats import format_names, get_format
from vramlib.models import GROUPS, ModelSpec, get_model
from vramlib.multimodal import image_tokens

GEMMA3 = vramlib.catalogue_entry("google/gemma-3-27b-pt")["config"]


def llava(**extra) -> dict:
    return dict(
        model_type="llava",
        text_config=dict(
            model_type="llama",
            hidden_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=4,
            intermediate_size=96,
            vocab_size=100,
        ),
        vision_config=dict(
            model_type="clip_vision_model",
            hidden_size=32,
            intermediate_size=48,
            num_hidden_layers=3,
            num_attention_heads=2,
            image_size=336,
            patch_size=14,
        ),
        **extra,
    )


def test_gemma3_siglip_tower_by_hand():
    spec = get_model("google/gemma-3-27b-pt")
    (tower,) = spec.towers
    h, i, layers, n = 1152, 4304, 27, (896 // 14) ** 2
    embeddings = 3 * 14 * 14 * h + h + n * h
    layer = 4 * (h * h + h) + 2 * h * i + i + h + 2 * (2 * h)
    assert tower.encoder_params == embeddings + layers * layer + 2 * h == 416_866_032
    assert tower.projector_params == h * 5376 + h == 6_194_304
    groups = spec.param_groups()
    assert groups["vision"] == 423_060_336 and spec.param_count() == sum(
        groups.values()
    )
    assert tuple(groups)[: len(GROUPS)] == GROUPS
    assert "vision tower siglip_vision_model" in spec.describe()


def test_a_language_model_alone_keeps_its_seven_groups():
    assert tuple(get_model("meta-llama/Llama-3.1-8B").param_groups()) == GROUPS


def test_llava_clip_and_projector_by_hand():
    spec = ModelSpec.from_hf_config(llava())
    (tower,) = spec.towers
    h, i, n = 32, 48, (336 // 14) ** 2
    clip = (
        h
        + 3 * 14 * 14 * h
        + (n + 1) * h
        + 4 * h
        + 3 * (4 * (h * h + h) + 2 * h * i + i + h + 4 * h)
    )
    assert tower.encoder_params == clip
    assert tower.projector_params == (h * 64 + 64) + (64 * 64 + 64)
    no_bias = ModelSpec.from_hf_config(
        llava(multimodal_projector_bias=False, vision_feature_layer=[-1, -2])
    )
    assert no_bias.towers[0].projector_params == 2 * h * 64 + 64 * 64
    lm = spec.param_count() - tower.params
    assert lm == ModelSpec.from_hf_config(llava()["text_config"]).param_count()


def test_tower_linears_are_listed_with_the_language_models():
    spec = ModelSpec.from_hf_config(llava())
    kinds = {(x.name, x.kind, x.count) for x in spec.linear_modules()}
    assert {
        ("q_proj", "vision", 3),
        ("fc1", "vision", 3),
        ("linear_1", "projector", 1),
        ("q_proj", "attention", 2),
    } <= kinds


def test_tokens_per_image():
    gemma3 = get_model("google/gemma-3-27b-pt")
    assert image_tokens(gemma3, 1920, 1080) == image_tokens(gemma3, 64, 64) == 256 + 2
    assert image_tokens(ModelSpec.from_hf_config(llava()), 800, 600) == 24 * 24
    qwen = ModelSpec.from_hf_config(
        dict(
            model_type="qwen2_5_vl",
            text_config=dict(
                hidden_size=32,
                num_hidden_layers=1,
                num_attention_heads=2,
                num_key_value_heads=2,
            ),
            vision_config=dict(
                hidden_size=16, depth=1, num_heads=2, out_hidden_size=32
            ),
        )
    )
    # 1280x720 rounds to 46 x 26 cells of 28 pixels (937,664 pixels, under 1,003,520)
    assert image_tokens(qwen, 1280, 720) == 46 * 26 + 2
    # a larger budget, as a checkpoint's preprocessor_config.json may set
    assert image_tokens(qwen, 2800, 2800, max_pixels=2800 * 2800) == 100 * 100 + 2


def test_llama4_tiles():
    cfg = dict(
        model_type="llama4",
        text_config=dict(
            hidden_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=2,
            head_dim=16,
        ),
        vision_config=dict(
            hidden_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=16,
            image_size=336,
            patch_size=14,
        ),
    )
    spec = ModelSpec.from_hf_config(cfg)
    per = (336 // 14) ** 2 // 4
    assert per == 144
    assert image_tokens(spec, 336, 336) == per + 3  # one tile: start, <|image|>, end
    # two tiles side by side and the global view: 3 x 144, one x-separator, one row end
    assert image_tokens(spec, 672, 336) == 3 * per + 3 + 2


def test_estimate_adds_image_tokens_to_the_context():
    e = vramlib.estimate("google/gemma-3-27b-pt", context=4096, images=4)
    plain = vramlib.estimate("google/gemma-3-27b-pt", context=4096 + 4 * 258)
    assert e.image_tokens == 4 * 258 and e.context == 4096 + 4 * 258
    assert e.kv_cache_bytes == plain.kv_cache_bytes
    with pytest.raises(ValueError, match="has no vision tower"):
        vramlib.estimate("meta-llama/Llama-3.1-8B", images=1)


def test_quantized_formats_keep_towers_at_16_bits():
    for name in format_names():
        fmt = get_format(name)
        bits = fmt.bits_by_group
        if len({bits[g] for g in GROUPS}) == 1:  # uniform: every parameter alike
            assert bits["vision"] == bits["attention"], name
        else:
            assert bits["vision"] == bits["audio"] == 16, name
    spec = get_model("google/gemma-3-27b-pt")
    weights = get_format("gptq-4bit-128g").weights_bytes(spec.param_groups())
    text_only = {g: n for g, n in spec.param_groups().items() if g != "vision"}
    assert (
        weights - get_format("gptq-4bit-128g").weights_bytes(text_only)
        == 423_060_336 * 2
    )


# ---- refusals ------------------------------------------------------------------------


def test_missing_vision_config_is_refused():
    cfg = copy.deepcopy(GEMMA3)
    del cfg["vision_config"]
    with pytest.raises(
        ValueError, match="'vision_config' is required for a gemma3 model"
    ):
        ModelSpec.from_hf_config(cfg)


def test_unknown_encoder_is_refused_not_dropped():
    cfg = copy.deepcopy(GEMMA3)
    cfg["vision_config"]["model_type"] = "internvit"
    with pytest.raises(ValueError, match="'vision_config.model_type' is 'internvit'"):
        ModelSpec.from_hf_config(cfg)
    q = dict(
        model_type="qwen3_vl",
        text_config=dict(
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=2,
        ),
        vision_config=dict(model_type="siglip_vision_model"),
    )
    with pytest.raises(ValueError, match="does not read inside a qwen3_vl model"):
        ModelSpec.from_hf_config(q)


def test_unknown_language_model_inside_a_wrapper_is_refused():
    cfg = llava()
    cfg["text_config"]["model_type"] = "vicuna"
    with pytest.raises(
        ValueError, match="llava text_config: unknown model_type 'vicuna'"
    ):
        ModelSpec.from_hf_config(cfg)


def test_an_encoder_key_that_is_not_a_number_names_the_key():
    cfg = copy.deepcopy(GEMMA3)
    cfg["vision_config"]["num_hidden_layers"] = "27"
    with pytest.raises(
        (TypeError, ValueError), match="vision_config.num_hidden_layers"
    ):
        ModelSpec.from_hf_config(cfg)
    cfg = copy.deepcopy(GEMMA3)
    cfg["vision_config"]["hidden_act"] = "prelu"  # learned parameters, not counted
    with pytest.raises(ValueError, match="vision_config.hidden_act"):
        ModelSpec.from_hf_config(cfg)


def test_gemma4_audio_null_builds_no_tower_but_absent_text_is_refused():
    cfg = dict(
        model_type="gemma4", text_config=None, vision_config=None, audio_config=None
    )
    with pytest.raises(ValueError, match="'text_config' is required"):
        ModelSpec.from_hf_config(cfg)


def test_image_size_and_processor_settings_are_checked():
    qwen = dict(
        model_type="qwen3_vl",
        text_config=dict(
            hidden_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=2,
        ),
        vision_config=dict(hidden_size=16, depth=1, num_heads=2, out_hidden_size=32),
    )
    spec = ModelSpec.from_hf_config(qwen)
    with pytest.raises(ValueError, match=r"image_size=\(width, height\) is required"):
        vramlib.estimate(spec, images=1)
    assert vramlib.estimate(spec, images=2, image_size=(640, 480)).image_tokens == 2 * (
        image_tokens(spec, 640, 480)
    )
    with pytest.raises(ValueError, match="max_pixel"):
        image_tokens(spec, 640, 480, max_pixel=10)
    with pytest.raises(ValueError, match="width"):
        image_tokens(spec, 0, 480)
