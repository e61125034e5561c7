"""vramlib and its command line under careless and hostile input (issue 12).

Two halves. Regression tests, one per case the issue lists: each states the input and
what a calculator must do with it (use it, or refuse it in one clear sentence). Then
properties: hypothesis drives the public API and the CLI with generated configs, numbers
and strings, and checks the invariants: bad input is a ``TypeError``/``ValueError`` (a
CLI exit status 2 with one line), never another exception, a hang, or a message that
leaks Python's internals; good input gives exact integer bytes whose parts add up.

Expected values are derived here by hand (the bf16 weights are two bytes per parameter,
the llama-style parameter count is the book's formula), never by the code under test.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import vramlib
from vramlib import _check, cli
from vramlib.estimate import estimate
from vramlib.fit import MAX_GPUS_LIMIT, fit, gpus_needed, max_batch, max_context
from vramlib.formats import get_format
from vramlib.gpus import custom_gpu, get_gpu
from vramlib.models import SUPPORTED_MODEL_TYPES, ModelSpec, get_model
from vramlib.precisions import get_precision
from vramlib.sizing import fit_table, size
from vramlib.units import format_bytes, to_unit

ROOT = Path(__file__).resolve().parents[1]
LLAMA8 = get_model("Llama-3.1-8B")
#: Llama 3.1 8B's max_position_embeddings, from its config.json (131072, 128K tokens)
LLAMA8_MAX_POSITIONS = 131072
#: what a message must never show: Python's own wording for a bug, not the user's
#: mistake
LEAKS = (
    "unhashable type",
    "invalid literal",
    "Exceeds the limit",
    "has no attribute",
    "not subscriptable",
    "unsupported operand",
    "not supported between",
    "Traceback",
    "object is not iterable",
    "can't multiply",
    "maximum recursion",
    "int_max_str_digits",
)
TINY = {
    "model_type": "llama",
    "vocab_size": 1000,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
}


def assert_clear(err: BaseException) -> None:
    """A bad-input exception: the right kind, a readable length, no leaked internals."""
    assert isinstance(err, (TypeError, ValueError)), repr(err)
    text = str(err)
    assert text and len(text) < 1500, text[:300]
    assert not any(leak in text for leak in LEAKS), text


def run_cli(*args: str) -> tuple[int, str, str]:
    """``main(args)`` in this process: (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(list(args))
    return status, out.getvalue(), err.getvalue()


def assert_usage_error(status: int, out: str, err: str, *needles: str) -> None:
    assert status == 2 and out == "", (status, out, err)
    assert err.startswith("vramlib: error: ") and err.count("\n") == 1, err
    assert len(err) <= cli.MAX_MESSAGE + 40 and "Traceback" not in err
    for needle in needles:
        assert needle.lower() in err.lower(), (needle, err)


# ======================================================================================
# Answers built on ignored input
# ======================================================================================


def test_flat_overhead_refuses_the_flags_it_ignores():
    for flag, value in (
        ("--context", "1000000"),
        ("--batch", "1000"),
        ("--kv-dtype", "fp8"),
    ):
        assert_usage_error(
            *run_cli("Llama-3.1-8B", "--overhead", "flat", flag, value),
            flag,
            "--overhead flat",
        )


def test_flat_overhead_prints_no_longest_context_or_largest_batch():
    status, out, _ = run_cli("Llama-3.1-8B", "--overhead", "flat", "--gpu", "H100")
    assert status == 0
    assert "longest context that fits" not in out and "most sequences" not in out
    assert "context, batch and KV dtype not used" in out
    status, out, _ = run_cli(
        "Llama-3.1-8B", "--overhead", "flat", "--gpu", "H100", "--json"
    )
    data = json.loads(out)
    assert "max_context" not in data and "max_batch" not in data
    assert "context" not in data["inputs"] and data["estimate"]["inputs_unused"][
        :2
    ] == ["context", "batch"]


def test_flat_overhead_has_no_longest_context_in_the_library():
    with pytest.raises(ValueError, match="flat"):
        max_context(LLAMA8, "H100", overhead="flat")
    with pytest.raises(ValueError, match="flat"):
        max_batch(LLAMA8, "H100", context=4096, overhead="flat")
    assert estimate(LLAMA8, overhead="flat").inputs_unused == (
        "context",
        "batch",
        "kv_dtype",
        "prefill_chunk",
    )


def test_longest_context_stops_at_max_position_embeddings():
    # memory alone would allow 278,354 tokens on an H100; the model was built for
    # 131,072
    status, out, _ = run_cli("Llama-3.1-8B", "--gpu", "H100")
    assert status == 0
    assert (
        f"{LLAMA8_MAX_POSITIONS:,} tokens "
        "(the model's own limit, max_position_embeddings)" in out
    )
    data = json.loads(run_cli("Llama-3.1-8B", "--gpu", "H100", "--json")[1])
    assert data["max_context"] == LLAMA8_MAX_POSITIONS
    assert data["max_context_limited_by"] == "max_position_embeddings"
    assert data["inputs"]["max_position_embeddings"] == LLAMA8_MAX_POSITIONS
    r = size("Llama-3.1-8B", gpu="H200")
    assert (
        r.max_context == LLAMA8_MAX_POSITIONS
        and "max_position_embeddings" in r.message()
    )


def test_a_context_past_the_models_limit_is_flagged():
    status, out, _ = run_cli("Llama-3.1-8B", "--context", "200000")
    assert status == 0 and "longer than the model was built for (131,072 tokens" in out
    r = size("Llama-3.1-8B", context=200_000, gpu="H200")
    assert "longer than the model was built for" in r.message()


def test_max_position_embeddings_of_a_config_file(tmp_path):
    (tmp_path / "config.json").write_text(
        json.dumps({**TINY, "max_position_embeddings": 512})
    )
    data = json.loads(run_cli("--config", str(tmp_path), "--gpu", "H100", "--json")[1])
    assert (
        data["max_context"] == 512 and data["inputs"]["max_position_embeddings"] == 512
    )


def test_fit_table_refuses_a_string_where_a_list_belongs():
    for args in (
        (["Llama-3.1-8B"], ["H100"], "16"),
        ("Llama-3.1-8B", ["H100"], ["bf16"]),
        (["Llama-3.1-8B"], "H100", ["bf16"]),
    ):
        with pytest.raises(TypeError, match="must be a list") as err:
            fit_table(*args)
        assert_clear(err.value)


@pytest.mark.parametrize("text", ["-5", "0,9", "4.5", "-16bit"])
def test_negative_and_comma_bit_widths_are_refused(text):
    for lookup in (get_format, get_precision):
        with pytest.raises(ValueError, match="whole, positive bit width") as err:
            lookup(text)
        assert_clear(err.value)
    assert_usage_error(*run_cli("Llama-3.1-8B", f"--precision={text}"), "--precision")


@pytest.mark.parametrize(
    "text, bits", [("4", 4), ("16bit", 16), ("8 bits", 8), ("+3", 3)]
)
def test_whole_bit_widths_as_text_still_work(text, bits):
    assert get_precision(text).bits == bits


@pytest.mark.parametrize("query", ["16", "80", "16GB", "16 GB", "24gb 80gb"])
def test_a_number_alone_is_not_a_gpu_name(query):
    with pytest.raises(ValueError, match="unknown GPU"):
        get_gpu(query)
    assert_usage_error(*run_cli("Llama-3.1-8B", "--gpu", query), "--gpu")


@pytest.mark.parametrize(
    "query, name",
    [
        ("4090", "RTX 4090"),
        ("NVIDIA 3080", "RTX 3080 10GB"),
        ("H100 80GB", "H100 SXM 80GB"),
    ],
)
def test_a_model_number_that_is_an_alias_still_works(query, name):
    assert get_gpu(query).name == name


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--gpus", "abc"], "--gpus needs --gpu"),
        (["--gpus", "2"], "--gpus needs --gpu"),
        (["--utilization", "0.9"], "--utilization needs --gpu"),
        (["--gpu", ""], "--gpu must name a GPU"),
        (["--gpu", "   "], "--gpu must name a GPU"),
    ],
)
def test_flags_that_would_be_ignored_are_refused(args, needle):
    assert_usage_error(*run_cli("Llama-3.1-8B", *args), needle)


def test_json_listings_are_json():
    for flag, key in (
        ("--list-models", "id"),
        ("--list-gpus", "capacity_bytes"),
        ("--list-formats", "linear_bits"),
    ):
        status, out, _ = run_cli(flag, "--json")
        rows = json.loads(out)
        assert status == 0 and len(rows) > 10 and all(key in row for row in rows)
    assert "meta-llama/Llama-3.1-8B" in [
        r["id"] for r in json.loads(run_cli("--list-models", "--json")[1])
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["--list-models", "Llama-3.1-8B"],
        ["--list-gpus", "--gpu", "H100"],
        ["--list-models", "--list-gpus"],
        ["--list-formats", "--overhead", "flat"],
    ],
)
def test_listings_take_no_other_options(args):
    assert_usage_error(*run_cli(*args), "--list-")


def test_max_context_tells_an_unsplittable_count_from_nothing_fits():
    with pytest.raises(
        ValueError, match="does not divide the 32 attention heads"
    ) as err:
        max_context(LLAMA8, "H100", 3)
    assert_clear(err.value)
    with pytest.raises(ValueError, match="n_gpus"):
        max_batch(LLAMA8, "H100", 3, context=4096)
    # nothing fits: 405B's bf16 weights alone (810 GB) exceed one L4, so the answer is 0
    assert max_context("meta-llama/Llama-3.1-405B", "L4", 1) == 0


def test_defaulted_config_keys_are_stated(monkeypatch):
    # the reader records the keys that took class defaults; the answer must say which
    spec = ModelSpec.from_hf_config(TINY)
    object.__setattr__(spec, "defaulted_keys", ("tie_word_embeddings", "head_dim"))
    monkeypatch.setattr(cli, "get_model", lambda name: spec)
    monkeypatch.setattr(cli, "catalogue_entry", lambda name: {"config": TINY})
    status, out, _ = run_cli("anything")
    assert status == 0 and "class defaults used: tie_word_embeddings, head_dim" in out
    data = json.loads(run_cli("anything", "--json")[1])
    assert data["inputs"]["defaulted_keys"] == ["tie_word_embeddings", "head_dim"]
    assert data["estimate"]["defaulted_keys"] == ["tie_word_embeddings", "head_dim"]


def test_the_answer_states_its_inputs():
    status, out, _ = run_cli(
        "Llama-3.1-8B", "--precision", "Q4_K_M", "--context", "8,192", "--batch", "2"
    )
    head = out.splitlines()[0]
    assert status == 0
    assert (
        "Q4_K_M weights" in head
        and "bf16 (auto: the weights' compute dtype) KV cache" in head
    )
    assert "context 8,192 x batch 2" in head
    data = json.loads(run_cli("Llama-3.1-8B", "--kv-dtype", "fp8", "--json")[1])
    assert (
        data["inputs"]["kv_dtype"] == "fp8" and data["inputs"]["kv_dtype_auto"] is False
    )
    assert data["inputs"]["context"] == 4096 and data["inputs"]["batch"] == 1


# ======================================================================================
# Tracebacks
# ======================================================================================


def test_deeply_nested_config_is_refused(tmp_path):
    deep = tmp_path / "config.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match="nested too deeply") as err:
        ModelSpec.from_hf_config(deep)
    assert_clear(err.value)
    assert_usage_error(*run_cli("--config", str(deep)), "nested too deeply")
    assert "nested too deeply" in size("[" * 100_000).error
    loop: dict = {"model_type": "gemma3"}
    loop["text_config"] = loop
    with pytest.raises(ValueError, match="contains itself"):
        ModelSpec.from_hf_config(loop)


def test_bytes_past_a_float_stay_exact_integers():
    # V, H, L, n_h, n_kv, d_h, I large enough that the bytes pass 2^53 and 10^308
    v, h, n, nh, nkv, d, i = 10**15, 2**40, 3, 2**20, 2**10, 2**20, 10**16
    spec = ModelSpec("llama", v, h, n, nh, nkv, d, i)
    params = 2 * v * h + n * (2 * h * nh * d + 2 * h * nkv * d + 3 * h * i + 2 * h) + h
    e = estimate(spec, context=10**12, batch=10**9)
    assert e.params == params and e.weights_bytes == 2 * params
    assert e.kv_cache_bytes == 2 * n * nkv * d * 2 * 10**12 * 10**9
    assert all(isinstance(b, int) for b in e.parts().values())
    assert e.total_bytes == sum(e.parts().values()) > 10**37  # far past a float's 2^53
    assert str(e)  # prints without a float overflow
    flat = estimate(spec, overhead="flat", flat_factor=1e300)
    assert flat.overhead_bytes == flat.weights_bytes * (10**300 - 1)


def test_format_bytes_of_huge_numbers():
    assert format_bytes(10**400, "B") == f"{10**400:,} B"
    assert format_bytes(10**400, "GB", 1) == f"{10**391:,}.0 GB"
    assert format_bytes(3 * 2**60 + 2**59, "GiB", 2) == f"{3 * 2**30 + 2**29:,}.00 GiB"
    with pytest.raises(ValueError, match="too large for a float"):
        to_unit(10**400, "GB")
    with pytest.raises(ValueError, match="fewer than 3,000 digits") as err:
        format_bytes(10**5000)
    assert_clear(err.value)


def test_closed_pipe_is_silent():
    proc = subprocess.Popen(
        [sys.executable, "-m", "vramlib", "--list-models"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    proc.stdout.readline()
    proc.stdout.close()  # what `| head -1` does
    _, err = proc.communicate(timeout=60)
    assert err == b"" and proc.returncode == 0


def test_gpus_needed_with_a_spec_says_to_estimate_first():
    with pytest.raises(
        TypeError, match=r"est must be an Estimate.*vramlib\.estimate\(spec"
    ):
        gpus_needed(LLAMA8, "H100")
    with pytest.raises(TypeError, match="est must be an Estimate"):
        fit(LLAMA8, "H100")


def test_huge_numbers_are_refused_not_overflowed():
    for call in (
        lambda: custom_gpu("big", 10**400, 1000),
        lambda: estimate(LLAMA8, flat_factor=10**400),
        lambda: fit(estimate(LLAMA8), "H100", gpu_memory_utilization=10**400),
        lambda: estimate(LLAMA8, context=10**400),
        lambda: vramlib.rule_of_thumb_bytes(10**400, 16),
    ):
        with pytest.raises((TypeError, ValueError)) as err:
            call()
        assert_clear(err.value)
    with pytest.raises(ValueError, match="memory_gib") as err:
        custom_gpu("big", 1e15, 1000)  # 10^15 GiB: past any count of bytes here
    assert_clear(err.value)
    assert fit(estimate(LLAMA8), custom_gpu("big", 1e6, 1000)).fits  # a million GiB


def test_size_never_raises_on_the_listed_cases():
    for kwargs in (
        dict(
            model='{"model_type": "llama", "hidden_size": %d, "num_attention_heads": 4,'
            ' "num_hidden_layers": 2}' % 10**300
        ),
        dict(model="Llama-3.1-8B", gpu="16"),
        dict(model="Llama-3.1-8B", n_gpus=10**30),
        dict(model="Llama-3.1-8B", gpu_memory_utilization=10**400),
        dict(model={"model_type": "llama", 1: 2}),
        dict(model="[" * 10**5),
    ):
        r = size(**kwargs)
        assert not r.ok and r.error and not any(leak in r.error for leak in LEAKS), (
            r.error
        )


# ======================================================================================
# Hangs
# ======================================================================================


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_devices_and_fifos_are_not_read(tmp_path):
    fifo = tmp_path / "config.json"
    os.mkfifo(fifo)
    for path in (
        "/dev/zero",
        str(fifo),
        str(tmp_path),
    ):  # the folder's config.json is the FIFO
        start = time.perf_counter()
        with pytest.raises(ValueError, match="not a regular file"):
            ModelSpec.from_hf_config(path)
        assert time.perf_counter() - start < 2
    assert_usage_error(*run_cli("--config", "/dev/zero"), "not a regular file")


def test_oversized_config_is_refused(tmp_path):
    big = tmp_path / "config.json"
    big.write_text(json.dumps({**TINY, "pad": "x" * (_check.MAX_JSON_BYTES + 1)}))
    with pytest.raises(ValueError, match="larger than"):
        ModelSpec.from_hf_config(big)


def test_max_gpus_is_bounded_and_fast():
    e = estimate("meta-llama/Llama-3.1-405B")
    with pytest.raises(ValueError, match="max_gpus must be at most"):
        gpus_needed(e, "T4", max_gpus=10**30)
    start = time.perf_counter()
    tiny = custom_gpu(
        "tiny", 1, 100
    )  # 1 GiB each: 128 of them (its heads) hold no 810 GB
    with pytest.raises(ValueError, match="does not fit on up to"):
        gpus_needed(e, tiny, max_gpus=MAX_GPUS_LIMIT)
    assert time.perf_counter() - start < 5


# ======================================================================================
# Unclear errors
# ======================================================================================


@pytest.mark.parametrize(
    "args, flag, internal",
    [
        (["--gpu", "H100", "--utilization", "2"], "--utilization", None),
        (["--gpu", "H100", "--utilization", "0,9"], "--utilization", None),
        (["--kv-dtype", "q4"], "--kv-dtype", "precision'"),
        (["--precision", "fp9"], "--precision", "name_or_bits"),
        (["--gpu", "h10"], "--gpu", "for name"),
        (["--context", "0,9"], "--context", None),
        (["--context", "1" * 5000], "--context", None),
        (["--gpus", "3" * 5000, "--gpu", "H100"], "--gpus", None),
    ],
)
def test_cli_messages_name_the_flag(args, flag, internal):
    status, out, err = run_cli("Llama-3.1-8B", *args)
    assert_usage_error(status, out, err, flag)
    assert internal is None or internal not in err
    assert "gpu_memory_utilization must" not in err


def test_library_messages_name_the_callers_argument():
    with pytest.raises(ValueError, match="for kv_dtype") as err:
        estimate(LLAMA8, kv_dtype="q4")
    assert "for precision" not in str(err.value)
    with pytest.raises(ValueError, match="for gpu"):
        fit(estimate(LLAMA8), "h10")
    with pytest.raises(ValueError, match="for precision"):
        estimate(LLAMA8, precision="fp9")
    assert "for model" in size("lama-3.1-8b").error


def test_long_values_are_cut_when_echoed():
    long = "x" * 100_000
    for call in (
        lambda: get_gpu(long),
        lambda: get_format(long),
        lambda: estimate(LLAMA8, context=long),
        lambda: ModelSpec.from_hf_config({**TINY, "model_type": long}),
    ):
        with pytest.raises((TypeError, ValueError)) as err:
            call()
        assert_clear(err.value)
        assert "x" * 250 not in str(err.value)
    status, out, err = run_cli("Llama-3.1-8B", "--gpu", long)
    assert_usage_error(status, out, err)
    assert "x" * 250 not in err


def test_hostile_types_leak_nothing():
    for value in ({}, [], {"a": 1}, object(), b"bf16", 2.5, float("nan"), -1, 10**5000):
        for call in (
            get_format,
            get_precision,
            get_gpu,
            vramlib.unit_bytes
            if hasattr(vramlib, "unit_bytes")
            else vramlib.units.unit_bytes,
        ):
            try:
                call(value)
            except (TypeError, ValueError) as err:
                assert_clear(err)


# ======================================================================================
# Valid input once refused
# ======================================================================================


def test_kv_dtype_auto_is_vllms_default():
    auto = estimate(LLAMA8, kv_dtype="auto")
    assert auto.kv_dtype == "bf16" and auto.kv_dtype_auto
    assert auto.total_bytes == estimate(LLAMA8).total_bytes
    assert estimate(LLAMA8, precision="fp32", kv_dtype="AUTO").kv_dtype == "fp32"
    status, out, _ = run_cli("Llama-3.1-8B", "--kv-dtype", "auto")
    assert status == 0 and "(auto: the weights' compute dtype)" in out


def test_config_with_a_byte_order_mark(tmp_path):
    path = tmp_path / "config.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(TINY).encode())
    assert ModelSpec.from_hf_config(path).hidden_size == 64
    assert run_cli("--config", str(path))[0] == 0
    assert size("\ufeff" + json.dumps(TINY)).ok


def test_empty_path_is_not_the_current_folder(tmp_path, monkeypatch):
    (tmp_path / "config.json").write_text(json.dumps(TINY))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="empty path"):
        ModelSpec.from_hf_config("")
    assert_usage_error(*run_cli("--config", ""), "--config")


# ======================================================================================
# Properties
# ======================================================================================

garbage = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([10**400, -(10**400), 2**53 + 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            " ",
            "-5",
            "0,9",
            "1e400",
            "nan",
            "auto",
            "H100",
            "bf16",
            "x" * 500,
            "[[[[",
            "{}",
            "16",
            "Q4_K_M",
        ]
    ),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow])
@given(
    which=st.sampled_from(
        [
            "model",
            "precision",
            "kv_dtype",
            "context",
            "batch",
            "gpu",
            "n_gpus",
            "gpu_memory_utilization",
            "prefill_chunk",
        ]
    ),
    value=garbage,
)
def test_size_never_raises(which, value):
    args = dict(
        model="Llama-3.1-8B",
        precision="int4",
        kv_dtype=None,
        context=1024,
        batch=1,
        gpu="L4",
        n_gpus=1,
        gpu_memory_utilization=0.9,
        prefill_chunk=None,
    )
    r = size(**{**args, which: value})
    assert isinstance(r, vramlib.SizingResult)
    assert len(r.error) < 1500 and not any(leak in r.error for leak in LEAKS), r.error
    if r.ok:
        assert r.per_gpu_total_bytes == sum(r.per_gpu_bytes.values())
        assert all(isinstance(b, int) and b >= 0 for b in r.per_gpu_bytes.values())


API = {
    "estimate": (
        lambda v, k: estimate(**{"model": LLAMA8, k: v}),
        [
            "model",
            "precision",
            "context",
            "batch",
            "kv_dtype",
            "prefill_chunk",
            "overhead",
            "flat_factor",
        ],
    ),
    "fit": (
        lambda v, k: fit(**{"est": estimate(LLAMA8), "gpu": "H100", k: v}),
        ["est", "gpu", "n_gpus", "gpu_memory_utilization"],
    ),
    "gpus_needed": (
        lambda v, k: gpus_needed(**{"est": estimate(LLAMA8), "gpu": "H100", k: v}),
        ["est", "gpu", "max_gpus", "gpu_memory_utilization"],
    ),
    "max_context": (
        lambda v, k: max_context(**{"model": LLAMA8, "gpu": "L4", k: v}),
        ["model", "gpu", "n_gpus", "batch", "limit", "precision"],
    ),
    "format_bytes": (
        lambda v, k: format_bytes(**{"n_bytes": 10**9, k: v}),
        ["n_bytes", "unit", "digits"],
    ),
    "custom_gpu": (
        lambda v, k: custom_gpu(
            **{"name": "x", "memory_gib": 24, "bandwidth_gb_s": 900, k: v}
        ),
        ["name", "memory_gib", "bandwidth_gb_s"],
    ),
    "fit_table": (
        lambda v, k: fit_table(
            **{"models": ["Llama-3.1-8B"], "gpus": ["L4"], "precisions": ["int4"], k: v}
        ),
        ["models", "gpus", "precisions", "context", "max_gpus"],
    ),
    "from_hf_config": (
        lambda v, k: ModelSpec.from_hf_config({**TINY, k: v}),
        list(TINY) + ["head_dim", "tie_word_embeddings", "sliding_window"],
    ),
    "rule": (
        lambda v, k: vramlib.rule_of_thumb_bytes(**{"params": 10**9, "bits": 16, k: v}),
        ["params", "bits", "overhead"],
    ),
    "decode": (
        lambda v, k: vramlib.decode_tokens_per_s_bound(
            **{
                "model": LLAMA8,
                "gpu": "H100",
                "precision": "bf16",
                "context": 1024,
                k: v,
            }
        ),
        ["gpu", "precision", "context", "batch", "n_gpus", "kv_dtype"],
    ),
}


@settings(max_examples=250, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_public_api_raises_only_clear_type_and_value_errors(data):
    name = data.draw(st.sampled_from(sorted(API)))
    call, keys = API[name]
    key = data.draw(st.sampled_from(keys))
    value = data.draw(garbage)
    try:
        call(value, key)
    except (TypeError, ValueError) as err:
        assert_clear(err)


flag_values = {
    "--precision": st.sampled_from(
        ["bf16", "fp8", "int4", "Q4_K_M", "-5", "0,9", "3", "", "auto"]
    ),
    "--context": st.sampled_from(
        [
            "1",
            "4096",
            "4,096",
            "4_096",
            "0",
            "-1",
            "12k",
            "1e3",
            "0,9",
            "99999999999999999999",
            "131072",
            "200000",
        ]
    ),
    "--batch": st.sampled_from(["1", "8", "0", "x", "65536"]),
    "--kv-dtype": st.sampled_from(["auto", "fp8", "q4_0", "bf16", "q4", ""]),
    "--gpu": st.sampled_from(["H100", "L4", "RTX 4090", "16", "", "v100", "T4"]),
    "--gpus": st.sampled_from(["1", "2", "3", "8", "0", "abc", "99999"]),
    "--utilization": st.sampled_from(["0.9", "1", "2", "0", "0,9", "nan", ".5"]),
    "--overhead": st.sampled_from(["vramlib", "flat", "flatt"]),
}


@st.composite
def argvs(draw):
    argv = [
        draw(
            st.sampled_from(
                [
                    "Llama-3.1-8B",
                    "Qwen2.5-7B-Instruct",
                    "gemma-2-9b",
                    "lama",
                    "Mixtral-8x7B-v0.1",
                ]
            )
        )
    ]
    for flag in draw(
        st.lists(st.sampled_from(sorted(flag_values)), max_size=4, unique=True)
    ):
        argv += [flag, draw(flag_values[flag])]
    argv += draw(
        st.lists(
            st.sampled_from(["--json", "--list-gpus", "--bogus", "--config"]),
            max_size=1,
        )
    )
    return argv


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(argv=argvs())
def test_cli_answers_or_refuses_in_one_line(argv):
    status, out, err = run_cli(*argv)
    assert status in (0, 2), (argv, err)
    if status == 2:
        assert_usage_error(status, out, err)
        assert not any(leak in err for leak in LEAKS), err
        return
    assert err == ""
    flat = "flat" in argv
    if flat:
        assert "longest context that fits" not in out and "max_context" not in out
        assert not {"--context", "--batch", "--kv-dtype"} & set(argv)
    if "--gpu" not in argv:
        assert not {"--gpus", "--utilization"} & set(argv)
    if "--json" in argv:
        data = json.loads(out)
        parts = data["estimate"]["parts_bytes"]
        assert data["estimate"]["total_bytes"] == sum(parts.values())
        limit = data["inputs"]["max_position_embeddings"]
        if "max_context" in data and limit:
            assert data["max_context"] <= limit


config_values = st.one_of(
    st.integers(min_value=-3, max_value=10**6),
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True),
    st.text(max_size=5),
    st.sampled_from([10**19, 2**53 + 1, 1e400]),
)


@st.composite
def configs(draw):
    cfg = {
        "model_type": draw(st.sampled_from(SUPPORTED_MODEL_TYPES)),
        "hidden_size": draw(st.sampled_from([64, 128, 96])),
        "num_hidden_layers": draw(st.integers(1, 4)),
        "num_attention_heads": draw(st.sampled_from([1, 2, 4, 8])),
    }
    for key in draw(
        st.lists(
            st.sampled_from(
                [
                    "vocab_size",
                    "intermediate_size",
                    "num_key_value_heads",
                    "head_dim",
                    "tie_word_embeddings",
                    "sliding_window",
                    "num_local_experts",
                    "num_experts_per_tok",
                    "max_position_embeddings",
                    "hidden_size",
                ]
            ),
            max_size=4,
            unique=True,
        )
    ):
        cfg[key] = draw(config_values)
    return cfg


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=configs(), context=st.integers(1, 10**6), batch=st.integers(1, 64))
def test_generated_configs_give_exact_bytes_or_a_clear_error(cfg, context, batch):
    try:
        spec = ModelSpec.from_hf_config(cfg)
    except (TypeError, ValueError) as err:
        assert_clear(err)
        return
    e = estimate(spec, context=context, batch=batch)
    parts = e.parts()
    assert all(isinstance(b, int) and b >= 0 for b in parts.values())
    assert e.total_bytes == sum(parts.values())
    # bf16 stores every parameter in two bytes: nothing rounded, at any size
    assert e.weights_bytes == 2 * spec.param_count()
    assert estimate(spec, context=context + 1, batch=batch).total_bytes >= e.total_bytes
    r = size(cfg, "bf16", "auto", min(context, 2**20), batch, "H100", 1)
    assert isinstance(r, vramlib.SizingResult)
    if r.ok and r.max_context and r.model_max_context:
        assert r.max_context <= r.model_max_context


@settings(max_examples=150)
@given(
    n=st.integers(min_value=2**53, max_value=10**600),
    unit=st.sampled_from(["B", "kB", "GB", "TiB", "GiB"]),
    digits=st.integers(0, 4),
)
def test_format_bytes_of_any_integer_is_exact(n, unit, digits):
    text = format_bytes(n, unit, digits)
    number, shown_unit = text.rsplit(" ", 1)
    assert shown_unit == unit
    value = Fraction(number.replace(",", ""))
    size_of = vramlib.UNITS[unit]
    exact = Fraction(n, size_of)
    # rounded to the digits shown (a float's last bit of error allowed where a float is
    # exact)
    assert abs(value - exact) <= Fraction(1, 2 * 10**digits) * (1 + Fraction(1, 10**6))


@settings(max_examples=150)
@given(text=st.text(max_size=30))
def test_any_string_is_a_precision_or_a_clear_error(text):
    for lookup in (get_format, get_precision, get_gpu):
        try:
            lookup(text)
        except (TypeError, ValueError) as err:
            assert_clear(err)


# ======================================================================================
# Found by the properties: more of the same classes
# ======================================================================================


@pytest.mark.parametrize(
    "data, needle",
    [
        ({}, "'models' list"),
        ({"models": "x"}, "'models' list"),
        ({"models": [5]}, "must be a dict"),
        ({"models": [{"config": {}}]}, "'id' string"),
        ({"models": [{"id": "a/b"}]}, "'config' dict"),
        ({"models": [{"id": "a/b", "config": {}, "aliases": "b"}]}, "'aliases'"),
        ({"models": [{"id": "a", "config": {}}, {"id": "a", "config": {}}]}, "twice"),
        ([], "catalogue dict"),
    ],
)
def test_a_malformed_private_catalogue_is_named(data, needle):
    # the check models.get_model(name, data=...) is to call before indexing ``data``
    with pytest.raises((TypeError, ValueError), match=needle) as err:
        _check.catalogue_data(data)
    assert_clear(err.value)
    good = {"models": [{"id": "org/tiny", "config": TINY, "aliases": ["tiny"]}]}
    assert _check.catalogue_data(good) is good


def test_tables_refuse_what_they_would_misprint():
    from vramlib.tables import markdown_table, text_table

    for call in (
        lambda: text_table(["a", "b"], [["1", "2"]], align="l"),
        lambda: markdown_table(["a"], [["1"]], align="x"),
        lambda: text_table("ab", [["1", "2"]]),
        lambda: text_table(["a"], 5),
        lambda: markdown_table(["a"], [["1"]], align=7),
    ):
        with pytest.raises((TypeError, ValueError)) as err:
            call()
        assert_clear(err.value)
    assert (
        markdown_table(["a", "b"], [["1", "2"]], align="ll").splitlines()[1]
        == "|:--|:--|"
    )


def test_tensor_parallel_problem_checks_its_count():
    from vramlib.estimate import tensor_parallel_problem

    for bad in (0, None, False, "2"):
        with pytest.raises((TypeError, ValueError), match="tensor_parallel") as err:
            tensor_parallel_problem(LLAMA8, bad)
        assert_clear(err.value)


def test_speed_compares_an_estimates_inputs_without_leaking():
    with pytest.raises(TypeError, match="context must be an integer") as err:
        vramlib.decode_tokens_per_s_bound(estimate(LLAMA8), "H100", context="RÄ")
    assert_clear(err.value)


def test_interview_longest_context_names_the_models_limit():
    from vramlib.interview import answer

    text = answer("max-context-70b").text
    # Llama 3.1 70B's config.json: max_position_embeddings 131072
    assert "built for 131,072 (its max_position_embeddings)" in text
    assert text.endswith("the longest it can serve is 131,072 tokens.")


@pytest.mark.parametrize("bad", [{}, {"models": 3}, {"models": [{"id": "x"}]}, []])
def test_a_malformed_private_catalogue_is_a_clear_error(bad):
    with pytest.raises((TypeError, ValueError), match="data"):
        vramlib.get_model("x", data=bad)
    with pytest.raises((TypeError, ValueError), match="data"):
        vramlib.model_names(data=bad)


def test_mla_expanded_must_be_a_bool():
    spec = vramlib.get_model("DeepSeek-V3")
    with pytest.raises(TypeError, match="mla_expanded"):
        vramlib.kv_cache_bytes(spec, tokens=5, mla_expanded="no")
