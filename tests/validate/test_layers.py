"""The layer-wise model against transformers: linear layers by name (what LoRA targets), the
class defaults vramlib records, and the list of architectures it tells from typos."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import torch
from transformers.models.auto.configuration_auto import (
    CONFIG_MAPPING,
    CONFIG_MAPPING_NAMES,
)

from vramlib.models import ModelSpec, get_model

from .hf import NO_TOKENS, hf_config, meta_model
from .test_against_transformers import OLD_TYPES

DATA = Path(__file__).parents[2] / "vramlib" / "data"
CATALOGUE = json.loads((DATA / "models.json").read_text())


def transformers_linears(model) -> Counter:
    """(name, in, out, bias) -> count: nn.Linear modules by their last name, fused 3-D expert
    tensors by theirs (one per expert), routers' weight matrices as 'gate'."""
    found: Counter = Counter()
    for path, module in model.named_modules():
        leaf = path.rsplit(".", 1)[-1]
        if isinstance(module, torch.nn.Linear):
            found[
                leaf, module.in_features, module.out_features, module.bias is not None
            ] += 1
        elif leaf == "gate" and isinstance(
            getattr(module, "weight", None), torch.nn.Parameter
        ):
            out, inp = module.weight.shape
            found["gate", inp, out, getattr(module, "bias", None) is not None] += 1
        for name, p in module.named_parameters(recurse=False):
            if p.dim() == 3:
                experts, out, inp = p.shape
                found[name, inp, out, False] += experts
    return found


def vramlib_linears(spec: ModelSpec) -> Counter:
    found: Counter = Counter()
    for lin in spec.linear_modules():
        found[lin.name, lin.in_features, lin.out_features, lin.bias] += lin.count
    return found


# The catalogue's older types; each 2025-2026 family checks its linear layers in its own
# file (test_linear, test_hybrid, test_attention_families, test_moe_families, test_latent),
# and the vision towers in test_vision.
OLD_ENTRIES = [e for e in CATALOGUE["models"] if e["config"]["model_type"] in OLD_TYPES]


@pytest.mark.parametrize("entry", OLD_ENTRIES, ids=lambda e: e["id"])
def test_linear_modules_are_transformers_modules(entry):
    cfg = {k: v for k, v in entry["config"].items() if k != "quantization_config"}
    config = hf_config(cfg)
    model = meta_model(
        cfg, config.get_text_config()
    )  # the language model (no vision tower)
    assert vramlib_linears(get_model(entry["id"])) == transformers_linears(model)


def test_the_architecture_list_is_transformers_own():
    listed = json.loads((DATA / "hf_model_types.json").read_text())["model_types"]
    assert listed == sorted(CONFIG_MAPPING_NAMES)


@pytest.mark.parametrize("model_type", OLD_TYPES)
def test_defaults_recorded_are_the_class_defaults(model_type):
    """A config with only the required keys: every key vramlib says it defaulted is absent from
    the file, and the context limit is the configuration class's."""
    cfg = dict(
        model_type=model_type,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
    )
    if model_type not in ("gpt_neox", "falcon"):
        cfg.update(num_key_value_heads=4)
    spec = ModelSpec.from_hf_config(cfg)
    assert spec.defaulted_keys and not set(spec.defaulted_keys) & set(cfg)
    assert "max_position_embeddings" in spec.defaulted_keys
    assert (
        spec.max_position_embeddings
        == CONFIG_MAPPING[model_type]().max_position_embeddings
    )


def test_a_file_context_limit_is_read():
    cfg = dict(
        model_type="llama",
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=12345,
        **NO_TOKENS,
    )
    spec = ModelSpec.from_hf_config(cfg)
    assert spec.max_position_embeddings == 12345
    assert "max_position_embeddings" not in spec.defaulted_keys
