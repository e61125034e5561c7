"""Multimodal checkpoints against transformers 5.24: the full model (the class the
config's ``architectures`` names) built on the meta device has exactly the parameters
vramlib counts, tower and projector included; the towers' linear layers match its
nn.Linear modules; the image-token rules match the processors' own resize functions."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
import transformers
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers import AutoConfig

from vramlib.models import ModelSpec
from vramlib.multimodal import image_tokens

transformers.logging.set_verbosity_error()
ROOT = Path(__file__).parents[2]
STAGING = json.loads((ROOT / "data" / "staging" / "models-2026.json").read_text())
LLAMA4_VISION = json.loads(
    (ROOT / "tests" / "data" / "llama4_vision_config.json").read_text()
)
NO_TOKENS = dict(pad_token_id=None, bos_token_id=None, eos_token_id=None)


def hf_config(cfg: dict):
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "config.json").write_text(json.dumps(cfg))
        return AutoConfig.from_pretrained(folder)


def full_model(cfg: dict):
    """The model the config's ``architectures`` names, on the meta device."""
    with torch.device("meta"):
        return getattr(transformers, cfg["architectures"][0])(hf_config(cfg))


def count(model) -> int:
    return sum(p.numel() for p in model.parameters())


def persistent_buffers(model) -> int:
    """Elements of the buffers a checkpoint of ``model`` saves (persistent ones)."""
    return sum(
        b.numel()
        for _, module in model.named_modules()
        for name, b in module._buffers.items()
        if b is not None and name not in module._non_persistent_buffers_set
    )


# ---- generated tiny configs, one strategy per family ---------------------------------


def text(draw, **extra) -> dict:
    heads = draw(st.sampled_from([2, 4]))
    return dict(
        hidden_size=8 * heads * draw(st.integers(1, 2)),
        num_hidden_layers=draw(st.integers(1, 3)),
        num_attention_heads=heads,
        num_key_value_heads=draw(st.sampled_from([1, heads])),
        intermediate_size=draw(st.integers(4, 24)),
        vocab_size=draw(st.integers(16, 64)),
        **NO_TOKENS,
        **extra,
    )


def vit(draw, **extra) -> dict:
    heads = draw(st.sampled_from([1, 2]))
    return dict(
        hidden_size=8 * heads * draw(st.integers(1, 2)),
        num_hidden_layers=draw(st.integers(1, 3)),
        num_attention_heads=heads,
        intermediate_size=draw(st.integers(4, 20)),
        **extra,
    )


def tie(draw) -> dict:
    return draw(
        st.sampled_from(
            [{}, {"tie_word_embeddings": True}, {"tie_word_embeddings": False}]
        )
    )


@st.composite
def gemma3(draw):
    return dict(
        model_type="gemma3",
        architectures=["Gemma3ForConditionalGeneration"],
        text_config=text(draw, head_dim=8),
        mm_tokens_per_image=4,
        **tie(draw),
        vision_config=vit(
            draw, image_size=32, patch_size=8, vision_use_head=draw(st.booleans())
        ),
    )


@st.composite
def llava(draw):
    vision = draw(st.sampled_from(["clip_vision_model", "siglip_vision_model"]))
    return dict(
        model_type="llava",
        architectures=["LlavaForConditionalGeneration"],
        text_config=text(
            draw,
            model_type=draw(st.sampled_from(["llama", "qwen2", "mistral"])),
            **tie(draw),
        ),
        vision_config=vit(draw, model_type=vision, image_size=32, patch_size=8),
        vision_feature_layer=draw(st.sampled_from([-2, [-1, -2]])),
        multimodal_projector_bias=draw(st.booleans()),
    )


@st.composite
def mistral3(draw):
    v = vit(draw, model_type="pixtral", image_size=32, patch_size=8)
    v["head_dim"] = v["hidden_size"] // v["num_attention_heads"]
    return dict(
        model_type="mistral3",
        architectures=["Mistral3ForConditionalGeneration"],
        text_config=text(draw, model_type="mistral"),
        vision_config=v,
        **tie(draw),
        spatial_merge_size=draw(st.integers(1, 2)),
        multimodal_projector_bias=draw(st.booleans()),
    )


@st.composite
def idefics3(draw):
    kind = draw(st.sampled_from(["idefics3", "smolvlm"]))
    arch = "Idefics3" if kind == "idefics3" else "SmolVLM"
    return dict(
        model_type=kind,
        architectures=[f"{arch}ForConditionalGeneration"],
        text_config=text(draw, model_type="llama"),
        **tie(draw),
        vision_config=vit(draw, image_size=32, patch_size=8),
        scale_factor=draw(st.integers(1, 2)),
    )


def qwen_vision(draw, **extra) -> dict:
    heads = draw(st.sampled_from([1, 2]))
    return dict(
        hidden_size=8 * heads,
        depth=draw(st.integers(1, 3)),
        num_heads=heads,
        intermediate_size=draw(st.integers(4, 20)),
        out_hidden_size=draw(st.integers(8, 24)),
        spatial_merge_size=draw(st.integers(1, 2)),
        **extra,
    )


@st.composite
def qwen2_5_vl(draw):
    t = text(draw, **tie(draw))
    vision = qwen_vision(draw, fullatt_block_indexes=[0])
    cfg = dict(
        model_type="qwen2_5_vl",
        architectures=["Qwen2_5_VLForConditionalGeneration"],
        vision_config=vision,
    )
    if draw(st.booleans()):  # the Hub's flat layout: text keys at the top level
        return {**cfg, **t}
    return {**cfg, "text_config": t}


@st.composite
def qwen3_vl(draw, kinds=("qwen3_vl", "qwen3_vl_moe")):
    kind = draw(st.sampled_from(kinds))
    arch = {
        "qwen3_vl": "Qwen3VL",
        "qwen3_vl_moe": "Qwen3VLMoe",
        "qwen3_5": "Qwen3_5",
        "qwen3_5_moe": "Qwen3_5Moe",
    }[kind]
    t = text(draw, head_dim=8)
    if kind.endswith("moe"):
        t.update(
            num_experts=draw(st.integers(2, 4)),
            num_experts_per_tok=2,
            moe_intermediate_size=draw(st.integers(4, 12)),
        )
    if kind.startswith("qwen3_5"):
        t.update(
            linear_num_key_heads=2,
            linear_num_value_heads=2,
            linear_key_head_dim=8,
            linear_value_head_dim=8,
        )
    depth = draw(st.integers(1, 3))
    vision = qwen_vision(
        draw,
        num_position_embeddings=draw(st.integers(4, 16)),
        deepstack_visual_indexes=list(range(draw(st.integers(0, depth)))),
    )
    vision["depth"] = depth
    return dict(
        model_type=kind,
        architectures=[f"{arch}ForConditionalGeneration"],
        text_config=t,
        vision_config=vision,
        **tie(draw),
    )


@st.composite
def llama4(draw):
    t = text(
        draw,
        head_dim=8,
        intermediate_size_mlp=draw(st.integers(4, 16)),
        num_local_experts=draw(st.integers(1, 3)),
        **tie(draw),
    )
    v = vit(
        draw,
        image_size=32,
        patch_size=8,
        vision_output_dim=draw(st.integers(4, 20)),
        projector_input_dim=12,
        projector_output_dim=12,
    )
    return dict(
        model_type="llama4",
        architectures=["Llama4ForConditionalGeneration"],
        text_config=t,
        vision_config=v,
    )


@st.composite
def gemma4(draw):
    t = text(
        draw, head_dim=8, hidden_size_per_layer_input=4, vocab_size_per_layer_input=64
    )
    heads = draw(st.sampled_from([1, 2]))
    vision = dict(
        hidden_size=16,
        num_hidden_layers=draw(st.integers(1, 2)),
        num_attention_heads=heads,
        num_key_value_heads=draw(st.sampled_from([1, heads])),
        head_dim=8,
        intermediate_size=draw(st.integers(4, 16)),
        position_embedding_size=draw(st.integers(4, 12)),
        standardize=draw(st.booleans()),
        use_clipped_linears=draw(st.booleans()),
    )
    audio = draw(
        st.sampled_from(
            [
                None,
                dict(
                    hidden_size=16,
                    num_hidden_layers=draw(st.integers(1, 2)),
                    num_attention_heads=2,
                    subsampling_conv_channels=[
                        draw(st.sampled_from([4, 8])),
                        draw(st.integers(2, 6)),
                    ],
                    conv_kernel_size=draw(st.integers(3, 5)),
                    output_proj_dims=draw(st.integers(4, 12)),
                    use_clipped_linears=draw(st.booleans()),
                ),
            ]
        )
    )
    return dict(
        model_type="gemma4",
        architectures=["Gemma4ForConditionalGeneration"],
        text_config=t,
        vision_config=vision,
        audio_config=audio,
        **tie(draw),
    )


def qwen3_5():
    """Qwen3.5's wrappers: their language models are read by vramlib.families.linear."""
    return qwen3_vl(kinds=("qwen3_5", "qwen3_5_moe"))


FAMILIES = dict(
    gemma3=gemma3,
    llava=llava,
    mistral3=mistral3,
    idefics3=idefics3,
    qwen2_5_vl=qwen2_5_vl,
    qwen3_vl=qwen3_vl,
    qwen3_5=qwen3_5,
    llama4=llama4,
    gemma4=gemma4,
)


@pytest.mark.parametrize("family", FAMILIES)
@settings(max_examples=4, deadline=None)
@given(data=st.data())
def test_full_multimodal_model_is_counted_exactly(family, data):
    cfg = data.draw(FAMILIES[family]())
    model = full_model(cfg)
    spec = ModelSpec.from_hf_config(cfg)
    assert spec.param_count() == count(model)
    # buffers saved with the weights (Gemma 4's layer scalars, clipping bounds, statistics)
    assert sum(spec.buffers().values()) == persistent_buffers(model)
    assert spec.towers and sum(t.params for t in spec.towers) == (
        spec.param_groups().get("vision", 0) + spec.param_groups().get("audio", 0)
    )
    # every tower linear is an nn.Linear of the built model, by name and shape
    built = {}
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and any(
            part in name
            for part in (
                "vision",
                "visual",
                "audio",
                "projector",
                "connector",
                "embed_vision",
                "embed_audio",
            )
        ):
            parts = name.split(".")
            leaf = (
                parts[-2] if parts[-1] == "linear" else parts[-1]
            )  # clippable linears
            key = (
                leaf,
                module.in_features,
                module.out_features,
                module.bias is not None,
            )
            built[key] = built.get(key, 0) + 1
    ours = {}
    for t in spec.towers:
        for lin in t.linears:
            key = (lin.name.split(".")[-1], lin.in_features, lin.out_features, lin.bias)
            ours[key] = ours.get(key, 0) + lin.count
    if family == "qwen2_5_vl":  # the merger's Sequential names its layers 0 and 2
        built = {
            (("mlp." + k[0]) if k[0] in "02" else k[0],) + k[1:]: v
            for k, v in built.items()
        }
        ours = {
            (("mlp." + k[0]) if k[0] in "02" else k[0],) + k[1:]: v
            for k, v in ours.items()
        }
    assert ours == built


# ---- published configs ---------------------------------------------------------------

PUBLISHED = [
    m
    for m in STAGING["models"]
    if m["config"].get("model_type") in ("qwen3_5", "qwen3_5_moe", "gemma4")
]


@pytest.mark.parametrize("entry", PUBLISHED, ids=lambda e: e["id"])
def test_published_multimodal_configs_equal_transformers(entry):
    cfg = {k: v for k, v in entry["config"].items() if k != "quantization_config"}
    spec = ModelSpec.from_hf_config(cfg)
    assert spec.param_count() == count(full_model(cfg))
    assert 0.4e9 < spec.param_groups()["vision"] < 0.6e9  # SigLIP-sized encoders


@pytest.mark.parametrize("entry", LLAMA4_VISION["models"], ids=lambda e: e["id"])
def test_llama4_with_its_vision_config_equals_transformers(entry):
    staged = next(m for m in STAGING["models"] if m["id"] == entry["id"])
    with pytest.raises(ValueError, match="vision_config"):  # the abridged copy
        ModelSpec.from_hf_config(staged["config"])
    cfg = {**staged["config"], "vision_config": entry["vision_config"]}
    spec = ModelSpec.from_hf_config(cfg)
    assert spec.param_count() == count(full_model(cfg))


# ---- tokens per image against the processors' own functions --------------------------

SIZES = st.tuples(st.integers(16, 5000), st.integers(16, 5000)).filter(
    lambda s: max(s) / min(s) < 150
)


@settings(max_examples=25, deadline=None)
@given(size=SIZES, factor=st.sampled_from([14, 16]), merge=st.sampled_from([1, 2]))
def test_qwen_image_tokens_follow_smart_resize(size, factor, merge):
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize

    w, h = size
    cfg = dict(
        model_type="qwen2_5_vl",
        architectures=["Qwen2_5_VLForConditionalGeneration"],
        text_config=dict(
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=2,
        ),
        vision_config=dict(
            hidden_size=8,
            depth=1,
            num_heads=1,
            patch_size=factor,
            spatial_merge_size=merge,
            out_hidden_size=16,
        ),
    )
    spec = ModelSpec.from_hf_config(cfg)
    f = factor * merge
    hb, wb = smart_resize(h, w, factor=f, min_pixels=56 * 56, max_pixels=28 * 28 * 1280)
    assert image_tokens(spec, w, h) == (hb // f) * (wb // f) + 2


@settings(max_examples=25, deadline=None)
@given(size=SIZES, edge=st.sampled_from([1024, 1540]))
def test_pixtral_image_tokens_follow_its_resize(size, edge):
    from transformers.models.pixtral.image_processing_pil_pixtral import (
        get_resize_output_image_size,
    )

    w, h = size
    cfg = dict(
        model_type="mistral3",
        architectures=["Mistral3ForConditionalGeneration"],
        text_config=dict(
            model_type="mistral",
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=2,
        ),
        vision_config=dict(
            model_type="pixtral",
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            patch_size=14,
            image_size=edge,
        ),
    )
    spec = ModelSpec.from_hf_config(cfg)
    cell = 28
    rh, rw = get_resize_output_image_size(
        np.zeros((h, w, 3)), size=(edge, edge), patch_size=(cell, cell)
    )
    assert image_tokens(spec, w, h) == (rh // cell) * (rw // cell + 1)


def llama4_functions() -> dict:
    """transformers' own tiling functions for Llama 4, run from its source: the module
    imports torchvision (not installed here) for image transforms these do not use."""
    import ast
    import collections
    from transformers.image_utils import SizeDict

    path = (
        Path(transformers.__file__).parent / "models/llama4/image_processing_llama4.py"
    )
    tree = ast.parse(path.read_text())
    keep = [
        n
        for n in tree.body
        if isinstance(n, ast.FunctionDef)
        and n.name in ("get_factors", "find_supported_resolutions", "get_best_fit")
    ]
    space = dict(
        torch=torch,
        math=__import__("math"),
        SizeDict=SizeDict,
        defaultdict=collections.defaultdict,
        lru_cache=__import__("functools").lru_cache,
    )
    exec(compile(ast.Module(keep, []), str(path), "exec"), space)
    return space


@settings(max_examples=25, deadline=None)
@given(size=SIZES, tiles=st.sampled_from([1, 4, 16]))
def test_llama4_image_tokens_follow_its_best_fit_canvas(size, tiles):
    from transformers.image_utils import SizeDict

    fns = llama4_functions()
    w, h = size
    res = fns["find_supported_resolutions"](tiles, SizeDict(height=336, width=336))
    canvas = fns["get_best_fit"]((h, w), torch.tensor(res))
    rows, cols = int(canvas[0]) // 336, int(canvas[1]) // 336
    per = 144
    want = (
        1
        + per
        + 2
        + (rows * cols * per + rows * (cols - 1) + rows if rows * cols > 1 else 0)
    )
    cfg = dict(
        model_type="llama4",
        architectures=["Llama4ForConditionalGeneration"],
        text_config=dict(
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=2,
            head_dim=8,
        ),
        vision_config=LLAMA4_VISION["models"][0]["vision_config"],
    )
    assert image_tokens(ModelSpec.from_hf_config(cfg), w, h, max_patches=tiles) == want


@settings(max_examples=25, deadline=None)
@given(size=SIZES)
def test_idefics3_image_tokens_follow_its_tiles(size):
    from transformers.models.idefics3.image_processing_pil_idefics3 import (
        Idefics3ImageProcessorPil,
    )

    w, h = size
    _, rows, cols = Idefics3ImageProcessorPil().get_number_of_image_patches(h, w, {})
    cfg = dict(
        model_type="idefics3",
        architectures=["Idefics3ForConditionalGeneration"],
        text_config=dict(
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=2,
        ),
        vision_config=dict(
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=364,
            patch_size=14,
        ),
        scale_factor=2,
    )
    seq = 169  # the processor's default image_seq_len for these sizes
    assert image_tokens(ModelSpec.from_hf_config(cfg), w, h) == (
        seq + 3 + rows * ((seq + 2) * cols + 1)
    )


@settings(max_examples=25, deadline=None)
@given(size=SIZES, soft=st.sampled_from([70, 280, 1120]))
def test_gemma4_image_tokens_follow_its_resize(size, soft):
    from transformers.models.gemma4.processing_gemma4 import (
        get_aspect_ratio_preserving_size,
    )

    w, h = size
    entry = next(m for m in STAGING["models"] if m["id"] == "google/gemma-4-26B-A4B")
    spec = ModelSpec.from_hf_config(entry["config"])
    th, tw = get_aspect_ratio_preserving_size(
        height=h, width=w, patch_size=16, max_patches=soft * 9, pooling_kernel_size=3
    )
    assert (
        image_tokens(spec, w, h, max_soft_tokens=soft)
        == (th // 16) * (tw // 16) // 9 + 2
    )
