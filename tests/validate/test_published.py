"""The published checkpoints of vramlib/data/checkpoints against transformers: each
config's parameters (and the persistent buffers its checkpoint saves) as
transformers builds the model on the meta device, so that the byte checks of
tests/test_published_checkpoints.py rest on exact counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import transformers

import vramlib
from vramlib.models import ModelSpec

from .hf import meta_model
from .test_against_transformers import full_meta_model
from .test_vision import count, persistent_buffers

DATA = json.loads(
    (
        Path(vramlib.__file__).parent / "data" / "checkpoints" / "published_sizes.json"
    ).read_text()
)["entries"]
# one entry per distinct architecture and shape (the GPTQ branches share a config)
UNIQUE = list(
    {
        json.dumps(
            {k: v for k, v in e["config"].items() if k != "quantization_config"},
            sort_keys=True,
        ): e
        for e in DATA
    }.values()
)


@pytest.mark.parametrize("entry", UNIQUE, ids=lambda e: e["id"])
def test_published_config_counts_are_transformers_own(entry):
    cfg = {k: v for k, v in entry["config"].items() if k != "quantization_config"}
    spec = ModelSpec.from_hf_config(cfg)
    architecture = cfg["architectures"][0]
    if spec.towers:
        if not hasattr(transformers, architecture):  # LightOnOCR: a Mistral3 model
            architecture = "Mistral3ForConditionalGeneration"
        model = full_meta_model(cfg, architecture)
    else:
        model = meta_model(cfg)
    assert spec.param_count() == count(model)
    assert sum(spec.buffers().values()) == persistent_buffers(model)
