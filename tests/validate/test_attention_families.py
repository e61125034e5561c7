"""gpt_oss, llama4_text, gemma4_text, cohere2 and exaone4 against transformers 5.24.

Parameter counts: generated configs (keys often left out, so class defaults apply)
against the model transformers builds on the meta device, in total, by group and in
routed experts. Caches: tiny random models run on CPU, every tensor their DynamicCache
holds summed by storage.

What the cache holds, written out below: a full-attention layer T tokens; a sliding or
chunked layer's tensors show min(T, W - 1) tokens, but they are views into the step's
concatenation, so after a decoding step the memory they hold is min(T, W) tokens
(vramlib's figure), and right after a prefill it is the whole prompt, T tokens, until
the next step. Each sliding or chunked layer also keeps its window size as an int64
scalar tensor (8 bytes), which ``cache_bytes`` finds; a Gemma 4 layer that reuses
another layer's keys and values holds nothing.
"""

from __future__ import annotations

import re

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vramlib.kv import cache_breakdown, cache_bytes_per_layer, kv_cache_bytes
from vramlib.models import GROUPS, ModelSpec

from .hf import NO_TOKENS, cache_bytes, hf_config, meta_model, run_cache

TYPES = ("gpt_oss", "llama4_text", "gemma4_text", "cohere2", "exaone4")
FULL, SLIDING, CHUNKED = "full_attention", "sliding_attention", "chunked_attention"
WINDOW_SCALAR = 8  # DynamicSlidingWindowLayer._sliding_window_tensor: one int64


def maybe(draw, cfg: dict, key: str, strategy) -> None:
    """Set cfg[key] from strategy, or leave the key out so the class default applies."""
    if draw(st.booleans()):
        cfg[key] = draw(strategy)


def kinds_of(draw, n: int, options: list[str]) -> list[str]:
    return draw(st.lists(st.sampled_from(options), min_size=n, max_size=n))


def experts(draw, cfg: dict, experts_key: str, top_k_key: str) -> None:
    if draw(st.booleans()):  # else both class defaults (128 and 4, 16 and 1)
        e = draw(st.integers(1, 4))
        cfg[experts_key] = e
        cfg[top_k_key] = draw(st.integers(1, e))


def gemma4_kinds(draw, cfg: dict, n: int) -> list[str]:
    """The layer kinds Gemma4TextConfig ends with: the file's or five sliding then one
    full; the last layer forced to full."""
    if draw(st.booleans()):
        cfg["layer_types"] = kinds_of(draw, n, [FULL, SLIDING])
        kinds = list(cfg["layer_types"])
    else:
        kinds = [SLIDING if (i + 1) % 6 else FULL for i in range(n)]
    kinds[-1] = FULL
    return kinds


@st.composite
def configs(draw, model_type: str) -> dict:
    heads = draw(st.sampled_from([1, 2, 4]))
    kv = draw(st.sampled_from([d for d in (1, 2, 4) if heads % d == 0]))
    head_dim = draw(st.sampled_from([4, 8]))
    n = draw(st.integers(1, 5))
    cfg = dict(
        model_type=model_type,
        hidden_size=heads * head_dim,
        num_hidden_layers=n,
        num_attention_heads=heads,
        num_key_value_heads=kv,
        **NO_TOKENS,
    )
    maybe(draw, cfg, "vocab_size", st.integers(16, 200))
    maybe(draw, cfg, "intermediate_size", st.integers(1, 40))
    maybe(draw, cfg, "tie_word_embeddings", st.booleans())
    maybe(draw, cfg, "head_dim", st.sampled_from([4, 8, 12]))
    if model_type != "exaone4":
        maybe(draw, cfg, "attention_bias", st.booleans())
    if model_type == "gpt_oss":
        maybe(draw, cfg, "sliding_window", st.one_of(st.none(), st.integers(2, 64)))
        maybe(draw, cfg, "layer_types", st.just(kinds_of(draw, n, [FULL, SLIDING])))
        experts(
            draw,
            cfg,
            draw(st.sampled_from(["num_local_experts", "num_experts"])),
            "num_experts_per_tok",
        )
    if model_type == "llama4_text":
        chunk = draw(st.one_of(st.none(), st.integers(2, 64)))
        maybe(draw, cfg, "attention_chunk_size", st.just(chunk))
        maybe(draw, cfg, "intermediate_size_mlp", st.integers(1, 40))
        maybe(draw, cfg, "no_rope_layer_interval", st.integers(1, 4))
        maybe(
            draw,
            cfg,
            "no_rope_layers",
            st.one_of(
                st.just([]), st.lists(st.sampled_from([0, 1]), min_size=n, max_size=n)
            ),
        )
        if chunk is not None or "attention_chunk_size" not in cfg:
            maybe(draw, cfg, "layer_types", st.just(kinds_of(draw, n, [FULL, CHUNKED])))
        if draw(st.booleans()):
            cfg["moe_layers"] = draw(
                st.lists(st.integers(0, n), max_size=n, unique=True)
            )
        else:
            maybe(draw, cfg, "interleave_moe_layer_step", st.integers(1, 3))
        experts(draw, cfg, "num_local_experts", "num_experts_per_tok")
    if model_type == "gemma4_text":
        maybe(draw, cfg, "sliding_window", st.integers(2, 64))
        maybe(
            draw,
            cfg,
            "use_bidirectional_attention",
            st.sampled_from([None, "vision", "all"]),
        )
        kinds = gemma4_kinds(draw, cfg, n)
        k_eq_v = draw(st.booleans())
        maybe(draw, cfg, "attention_k_eq_v", st.just(k_eq_v))
        if draw(st.booleans()):  # per-layer shapes as a 5.24 save writes them
            shape = {"head_dim": draw(st.sampled_from([4, 8, 16]))}
            if draw(st.booleans()):
                shape["num_key_value_heads"] = draw(
                    st.sampled_from([d for d in (1, 2, 4) if heads % d == 0])
                )
            cfg["per_layer_config"] = {
                str(i).zfill(2): shape for i, kind in enumerate(kinds) if kind == FULL
            }
        else:
            maybe(draw, cfg, "global_head_dim", st.sampled_from([4, 8, 16]))
            maybe(
                draw,
                cfg,
                "num_global_key_value_heads",
                st.sampled_from([d for d in (1, 2, 4) if heads % d == 0]),
            )
        valid = [s for s in range(n) if set(kinds[: n - s]) == set(kinds)]
        maybe(draw, cfg, "num_kv_shared_layers", st.sampled_from(valid))
        maybe(draw, cfg, "use_double_wide_mlp", st.booleans())
        maybe(draw, cfg, "hidden_size_per_layer_input", st.sampled_from([0, 2, 4]))
        maybe(draw, cfg, "vocab_size_per_layer_input", st.integers(8, 100))
        if draw(st.booleans()):
            e = draw(st.integers(1, 4))
            cfg.update(
                enable_moe_block=True,
                num_experts=e,
                top_k_experts=draw(st.integers(1, e)),
                moe_intermediate_size=draw(st.integers(1, 12)),
            )
    if model_type == "cohere2":
        maybe(draw, cfg, "sliding_window", st.one_of(st.none(), st.integers(2, 64)))
        if draw(st.booleans()):
            cfg["layer_types"] = kinds_of(draw, n, [FULL, SLIDING])
        else:
            maybe(draw, cfg, "sliding_window_pattern", st.integers(1, 4))
        if draw(st.booleans()):
            del cfg["num_key_value_heads"]  # as many as query heads
    if model_type == "exaone4":
        if draw(st.booleans()):
            cfg["layer_types"] = kinds_of(draw, n, [FULL, SLIDING])
            maybe(draw, cfg, "sliding_window", st.one_of(st.none(), st.integers(2, 64)))
        else:
            maybe(draw, cfg, "sliding_window", st.integers(2, 64))
            maybe(draw, cfg, "sliding_window_pattern", st.integers(1, 4))
    return cfg


def groups_of(model) -> dict[str, int]:
    """transformers' parameters sorted into vramlib's groups by name (rules here)."""
    groups = dict.fromkeys(GROUPS, 0)
    for name, p in model.named_parameters():
        owner = name.split(".")[-2] if name.count(".") else ""
        if re.search(r"embed_tokens(_per_layer)?\.weight$", name):
            group = "embedding"
        elif name == "lm_head.weight":
            group = "lm_head"
        elif name.endswith(".sinks") or "norm" in owner:
            group = "norm"
        elif name.endswith((".bias", "_bias")):
            group = "bias"
        elif ".router." in name:
            group = "router"
        elif ".self_attn." in name:
            group = "attention"
        elif re.search(
            r"\.(mlp|experts|feed_forward)\.|per_layer_(input_gate|projection|"
            r"model_projection)\.",
            name,
        ):
            group = "mlp"
        else:
            raise AssertionError(f"parameter {name} fits no group")
        groups[group] += p.numel()
    return groups


def routed_expert_params(model) -> int:
    return sum(p.numel() for name, p in model.named_parameters() if ".experts." in name)


@pytest.mark.parametrize("model_type", TYPES)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_param_count_equals_transformers(model_type, data):
    cfg = data.draw(configs(model_type), label="config")
    spec = ModelSpec.from_hf_config(cfg)
    config = hf_config(cfg)
    model = meta_model(cfg, config)
    assert spec.param_count() == sum(p.numel() for p in model.parameters())
    assert spec.param_groups() == groups_of(model)
    if spec.is_moe:  # a token skips (E - k) of every layer's E experts
        e, k = spec.num_experts, spec.experts_per_token
        skipped = routed_expert_params(model) * (e - k) // e
        assert spec.param_count() - spec.active_param_count() == skipped
    else:
        assert spec.active_param_count() == spec.param_count()


# ---- linear layers by name -----------------------------------------------------------


def tiny(model_type: str, **extra) -> dict:
    cfg = dict(
        model_type=model_type,
        vocab_size=64,
        hidden_size=32,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=8,
        intermediate_size=16,
        **NO_TOKENS,
    )
    if model_type == "cohere2":
        del cfg["head_dim"]
    cfg.update(extra)
    return cfg


GPT_OSS = tiny("gpt_oss", num_local_experts=4, num_experts_per_tok=2, sliding_window=4)
LLAMA4 = tiny(
    "llama4_text",
    num_local_experts=4,
    num_experts_per_tok=1,
    intermediate_size_mlp=24,
    interleave_moe_layer_step=2,
    attention_chunk_size=4,
)
GEMMA4 = tiny(
    "gemma4_text",
    sliding_window=4,
    global_head_dim=16,
    num_global_key_value_heads=1,
    attention_k_eq_v=True,
    num_kv_shared_layers=1,
    use_double_wide_mlp=True,
    hidden_size_per_layer_input=4,
    vocab_size_per_layer_input=64,
    layer_types=[SLIDING, FULL, SLIDING, SLIDING],
)
GEMMA4_MOE = tiny(
    "gemma4_text",
    num_hidden_layers=3,
    sliding_window=5,
    global_head_dim=8,
    hidden_size_per_layer_input=0,
    enable_moe_block=True,
    num_experts=4,
    top_k_experts=2,
    moe_intermediate_size=8,
)
COHERE2 = tiny("cohere2", sliding_window=4, attention_bias=True)
EXAONE4 = tiny(
    "exaone4", num_hidden_layers=5, sliding_window=4, sliding_window_pattern=2
)
CONFIGS = [GPT_OSS, LLAMA4, GEMMA4, GEMMA4_MOE, COHERE2, EXAONE4]
IDS = ["gpt_oss", "llama4_text", "gemma4_text", "gemma4_text-moe", "cohere2", "exaone4"]


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
def test_linear_modules_are_transformers_modules(cfg):
    """Every linear layer and fused expert tensor of the decoder layers, by name and
    shape, with how many the model holds: what LoRA's target_modules match."""
    model = meta_model(cfg)
    found: dict[tuple, int] = {}
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and ".layers." in name:
            key = (
                name.split(".")[-1],
                module.in_features,
                module.out_features,
                module.bias is not None,
            )
            found[key] = found.get(key, 0) + 1
    for name, p in model.named_parameters():
        if ".experts." in name and not name.endswith("_bias"):
            n_experts, out, inp = (
                p.shape
            )  # (E, out, in), or (E, in, out) when transposed
            if cfg["model_type"] in ("gpt_oss", "llama4_text"):
                inp, out = out, inp
            biased = f"{name}_bias" in dict(model.named_parameters())
            key = (name.split(".")[-1], inp, out, biased)
            found[key] = found.get(key, 0) + n_experts
        if cfg["model_type"] == "gpt_oss" and name.endswith(".router.weight"):
            # gpt-oss's router is a weight and a bias, not an nn.Linear
            key = ("router", p.shape[1], p.shape[0], True)
            found[key] = found.get(key, 0) + 1
    spec = ModelSpec.from_hf_config(cfg)
    listed: dict[tuple, int] = {}
    for lin in spec.linear_modules():
        if lin.kind != "lm_head":
            key = (lin.name, lin.in_features, lin.out_features, lin.bias)
            listed[key] = listed.get(key, 0) + lin.count
    assert listed == found


# ---- the cache after real forward passes ---------------------------------------------


def window_scalars(cache) -> int:
    """Bytes of the window-size scalars the cache's sliding and chunked layers keep."""
    return sum(
        x._sliding_window_tensor.untyped_storage().nbytes()
        for x in cache.layers
        if hasattr(x, "_sliding_window_tensor")
    )


def windowed(spec: ModelSpec) -> int:
    return sum(
        1 for x in spec.layers if x.mixer.span != "full" and not x.mixer.shares_kv
    )


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
@pytest.mark.parametrize("tokens,batch", [(2, 1), (9, 2)])
def test_cache_after_decoding_equals_vramlib(cfg, tokens, batch):
    """One token decoded after the prompt: vramlib's min(T, W) is what storage holds."""
    _, cache = run_cache(cfg, tokens, batch, decode=1)
    spec = ModelSpec.from_hf_config(cfg)
    t = tokens + 1
    assert window_scalars(cache) == WINDOW_SCALAR * windowed(spec)
    assert kv_cache_bytes(spec, tokens=t, batch=batch, dtype="fp32") == (
        cache_bytes(cache) - WINDOW_SCALAR * windowed(spec)
    )
    shown = sum(
        x.keys.numel() + x.values.numel() for x in cache.layers if x.keys is not None
    )
    per_layer = [
        (x.mixer.shares_kv, x.mixer.kv_heads * x.mixer.head_dim) for x in spec.layers
    ]
    rows = sum(
        0
        if shared
        else 2 * width * (t if x.mixer.span == "full" else min(t, x.mixer.window - 1))
        for x, (shared, width) in zip(spec.layers, per_layer)
    )
    assert shown == rows * batch  # elements the tensors show: W - 1 tokens in a window


@pytest.mark.parametrize("cfg", [GPT_OSS, LLAMA4, GEMMA4], ids=IDS[:3])
def test_cache_right_after_a_long_prefill_holds_the_whole_prompt(cfg):
    """Before any decoding step, a sliding or chunked layer's storage is the prompt."""
    tokens, batch = 11, 2
    _, cache = run_cache(cfg, tokens, batch, decode=0)
    spec = ModelSpec.from_hf_config(cfg)
    (row,) = {
        2 * x.mixer.kv_heads * x.mixer.head_dim * 4
        for x in spec.layers
        if x.mixer.span != "full"
    }
    full_row = {
        2 * x.mixer.kv_heads * x.mixer.head_dim * 4
        for x in spec.layers
        if x.mixer.span == "full"
    }.pop()
    n_win = windowed(spec)
    n_full = sum(
        1 for x in spec.layers if x.mixer.span == "full" and not x.mixer.shares_kv
    )
    expected = (n_win * tokens * row + n_full * tokens * full_row) * batch
    assert cache_bytes(cache) - WINDOW_SCALAR * n_win == expected
    w = min(x.mixer.window for x in spec.layers if x.mixer.span != "full")
    assert tokens > w
    assert kv_cache_bytes(spec, tokens=tokens, batch=batch, dtype="fp32") == (
        (n_win * w * row + n_full * tokens * full_row) * batch
    )


def test_bf16_cache_and_breakdown_by_kind():
    _, cache = run_cache(LLAMA4, 9, 2, dtype=torch.bfloat16, decode=2)
    spec = ModelSpec.from_hf_config(LLAMA4)
    t = 11
    assert kv_cache_bytes(spec, tokens=t, batch=2, dtype="bf16") == (
        cache_bytes(cache) - WINDOW_SCALAR * windowed(spec)
    )
    # three chunked layers of C = 4 and one full layer (NoPE); a key row is 2 heads x 8
    # x 2 B
    key_row = 2 * 8 * 2
    chunked, full = 3 * 4 * key_row * 2, 1 * t * key_row * 2  # x batch 2
    assert cache_breakdown(spec, tokens=t, batch=2, dtype="bf16") == {
        CHUNKED: {"keys": chunked, "values": chunked},
        FULL: {"keys": full, "values": full},
    }


def test_gemma4_shared_layers_keep_nothing_and_global_layers_their_own_shape():
    _, cache = run_cache(GEMMA4, 9, 1, decode=1)
    spec = ModelSpec.from_hf_config(GEMMA4)
    assert [type(x).__name__ for x in cache.layers] == [
        "DynamicSlidingWindowLayer",
        "DynamicLayer",
        "DynamicSlidingWindowLayer",
        "DummyLayer",
    ]
    # the global layer: 1 KV head of 16 (num_global_key_value_heads, global_head_dim)
    assert tuple(cache.layers[1].keys.shape) == (1, 1, 10, 16)
    assert tuple(cache.layers[0].keys.shape) == (1, 2, 3, 8)  # W - 1 = 3 shown
    assert cache_bytes_per_layer(spec, tokens=10, dtype="fp32")[3] == {}
