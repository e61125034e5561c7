"""Every linear layer by its full name, as transformers builds the model.

Quantization configs name the modules they leave out by full path
(``model.language_model.layers.34.linear_attn.in_proj_b``, ``re:.*mlp.gate$``), so
:func:`vramlib.checkpoint.quant.module_names` must produce the paths of transformers'
modules exactly, not just their last names: for every family's generated configs and
for every catalogue entry (multimodal wrappers built whole).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vramlib.checkpoint.quant import module_names
from vramlib.models import ModelSpec

from . import test_against_transformers as old
from . import test_attention_families as attention
from . import test_hybrid as hybrid
from . import test_latent as latent
from . import test_linear as linear
from . import test_moe_families as moe
from .hf import meta_model

CATALOGUE = json.loads(
    (Path(__file__).parents[2] / "vramlib" / "data" / "models.json").read_text()
)["models"]
TOWER_PARTS = re.compile(
    r"vision|visual|audio|projector|embed_vision|embed_audio|multi_modal|mm_"
)


def transformers_names(model) -> set[str]:
    """Full names of nn.Linear modules, of fused 3-D expert tensors (module path plus
    the parameter's name) and of routers that hold a bare weight matrix; experts
    stored one module each are named by expert 0."""
    out: set[str] = set()
    for path, module in model.named_modules():
        if TOWER_PARTS.search(path):
            continue
        if isinstance(module, torch.nn.Linear):
            if module.in_features and module.out_features:  # not an empty stand-in
                out.add(path)
            continue
        if isinstance(module, (torch.nn.Conv1d, torch.nn.Embedding)):
            continue
        if "Norm" in type(module).__name__:  # per-head norm weights are 2-D
            continue
        for name, p in module.named_parameters(recurse=False):
            if p.dim() == 3:
                out.add(f"{path}.{name}")
            elif p.dim() == 2 and name == "weight":
                out.add(path)  # a router's weight matrix without nn.Linear
    return {re.sub(r"experts\.\d+\.", "experts.0.", n) for n in out}


def vramlib_names(spec: ModelSpec) -> set[str]:
    return {name for name, _ in module_names(spec, fused_experts=True)}


def strategy(model_type: str):
    if model_type in hybrid.TYPES:
        return hybrid.configs(model_type)
    if model_type in linear.TYPES:
        return linear.configs(model_type)
    if model_type in attention.TYPES:
        return attention.configs(model_type)
    if model_type in moe.TYPES:
        return moe.configs(model_type)
    if model_type == "deepseek_v4":
        return latent.v4_configs()
    if model_type in ("deepseek_v32", "glm_moe_dsa"):
        return latent.dsa_configs(model_type)
    return old.configs(model_type)


TYPES = (
    old.OLD_TYPES
    + hybrid.TYPES
    + linear.TYPES
    + attention.TYPES
    + moe.TYPES
    + ("deepseek_v32", "glm_moe_dsa", "deepseek_v4")
)


@pytest.mark.parametrize("model_type", TYPES)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_full_names_are_transformers_own(model_type, data):
    cfg = data.draw(strategy(model_type), label="config")
    spec = ModelSpec.from_hf_config(cfg)
    assert vramlib_names(spec) == transformers_names(meta_model(cfg))


def _one_per_type():
    seen: dict[str, dict] = {}
    for e in CATALOGUE:
        seen.setdefault(e["config"]["model_type"], e)
    return list(seen.values())


@pytest.mark.parametrize("entry", _one_per_type(), ids=lambda e: e["id"])
def test_catalogue_full_names_are_transformers_own(entry):
    cfg = {k: v for k, v in entry["config"].items() if k != "quantization_config"}
    spec = ModelSpec.from_hf_config(cfg)
    if spec.towers:
        model = old.full_meta_model(cfg, cfg["architectures"][0])
    else:
        model = meta_model(cfg)
    assert vramlib_names(spec) == transformers_names(model)
