"""vramlib.sizing: the one-call sizing behind chapter 6's widget and chapter 5's table.

Expected numbers come from hand arithmetic on the model's published shape (Llama 3.1 8B's config.json)
or from seed 000's claims; properties check that the searched maxima are maxima.
"""

import importlib
import json

import pytest
from hypothesis import given, settings, strategies as st

from vramlib.estimate import estimate
from vramlib.gpus import get_gpu
from vramlib.models import catalogue_entry
from vramlib.sizing import (
    BATCH_LIMIT,
    CONTEXT_LIMIT,
    MAX_LAYERS,
    FitTable,
    SizingResult,
    fit_table,
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
