import pytest
from hypothesis import given, settings, strategies as st

from vramlib.estimate import estimate
from vramlib.fit import fit, gpus_needed, max_batch, max_context
from vramlib.gpus import get_gpu, gpu_names
from vramlib.models import get_model

LLAMA8 = get_model("Llama-3.1-8B")
L405 = get_model("meta-llama/Llama-3.1-405B")


@pytest.mark.parametrize(
    "precision,gpu,n",
    [
        ("bf16", "MI300X", 8),
        ("fp8", "H100 SXM", 8),
        ("fp8", "A100 80GB", 8),
        ("int4", "A100 80GB", 4),
        ("int4", "H100 SXM", 4),
    ],
)
def test_seed_000_llama_405b_claims(precision, gpu, n):
    # Seed 000: 8 x MI300X at 16 bits, 8 x A100/H100 80GB at 8 bits, 4 x 80GB at 4 bits
    e = estimate(L405, precision=precision, context=4096)
    assert fit(e, gpu, n).fits
    assert gpus_needed(e, gpu) == n


def test_seed_001_70b_on_two_a100_fits_only_because_80gb_is_80gib():
    e = estimate("meta-llama/Llama-2-70b-hf", precision=16, overhead="flat")
    a100 = get_gpu("A100 SXM 80GB")
    assert fit(e, a100, 2).fits
    per_gpu = fit(e, a100, 2).per_gpu_bytes
    assert per_gpu > 80 * 10**9  # more than "80 GB" read as 10^9 bytes
    assert per_gpu <= a100.capacity_bytes  # but within 80 GiB


def test_impossible_tensor_parallel_size_is_explained():
    f = fit(estimate(LLAMA8), "H100", 3)
    assert not f.fits and "does not divide the 32 attention heads" in f.reason
    assert "does not fit" in f.verdict()


@settings(max_examples=60)
@given(
    name=st.sampled_from(
        ["Llama-3.1-8B", "Mixtral-8x7B-v0.1", "gemma-2-27b", "Qwen3-30B-A3B"]
    ),
    gpu=st.sampled_from(gpu_names()),
    n=st.sampled_from([1, 2, 4, 8]),
    context=st.integers(1, 131072),
    batch=st.integers(1, 64),
    util=st.floats(0.5, 1.0),
)
def test_fit_never_claims_a_fit_over_capacity(name, gpu, n, context, batch, util):
    f = fit(
        estimate(name, context=context, batch=batch),
        gpu,
        n,
        gpu_memory_utilization=util,
    )
    if f.fits:
        assert f.per_gpu_bytes <= get_gpu(gpu).capacity_bytes * util
        assert f.headroom_bytes >= 0


@pytest.mark.parametrize("gpu,n", [("RTX 4090", 1), ("L4", 1), ("A100 40GB", 2)])
def test_max_context_is_the_largest_that_fits(gpu, n):
    c = max_context(LLAMA8, gpu, n)
    assert c > 0
    assert fit(estimate(LLAMA8, context=c), gpu, n).fits
    assert not fit(estimate(LLAMA8, context=c + 1), gpu, n).fits


def test_max_batch_is_the_largest_that_fits():
    b = max_batch(LLAMA8, "H100", 1, context=8192)
    assert fit(estimate(LLAMA8, context=8192, batch=b), "H100", 1).fits
    assert not fit(estimate(LLAMA8, context=8192, batch=b + 1), "H100", 1).fits


def test_nothing_fits_gives_zero():
    assert max_context(L405, "RTX 4090", 1) == 0
    assert max_batch(L405, "RTX 4090", 1, context=1024) == 0


def test_gpus_needed_explains_when_nothing_works():
    with pytest.raises(ValueError, match="does not fit on up to 8"):
        gpus_needed(estimate(L405), "T4", max_gpus=8)


def test_utilization_reserves_memory():
    e = estimate(LLAMA8)
    assert (
        fit(e, "H100", 1, gpu_memory_utilization=0.5).usable_bytes
        == get_gpu("H100").capacity_bytes // 2
    )


@pytest.mark.parametrize(
    "call,arg",
    [
        (lambda: fit("not an estimate", "H100"), "est"),
        (lambda: fit(estimate(LLAMA8), "H1000"), "H100"),
        (lambda: fit(estimate(LLAMA8), "H100", 0), "n_gpus"),
        (
            lambda: fit(estimate(LLAMA8), "H100", gpu_memory_utilization=1.5),
            "gpu_memory_utilization",
        ),
        (
            lambda: fit(estimate(LLAMA8), "H100", gpu_memory_utilization=0),
            "gpu_memory_utilization",
        ),
        (lambda: gpus_needed(estimate(LLAMA8), "H100", max_gpus=0), "max_gpus"),
        (lambda: max_context(LLAMA8, "H100", limit=0), "limit"),
        (lambda: max_context(LLAMA8, "H100", batch=0), "batch"),
        (lambda: max_batch(LLAMA8, "H100", context=0), "context"),
        (lambda: max_batch(LLAMA8, "H100", context=10, n_gpus=True), "n_gpus"),
    ],
)
def test_bad_input_names_the_argument(call, arg):
    with pytest.raises((TypeError, ValueError), match=arg):
        call()
