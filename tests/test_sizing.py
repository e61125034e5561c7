"""vramlib.sizing: the one-call sizing behind chapter 6's widget and chapter 5's table.

Expected numbers come from hand arithmetic on the model's published shape (Llama 3.1 8B's config.json)
or from seed 000's claims; properties check that the searched maxima are maxima.
"""

import importlib
import json

import pytest
from hypothesis import given, settings, strategies as st

from hub_server import TINY_PARAMS, closed_port_endpoint, serve
from vramlib import training
from vramlib.engines import llamacpp, sglang, vllm
from vramlib.estimate import estimate
from vramlib.gpus import get_gpu
from vramlib.models import catalogue_entry, get_model, model_names
from vramlib.sizing import (
    BATCH_LIMIT,
    CONTEXT_LIMIT,
    ENGINES,
    KINDS,
    MAX_LAYERS,
    FitTable,
    HubLookup,
    SizingResult,
    architecture,
    catalogue_menu,
    catalogue_menus,
    engine_figures,
    fine_tune,
    fit_table,
    kinds,
    lookup_model,
    resolve_model,
    size,
)

GIB = 2**30
# Llama 3.1 8B, from its config.json: V, H, L, query heads, KV heads, head size, MLP width
V, H, L, NH, NKV, D, I = 128256, 4096, 32, 32, 8, 128, 14336
LLAMA8_PARAMS = (
    2 * V * H + L * (2 * H * NH * D + 2 * H * NKV * D + 3 * H * I + 2 * H) + H
)
LLAMA8_CONFIG = json.dumps(catalogue_entry("Llama-3.1-8B")["config"])


def test_llama_8b_on_a_4090_by_hand():
    r = size("meta-llama/Llama-3.1-8B", "bf16", None, 8192, 1, "RTX 4090", 1)
    assert r.ok and r.error == ""
    assert r.params == LLAMA8_PARAMS == 8_030_261_248  # the published "8.03B"
    assert r.per_gpu_bytes["weights"] == 2 * LLAMA8_PARAMS  # 2 bytes each in bf16
    assert (
        r.per_gpu_bytes["kv_cache"] == 2 * L * NKV * D * 2 * 8192 == GIB
    )  # K and V, 2 bytes, 8192 tokens
    assert r.usable_bytes == get_gpu("RTX 4090").capacity_bytes
    assert (
        r.fits
        and r.headroom_bytes == r.usable_bytes - sum(r.per_gpu_bytes.values()) > 0
    )
    assert r.verdict().startswith("Fits on 1 x RTX 4090:")
    assert r.model_max_context == 131072  # max_position_embeddings
    assert r.tensor_parallel_sizes == (
        1,
        2,
        4,
        8,
        16,
    )  # divide 32 heads, and 8 KV heads or by them
    assert [row[0] for row in r.rows()] == [
        "weights",
        "kv cache",
        "activations",
        "overhead",
        "total",
        "usable",
    ]
    assert "GiB (2^30 B)" in r.table() and "GB (10^9 B)" in r.table()


def test_size_reports_what_estimate_and_fit_compute():
    r = size("Llama-3.1-70B", "fp8", "fp8", 16384, 2, "H100 SXM 80GB", 4)
    e = estimate(
        "Llama-3.1-70B", precision="fp8", kv_dtype="fp8", context=16384, batch=2
    )
    assert r.per_gpu_bytes == e.per_gpu(4)
    assert r.kv_dtype == "fp8" and r.precision == "fp8" and r.n_gpus == 4


def test_auto_kv_dtype_is_the_default_and_fp8_halves_the_cache():
    auto = size("Llama-3.1-8B", "bf16", "auto", 8192, 1, "L4", 1)
    none = size("Llama-3.1-8B", "bf16", None, 8192, 1, "L4", 1)
    fp8 = size("Llama-3.1-8B", "bf16", "fp8", 8192, 1, "L4", 1)
    assert auto.per_gpu_bytes == none.per_gpu_bytes and auto.kv_dtype == "bf16"
    assert 2 * fp8.per_gpu_bytes["kv_cache"] == auto.per_gpu_bytes["kv_cache"]


def test_a_pasted_config_sizes_like_the_catalogue_entry():
    pasted = size(LLAMA8_CONFIG, "bf16", None, 4096, 1, "RTX 4090", 1)
    named = size("Llama-3.1-8B", "bf16", None, 4096, 1, "RTX 4090", 1)
    assert pasted.ok and pasted.per_gpu_bytes == named.per_gpu_bytes
    assert pasted.model_max_context == 131072
    assert pasted.model == "pasted config"
    as_dict = size(json.loads(LLAMA8_CONFIG), "bf16", None, 4096, 1, "RTX 4090", 1)
    assert as_dict.per_gpu_bytes == named.per_gpu_bytes


def test_max_context_and_max_batch_are_the_largest_that_fit():
    r = size("Llama-3.1-8B", "bf16", None, 8192, 1, "RTX 4090", 1)
    assert 8192 < r.max_context < CONTEXT_LIMIT
    assert size("Llama-3.1-8B", "bf16", None, r.max_context, 1, "RTX 4090", 1).fits
    assert not size(
        "Llama-3.1-8B", "bf16", None, r.max_context + 1, 1, "RTX 4090", 1
    ).fits
    assert size("Llama-3.1-8B", "bf16", None, 8192, r.max_batch, "RTX 4090", 1).fits
    assert not size(
        "Llama-3.1-8B", "bf16", None, 8192, r.max_batch + 1, "RTX 4090", 1
    ).fits
    assert f"{r.max_context:,} tokens" in r.message()


def test_the_searches_call_estimate_about_log2_times(monkeypatch):
    calls = []

    def counting(*args, **kwargs):
        calls.append(1)
        return estimate(*args, **kwargs)

    # by module path: the package may export functions named like its modules (vramlib.fit)
    monkeypatch.setattr(importlib.import_module("vramlib.fit"), "estimate", counting)
    monkeypatch.setattr(importlib.import_module("vramlib.sizing"), "estimate", counting)
    size("Llama-3.1-8B", "bf16", None, 8192, 1, "RTX 4090", 1)
    # one estimate, then bisection over [1, 2^24] contexts and [1, 2^16] batches: 2 ends + log2 steps each
    assert len(calls) <= 1 + (2 + 24) + (2 + 16)


def test_a_split_the_heads_forbid_is_a_message():
    r = size("Llama-3.1-8B", "bf16", None, 8192, 1, "H100", 3)
    assert r.ok and not r.fits and r.per_gpu_bytes == {}
    assert "does not divide the 32 attention heads" in r.reason
    assert r.verdict().startswith("Cannot run on 3 x H100 SXM 80GB")
    assert "1, 2, 4, 8, 16" in r.message()
    assert r.headline() == "cannot split over 3 GPUs"
    assert (
        r.max_context == 0 and r.max_batch == 0 and r.rows() == [] and r.table() == ""
    )


def test_kv_heads_forbid_a_size_the_query_heads_allow():
    # Qwen2.5-14B: 40 query heads (5 divides them), 8 KV heads (5 neither divides nor is a multiple)
    r = size("Qwen/Qwen2.5-14B", "bf16", None, 4096, 1, "L40S", 5)
    assert not r.fits and "8 KV heads" in r.reason


def test_nothing_fits_is_explained_with_what_would():
    r = size("Llama-3.1-405B", "bf16", None, 8192, 1, "RTX 3080 10GB", 1)
    # weights alone: 405,853,388,800 x 2 B over 64 cards is 11.8 GiB a card, more than a 10 GB (10 GiB) card
    assert 2 * 405_853_388_800 / 64 > 10 * GIB
    assert r.ok and not r.fits and r.gpus_needed is None
    assert r.max_context == 0 and r.max_batch == 0
    assert "short by" in r.verdict()
    assert "Not even a 1-token context fits" in r.message()
    assert "No tensor-parallel group of up to 64 x RTX 3080 10GB" in r.message()
    r70 = size("Llama-3.1-70B", "bf16", None, 8192, 1, "A100 80GB", 1)
    assert (
        r70.gpus_needed == 2
        and "The fewest A100 SXM 80GB that hold it: 2." in r70.message()
    )


BAD_INPUTS = [
    (dict(model='{"model_type": "llama",'), "not valid JSON (line 1, column 24"),
    (dict(model="[1, 2]"), "must hold a JSON object"),
    (dict(model="[" * 100_000), "nested too deeply"),
    (dict(model="{}"), "'model_type' is required"),
    (
        dict(model='{"model_type": "bert", "hidden_size": 8}'),
        "'bert', an architecture vramlib does not support",
    ),
    (dict(model='{"model_type": "llama", "hidden_size": 4096}'), "is required"),
    (
        dict(
            model='{"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4, '
            f'"num_hidden_layers": {MAX_LAYERS + 1}}}'
        ),
        "no published model has more",
    ),
    (
        dict(
            model='{"model_type": "llama", "hidden_size": 1e400, "num_attention_heads": 4, '
            '"num_hidden_layers": 2}'
        ),
        "hidden_size",
    ),
    (
        dict(
            model='{"model_type": "llama", "hidden_size": %d, "num_attention_heads": 4, '
            '"num_hidden_layers": 2, "vocab_size": %d}' % (4 * 10**9, 10**12)
        ),
        "parameters; check",
    ),
    (
        dict(
            model='{"model_type": "llama", "hidden_size": %d, "num_attention_heads": 4, '
            '"num_hidden_layers": 2, "vocab_size": %d}' % (4 * 10**200, 10**200)
        ),
        "'hidden_size' must be at most",
    ),
    (dict(model="Llama-3.1-8b-xx"), "Did you mean"),
    (dict(model=""), "No model given"),
    (dict(model="   "), "No model given"),
    (dict(model=5), "Model must be a catalogue name"),
    (dict(precision="bf17"), "Did you mean 'bf16'"),
    (dict(kv_dtype="fp9"), "Did you mean 'fp8'"),
    (dict(context=0), "Context must be an integer >= 1"),
    (dict(context=-5), "Context must be an integer >= 1"),
    (dict(context="long"), "Context must be an integer"),
    (dict(context=2.5), "Context must be an integer"),
    (dict(context=CONTEXT_LIMIT + 1), "Context must be at most"),
    (dict(batch=0), "Batch must be an integer >= 1"),
    (dict(batch=BATCH_LIMIT + 1), "Batch must be at most"),
    (dict(gpu="RTX 9090"), "Did you mean"),
    (dict(n_gpus=0), "N_gpus must be an integer >= 1"),
    (dict(n_gpus=1.5), "N_gpus must be an integer"),
    (dict(gpu_memory_utilization=0.0), "Gpu_memory_utilization must be a number > 0"),
    (dict(gpu_memory_utilization=1.5), "<= 1"),
    (dict(prefill_chunk=0), "Prefill_chunk must be an integer >= 1"),
]


@pytest.mark.parametrize(
    "changes,expected", BAD_INPUTS, ids=[str(c)[:40] for c, _ in BAD_INPUTS]
)
def test_every_bad_input_is_a_message_not_an_exception(changes, expected):
    args = dict(
        model="Llama-3.1-8B",
        precision="bf16",
        kv_dtype=None,
        context=4096,
        batch=1,
        gpu="RTX 4090",
        n_gpus=1,
    )
    gpu_memory_utilization = changes.pop("gpu_memory_utilization", 1.0)
    prefill_chunk = changes.pop("prefill_chunk", None)
    r = size(
        **{**args, **changes},
        gpu_memory_utilization=gpu_memory_utilization,
        prefill_chunk=prefill_chunk,
    )
    assert not r.ok and expected in r.error
    assert r.verdict() == r.error == r.message() and r.notes() == []
    assert r.per_gpu_bytes == {} and not r.fits and r.rows() == []
    assert r.headline() == "no estimate: see the message"
    assert r.error[0].isupper() and r.error.rstrip().endswith((".", "?", ")"))


def test_resolve_model_raises_with_the_message():
    with pytest.raises(ValueError, match="not valid JSON"):
        resolve_model("{oops}")
    spec, trained = resolve_model("Llama-3.1-8B")
    assert spec.param_count() == LLAMA8_PARAMS and trained == 131072


@settings(max_examples=200)
@given(text=st.text(max_size=60))
def test_any_typed_text_gives_a_result(text):
    r = size(text, "bf16", None, 4096, 1, "RTX 4090", 1)
    assert isinstance(r, SizingResult) and (r.error or r.per_gpu_bytes or r.reason)
    assert r.message()


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.lists(st.integers(0, 4), max_size=3),
)


@settings(max_examples=200)
@given(
    key=st.sampled_from(
        sorted(json.loads(LLAMA8_CONFIG)) + ["model_type", "layer_types"]
    ),
    value=_VALUES,
    drop=st.booleans(),
)
def test_a_mangled_config_gives_a_result(key, value, drop):
    cfg = json.loads(LLAMA8_CONFIG)
    if drop:
        cfg.pop(key, None)
    else:
        cfg[key] = value
    r = size(json.dumps(cfg), "bf16", None, 2048, 1, "RTX 4090", 1)
    assert isinstance(r, SizingResult) and (r.error or r.per_gpu_bytes or r.reason)
    assert r.message()


@settings(max_examples=60)
@given(
    context=st.integers(-5, 10**8), batch=st.integers(-5, 10**5), n=st.integers(-2, 70)
)
def test_any_numbers_give_a_result(context, batch, n):
    r = size("Mixtral-8x7B-v0.1", "Q4_K_M", "fp8", context, batch, "A100 80GB", n)
    assert r.message()
    if r.ok and not r.reason:
        assert r.fits == (sum(r.per_gpu_bytes.values()) <= r.usable_bytes)
        assert r.fits == (r.max_context >= r.context) == (r.max_batch >= r.batch)


# ---- fit_table ----------------------------------------------------------------------------------

SEED_000_GPUS = ["MI300X", "A100 SXM 80GB", "H100 SXM 80GB", "RTX 4090"]


def test_fit_table_reproduces_seed_000_and_marks_what_needs_more_than_eight():
    t = fit_table(
        ["meta-llama/Llama-3.1-405B"],
        SEED_000_GPUS,
        ["bf16", "int8", "int4"],
        context=8192,
    )
    assert isinstance(t, FitTable) and len(t.rows) == 3
    bf16, int8, int4 = (r.gpus_needed for r in t.rows)
    # seed 000: 8 x MI300X at 16 bits, 8 x A100/H100 80GB at 8 bits, 4 x 80GB at 4 bits
    assert bf16[0] == 8 and int8[1:3] == (8, 8) and int4[1:3] == (4, 4)
    # weights alone: 405.85e9 x 2 B over 8 cards of 24 GiB is 94 GB a card: more than 8 are needed
    assert 2 * 405_853_388_800 / 8 > 24 * GIB and bf16[3] is None
    assert t.cells()[0][0] == "Llama-3.1-405B" and t.cells()[0][-1] == "> 8"
    assert (
        t.headers[:3] == ["model", "format", "weights (GiB, 2³⁰ B)"]
        and len(t.headers) == 3 + 4
    )
    assert t.headers[3].startswith("MI300X (192 GiB")


def test_fit_table_counts_are_splits_the_heads_allow():
    t = fit_table(
        ["Qwen/Qwen2.5-14B", "microsoft/Phi-3-medium-4k-instruct"],
        ["RTX 3060 12GB", "T4"],
        ["fp32", "bf16"],
        context=4096,
        max_gpus=16,
    )
    heads = {"Qwen2.5-14B": (40, 8), "Phi-3-medium-4k-instruct": (40, 10)}
    for row in t.rows:
        nh, nkv = heads[row.model.split("/")[-1]]
        for n in row.gpus_needed:
            assert n is None or (nh % n == 0 and (nkv % n == 0 or n % nkv == 0))
    assert len(t.cells()) == 4 and all(len(c) == 3 + 2 for c in t.cells())


def test_fit_table_max_gpus_and_bad_input():
    small = fit_table(["Llama-3.1-70B"], ["RTX 4090"], ["bf16"], max_gpus=4)
    assert small.rows[0].gpus_needed == (None,) and small.cells()[0][-1] == "> 4"
    with pytest.raises(ValueError):
        fit_table(["Llama-3.1-70B"], [], ["bf16"])
    with pytest.raises(ValueError):
        fit_table([], ["L4"], ["bf16"])
    with pytest.raises(ValueError, match="Did you mean"):
        fit_table(["Llama-3.1-70B"], ["L5"], ["bf16"])
    with pytest.raises(ValueError):
        fit_table(["Llama-3.1-70B"], ["L4"], ["bf16"], max_gpus=0)


# ---- the catalogue menu: kinds read off the layer stack ----------------------------------------


def _config(name):
    return catalogue_entry(name)["config"]


def test_kinds_follow_the_published_configs():
    # what each config.json says, read by hand: experts, windows, latent ranks, layer types
    assert kinds(get_model("meta-llama/Llama-3.1-8B")) == ("dense",)
    oss = _config("openai/gpt-oss-20b")
    assert oss["num_local_experts"] > 0 and "sliding_attention" in oss["layer_types"]
    assert kinds(get_model("openai/gpt-oss-20b")) == (
        "mixture of experts",
        "sliding window",
    )
    assert _config("deepseek-ai/DeepSeek-V3")["kv_lora_rank"] == 512
    assert kinds(get_model("deepseek-ai/DeepSeek-V3")) == (
        "mixture of experts",
        "latent attention",
    )
    nxt = _config("Qwen/Qwen3-Next-80B-A3B-Thinking")
    assert nxt["num_experts"] > 0
    assert kinds(get_model("Qwen/Qwen3-Next-80B-A3B-Thinking")) == (
        "mixture of experts",
        "hybrid",
    )
    pattern = _config("nvidia/Nemotron-H-56B-Base-8K")["hybrid_override_pattern"]
    assert (
        "M" in pattern and "*" in pattern and "E" not in pattern
    )  # Mamba, attention, no experts
    assert kinds(get_model("nvidia/Nemotron-H-56B-Base-8K")) == ("dense", "hybrid")


def test_architecture_counts_the_mixers_of_the_published_configs():
    nxt = _config("Qwen/Qwen3-Next-80B-A3B-Thinking")
    full = (
        nxt["num_hidden_layers"] // nxt["full_attention_interval"]
    )  # every 4th layer attends
    assert architecture(get_model("Qwen/Qwen3-Next-80B-A3B-Thinking")) == (
        f"{nxt['num_hidden_layers'] - full} gated DeltaNet + {full} full attention layers; "
        f"experts: {nxt['num_experts']}, {nxt['num_experts_per_tok']} per token"
    )
    pattern = _config("nvidia/Nemotron-H-56B-Base-8K")["hybrid_override_pattern"]
    assert architecture(get_model("nvidia/Nemotron-H-56B-Base-8K")) == (
        f"{pattern.count('M')} Mamba-2 + {pattern.count('*')} full attention layers; dense MLP"
    )
    assert (
        architecture(get_model("Llama-3.1-8B")) == "32 full attention layers; dense MLP"
    )


def test_catalogue_menu_lists_the_catalogue_by_kind():
    every = catalogue_menu()
    assert [value for _, value in every] == model_names()
    assert ("meta-llama/Llama-3.1-8B (8.0B; dense)", "meta-llama/Llama-3.1-8B") in every
    menus = catalogue_menus()
    assert set(menus) == set(KINDS) and menus["all"] == every
    for kind in KINDS[1:]:
        assert menus[kind] == catalogue_menu(kind) and menus[kind]
        assert all(kind in kinds(get_model(v)) for _, v in menus[kind])
    hybrid = [v for _, v in menus["hybrid"]]
    assert (
        "Qwen/Qwen3-Next-80B-A3B-Thinking" in hybrid
        and "meta-llama/Llama-3.1-8B" not in hybrid
    )
    assert "deepseek-ai/DeepSeek-V3.2" in [v for _, v in menus["latent attention"]]
    with pytest.raises(ValueError, match="Did you mean 'hybrid'"):
        catalogue_menu("hybird")


# ---- a model by Hub id ---------------------------------------------------------------------------


@pytest.fixture
def hub(monkeypatch, tmp_path):
    with serve() as (endpoint, requests):
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        monkeypatch.setenv("VRAMLIB_CACHE", str(tmp_path / "cache"))
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.delenv("HF_TOKEN", raising=False)
        monkeypatch.setenv("VRAMLIB_HUB_TIMEOUT", "5")
        yield requests


def test_a_catalogue_id_is_found_without_the_hub(monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", closed_port_endpoint())  # a request would fail
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    found = lookup_model("  llama-3.1-8b ")
    assert (
        found.ok
        and found.source == "catalogue"
        and found.spec.name == "meta-llama/Llama-3.1-8B"
    )
    assert found.message() == "Found meta-llama/Llama-3.1-8B in the catalogue."


def test_a_hub_id_is_looked_up_and_sized_by_hand(hub):
    found = lookup_model("org/tiny")
    assert (
        found.ok and found.source == "hub" and not found.offline and found.error == ""
    )
    assert hub == [
        "/org/tiny/resolve/main/config.json",
        "/org/tiny/resolve/main/model.safetensors.index.json",
    ]
    r = size(found.spec, "bf16", None, 1024, 1, "RTX 4090", 1)
    assert r.params == TINY_PARAMS == 1_627_392
    assert r.per_gpu_bytes["weights"] == 2 * TINY_PARAMS
    # K and V of 1 head of 64, 2 bytes, 2 layers, 1024 tokens
    assert r.per_gpu_bytes["kv_cache"] == 2 * 64 * 2 * 2 * 1024
    assert r.model == "org/tiny" and r.model_max_context == 4096


def test_a_looked_up_id_works_offline_and_an_unseen_one_says_offline(hub, monkeypatch):
    assert lookup_model("org/tiny").ok
    hub.clear()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert lookup_model("org/tiny").ok and hub == []
    unseen = lookup_model("org/other")
    assert not unseen.ok and unseen.offline and hub == []
    assert unseen.error.startswith("Offline: HF_HUB_OFFLINE is set and org/other")
    assert "paste the config.json" in unseen.error and "\n" not in unseen.error


def test_an_unreachable_hub_says_offline(monkeypatch, tmp_path):
    endpoint = closed_port_endpoint()
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setenv("VRAMLIB_CACHE", str(tmp_path))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    found = lookup_model("org/tiny")
    assert not found.ok and found.offline
    assert found.error.startswith(f"Offline: the Hub at {endpoint} cannot be reached")


@pytest.mark.parametrize(
    "text,words",
    [
        ("org/gated", "gated or private (HTTP 401"),
        ("org/missing", "has no config.json (HTTP 404"),
        ("my-finetune", "Not a Hub repository id: 'my-finetune'; write it as org/name"),
        ("../etc/passwd", "Not a Hub repository id"),
        ("", "No Hub id given"),
        (None, "A Hub id must be text"),
    ],
)
def test_hub_failures_are_one_sentence(hub, text, words):
    found = lookup_model(text)
    assert isinstance(found, HubLookup) and not found.ok and not found.offline
    assert words in found.error and "\n" not in found.error
    assert found.message() == found.error and found.error[0].isupper()


# ---- engines ---------------------------------------------------------------------------------------


def test_engine_none_is_empty_and_names_are_checked():
    none = engine_figures("Llama-3.1-8B", "none")
    assert none.ok and none.engine == "none" and none.rows == () and none.table() == ""
    assert engine_figures("Llama-3.1-8B", "llama-cpp").engine == "llama.cpp"
    bad = engine_figures("Llama-3.1-8B", "vlm")
    assert not bad.ok and "Did you mean 'vLLM'" in bad.error and bad.table() == ""
    assert ENGINES == ("none", "vLLM", "SGLang", "llama.cpp")


def test_vllm_figures_are_the_engine_models():
    e = engine_figures(
        "Llama-3.1-8B",
        "vLLM",
        "bf16",
        "auto",
        8192,
        2,
        "RTX 4090",
        1,
        memory_fraction=0.9,
    )
    p = vllm.predict(
        "Llama-3.1-8B",
        "RTX 4090",
        precision="bf16",
        max_model_len=8192,
        gpu_memory_utilization=0.9,
    )
    assert e.ok and e.fits == p.fits and e.log_lines == tuple(p.log_lines())
    assert dict(e.rows)["KV pool"] == p.kv_pool_bytes
    assert dict(e.rows)["weights"] == p.weights_bytes_per_gpu
    assert (
        e.kv_cache_tokens == p.kv_cache_tokens
        and e.requests_at_once == p.max_concurrency
    )
    assert f"{p.max_concurrency:,.2f} requests of 8,192 tokens" in e.message()
    assert "GiB (2^30 B)" in e.table() and "GB (10^9 B)" in e.table()


def test_sglang_figures_are_the_engine_models():
    e = engine_figures(
        "Llama-3.1-8B", "SGLang", "fp8", "fp8", 4096, 1, "L40S", 1, memory_fraction=0.85
    )
    p = sglang.predict(
        "Llama-3.1-8B",
        "L40S",
        precision="fp8",
        kv_cache_dtype="fp8",
        mem_fraction_static=0.85,
    )
    assert e.ok and e.kv_cache_tokens == p.max_total_num_tokens
    assert e.requests_at_once == p.max_total_num_tokens / 4096
    assert "mem_fraction_static 0.85" in e.message() and e.log_lines == tuple(
        p.log_lines()
    )


def test_llamacpp_searches_agree_with_the_engine_models_scans():
    # the engine module scans every -ngl and every --n-cpu-moe; the sizer bisects
    dense = engine_figures(
        "Llama-3.1-70B", "llama.cpp", "Q4_K_M", "auto", 8192, 1, "RTX 4090", 2
    )
    best = llamacpp.max_gpu_layers(
        "Llama-3.1-70B", "RTX 4090", precision="Q4_K_M", n_ctx=8192
    )
    assert not dense.fits and dict(dense.figures)["highest -ngl that fits"] == str(best)
    assert f"-ngl {best} of 81 fits" in dense.message()
    assert "splitting over 2 GPUs (--tensor-split) is not modelled" in dense.message()
    moe = engine_figures(
        "mistralai/Mixtral-8x7B-v0.1",
        "llama.cpp",
        "Q4_K_M",
        "q8_0",
        4096,
        1,
        "RTX 4090",
        1,
    )
    settings = dict(
        precision="Q4_K_M", n_ctx=4096, cache_type_k="q8_0", cache_type_v="q8_0"
    )
    fewest = llamacpp.min_cpu_moe("mistralai/Mixtral-8x7B-v0.1", "RTX 4090", **settings)
    assert dict(moe.figures)["fewest --n-cpu-moe, every layer offloaded"] == str(fewest)
    small = engine_figures(
        "Llama-3.1-8B", "llama.cpp", "Q4_K_M", "auto", 4096, 1, "RTX 4090", 1
    )
    p = llamacpp.predict("Llama-3.1-8B", precision="Q4_K_M", n_ctx=4096)
    assert small.fits and dict(small.rows)["GPU total"] == p.gpu_bytes


@pytest.mark.parametrize(
    "args,words",
    [
        (
            ("Llama-3.1-8B", "vLLM", "bf16", "auto", 4096, 1, "H100", 3),
            "Cannot split meta-llama/Llama-3.1-8B over 3 GPUs in vLLM",
        ),
        (
            (
                "Qwen/Qwen3-Next-80B-A3B-Thinking",
                "vLLM",
                "bf16",
                "auto",
                4096,
                1,
                "H200",
                1,
            ),
            "GatedDeltaNet has no vLLM page model",
        ),
        (
            ("Llama-3.1-8B", "llama.cpp", "Q4_K_M", "fp8", 4096, 1, "L4", 1),
            "KV cache type 'fp8' is not one llama.cpp has",
        ),
        (("Llama-3.1-8B", "vLLM", "bf16", "auto", 0, 1, "L4", 1), "Context must be"),
        (
            ("Llama-3.1-8B", "SGLang", "bf17", "auto", 4096, 1, "L4", 1),
            "Did you mean 'bf16'",
        ),
        (
            ('{"model_type": "llama",', "vLLM", "bf16", "auto", 4096, 1, "L4", 1),
            "not valid JSON",
        ),
    ],
)
def test_engine_problems_are_messages(args, words):
    e = engine_figures(*args)
    assert not e.ok and words in e.error and e.message() == e.error and e.table() == ""


def test_a_bad_memory_fraction_is_a_message():
    e = engine_figures("Llama-3.1-8B", "vLLM", memory_fraction=1.5)
    assert not e.ok and "Memory_fraction must be" in e.error


@settings(max_examples=25)
@given(
    engine=st.sampled_from(ENGINES + ("tgi",)),
    context=st.integers(-2, 10**6),
    batch=st.integers(-1, 300),
    n=st.integers(-1, 9),
    kv=st.sampled_from(["auto", "fp8", "q8_0", "int4"]),
)
def test_engine_figures_never_raise(engine, context, batch, n, kv):
    e = engine_figures(
        "Llama-3.1-8B", engine, "Q4_K_M", kv, context, batch, "RTX 4090", n
    )
    assert e.error or e.engine == "none" or e.title


# ---- fine-tuning -----------------------------------------------------------------------------------


def test_full_fine_tuning_by_hand():
    t = fine_tune("Llama-3.1-8B", "full", "bf16", "H100", 1, seq_len=1024)
    p = LLAMA8_PARAMS  # mixed precision: bf16 weights and gradients, fp32 master weights
    assert t.ok and t.params == t.trainable_params == p
    assert t.per_gpu_bytes["weights"] == 2 * p and t.per_gpu_bytes["gradients"] == 2 * p
    assert t.per_gpu_bytes["master_weights"] == 4 * p
    assert (
        t.per_gpu_bytes["optimizer_states"] >= 8 * p
    )  # two fp32 Adam moments (+ counters)
    assert t.usable_bytes == get_gpu("H100").capacity_bytes
    assert not t.fits and t.verdict().startswith(
        "full fine-tuning does not fit on 1 x H100"
    )
    assert t.max_micro_batch == 0 and "Not even one sequence" in t.message()


def test_qlora_adapters_by_hand_and_the_maxima():
    t = fine_tune(
        "Llama-3.1-8B",
        "QLoRA",
        "bf16",
        "RTX 4090",
        1,
        lora_rank=16,
        seq_len=2048,
        micro_batch=1,
        checkpointing="layer",
    )
    # rank 16 on q, k, v, o, gate, up, down: r (in + out) each, 32 layers
    per_layer = 16 * ((H + NH * D) * 2 + (H + NKV * D) * 2 + 3 * (H + I))
    assert t.trainable_params == L * per_layer == 41_943_040
    assert t.fits and t.headline().startswith("QLoRA fine-tuning fits")
    kwargs = dict(
        method="qlora", lora_rank=16, checkpointing="layer", optimizer="adamw"
    )
    cap = get_gpu("RTX 4090").capacity_bytes
    # the library's own searches (over [1, 2^24]) against the sizer's doubling search
    assert t.max_micro_batch == training.max_micro_batch(
        "Llama-3.1-8B", cap, seq_len=2048, **kwargs
    )
    assert t.max_seq_len == training.max_seq_len(
        "Llama-3.1-8B", cap, micro_batch=1, **kwargs
    )
    direct = training.fine_tuning_bytes("Llama-3.1-8B", seq_len=2048, **kwargs)
    assert (
        t.per_gpu_bytes == direct.parts()
        and t.per_gpu_total_bytes == direct.total_bytes
    )
    assert [row[0] for row in t.rows()][-2:] == ["total", "usable"]


def test_lora_base_follows_the_weights_menu_and_zero3_shards():
    bf16 = fine_tune("Llama-3.1-8B", "LoRA", "bf16", "L40S", 1)
    fp8 = fine_tune("Llama-3.1-8B", "LoRA", "fp8", "L40S", 1)
    # fp8 saves a byte on every weight of a linear layer: all but the embedding, the LM
    # head and the 2 L + 1 norms
    linear = LLAMA8_PARAMS - 2 * V * H - (2 * L + 1) * H
    assert bf16.per_gpu_bytes["weights"] - fp8.per_gpu_bytes["weights"] == linear
    four = fine_tune("Llama-3.1-70B", "full", "bf16", "H100", 8)
    assert (
        "ZeRO-3 over 8 GPUs" in four.message()
        and "gathered_weights" in four.per_gpu_bytes
    )
    one = fine_tune("Llama-3.1-70B", "full", "bf16", "H100", 1)
    assert (
        four.per_gpu_bytes["optimizer_states"] * 8
        >= one.per_gpu_bytes["optimizer_states"]
    )


@pytest.mark.parametrize(
    "changes,words",
    [
        (dict(method="lora", precision="awq-4bit-128g"), "LoRA keeps the frozen base"),
        (dict(method="dpo"), "Unknown fine-tuning method 'dpo'"),
        (dict(seq_len=0), "Seq_len must be an integer >= 1"),
        (dict(micro_batch=-1), "Micro_batch must be an integer >= 1"),
        (dict(lora_rank=0), "Lora_rank must be an integer >= 1"),
        (dict(checkpointing="all"), "Accepted: layer, none"),
        (dict(gpu="H1000"), "Did you mean"),
        (dict(model="{"), "not valid JSON"),
    ],
)
def test_fine_tuning_problems_are_messages(changes, words):
    args = dict(
        model="Llama-3.1-8B", method="LoRA", precision="bf16", gpu="H100", n_gpus=1
    )
    args.update(changes)
    t = fine_tune(**args)
    assert not t.ok and words in t.error and t.message() == t.error and t.rows() == []
    assert t.headline() == "no estimate: see the message"


@settings(max_examples=40)
@given(
    text=st.text(max_size=40), method=st.sampled_from(["full", "LoRA", "QLoRA", "ppo"])
)
def test_any_typed_model_gives_a_training_result(text, method):
    t = fine_tune(text, method, "bf16", "H100", 1, seq_len=512)
    assert t.error or t.per_gpu_bytes
    assert t.message()


@settings(max_examples=60)
@given(
    text=st.one_of(
        st.text(max_size=40), st.from_regex(r"[a-z]{1,5}/[a-z.]{1,8}", fullmatch=True)
    )
)
def test_any_typed_hub_id_gives_a_lookup(text):
    with pytest.MonkeyPatch.context() as mp:  # nothing may reach a real Hub
        mp.setenv("HF_ENDPOINT", closed_port_endpoint())
        mp.setenv("HF_HUB_OFFLINE", "1")
        found = lookup_model(text)
    assert isinstance(found, HubLookup) and (found.ok or found.error)
    assert found.ok or "\n" not in found.error


@pytest.mark.parametrize("seq,micro", [(1, 1), (2048, 64), (300_000, 1), (4096, 3)])
def test_the_training_maxima_do_not_depend_on_where_the_search_starts(seq, micro):
    t = fine_tune(
        "Llama-3.1-8B", "LoRA", "bf16", "L40S", 1, seq_len=seq, micro_batch=micro
    )
    kwargs = dict(method="lora", base_dtype="bf16", lora_rank=16, optimizer="adamw")
    cap = get_gpu("L40S").capacity_bytes
    assert t.max_micro_batch == training.max_micro_batch(
        "Llama-3.1-8B", cap, seq_len=seq, **kwargs
    )
    assert t.max_seq_len == training.max_seq_len(
        "Llama-3.1-8B", cap, micro_batch=micro, **kwargs
    )
