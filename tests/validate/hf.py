"""Shared reference helpers for the validation tests: transformers' own configs, models built on
the meta device (parameter counts without memory), and every tensor a cache holds after a real CPU
forward pass. Test-only; imports torch and transformers."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM

transformers.logging.set_verbosity_error()
NO_TOKENS = dict(
    pad_token_id=None, bos_token_id=None, eos_token_id=None
)  # ids inside tiny vocabs


def hf_config(cfg: dict):
    """transformers' config for a dict, loaded as a config.json file is (the text config of a
    multimodal wrapper: what AutoModelForCausalLM builds)."""
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "config.json").write_text(json.dumps(cfg))
        return AutoConfig.from_pretrained(folder)


def meta_model(cfg: dict, config=None):
    """The model AutoModelForCausalLM builds for ``cfg``, on the meta device (no memory)."""
    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(
            config if config is not None else hf_config(cfg)
        )


def meta_param_count(cfg: dict, config=None) -> int:
    """transformers' parameter count: every parameter once (tied weights once)."""
    return sum(p.numel() for p in meta_model(cfg, config).parameters())


def run_cache(
    cfg: dict,
    tokens: int,
    batch: int,
    dtype=torch.float32,
    decode: int = 0,
    config=None,
):
    """A tiny random model's cache after a forward pass over ``tokens`` tokens of ``batch``
    sequences, then ``decode`` one-token steps. Returns (model, cache)."""
    torch.manual_seed(0)
    config = config if config is not None else hf_config(cfg)
    model = AutoModelForCausalLM.from_config(config).to(dtype).eval()
    vocab = config.get_text_config().vocab_size
    ids = torch.randint(0, vocab, (batch, tokens))
    with torch.no_grad():
        out = model(input_ids=ids, use_cache=True)
        cache = out.past_key_values
        for _ in range(decode):
            nxt = torch.randint(0, vocab, (batch, 1))
            cache = model(
                input_ids=nxt, past_key_values=cache, use_cache=True
            ).past_key_values
    return model, cache


def cache_tensors(cache) -> list[torch.Tensor]:
    """Every distinct non-empty tensor reachable from a transformers cache object (its layers'
    keys, values, latents, indexer keys, conv and recurrent states), each storage once."""
    seen_objects: set[int] = set()
    storages: set[tuple[int, int]] = set()
    found: list[torch.Tensor] = []

    def walk(obj, depth: int) -> None:
        if depth > 8 or id(obj) in seen_objects:
            return
        seen_objects.add(id(obj))
        if isinstance(obj, torch.Tensor):
            key = (obj.untyped_storage().data_ptr(), obj.untyped_storage().nbytes())
            if obj.numel() and key not in storages:
                storages.add(key)
                found.append(obj)
        elif isinstance(obj, (list, tuple, set)):
            for item in obj:
                walk(item, depth + 1)
        elif isinstance(obj, dict):
            for item in obj.values():
                walk(item, depth + 1)
        elif type(obj).__module__.startswith("transformers") and hasattr(
            obj, "__dict__"
        ):
            for item in vars(obj).values():
                walk(item, depth + 1)

    walk(cache, 0)
    return found


def cache_bytes(cache) -> int:
    """Bytes of every tensor the cache holds (see :func:`cache_tensors`)."""
    return sum(t.untyped_storage().nbytes() for t in cache_tensors(cache))
