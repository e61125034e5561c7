import math

import pytest
from hypothesis import given, strategies as st

import vramlib


@pytest.mark.parametrize("bits,gb", [(32, 1944), (16, 972), (8, 486), (4, 243)])
def test_seed_000_llama_405b_table(bits, gb):
    # 405e9 × 4 B / (32/Q) × 1.2, in GB of 10**9 bytes, as printed in the article
    assert vramlib.rule_of_thumb_bytes(405 * 10**9, bits) == gb * 10**9


def test_seed_001_70b_at_16_bits_is_168_gb():
    assert vramlib.rule_of_thumb_bytes(70 * 10**9, 16) == 168 * 10**9


def test_overhead_one_is_the_weights_alone():
    assert vramlib.rule_of_thumb_bytes(7 * 10**9, "bf16", overhead=1.0) == 14 * 10**9


def test_precision_names_work_as_q():
    assert vramlib.rule_of_thumb_bytes(10**9, "fp8") == vramlib.rule_of_thumb_bytes(
        10**9, 8
    )


@given(st.integers(1, 10**13), st.integers(1, 32), st.floats(1.0, 3.0))
def test_matches_p_times_q_over_8_times_k(p, q, k):
    assert math.isclose(
        vramlib.rule_of_thumb_bytes(p, q, overhead=k),
        p * q / 8 * k,
        rel_tol=1e-9,
        abs_tol=1,
    )


@given(st.integers(1, 10**13), st.integers(1, 31))
def test_monotonic_in_bits(p, q):
    assert vramlib.rule_of_thumb_bytes(p, q) <= vramlib.rule_of_thumb_bytes(p, q + 1)


@pytest.mark.parametrize(
    "kwargs,exc,arg",
    [
        (dict(params=0, bits=16), ValueError, "params"),
        (dict(params=-5, bits=16), ValueError, "params"),
        (dict(params=float("nan"), bits=16), ValueError, "params"),
        (dict(params=float("inf"), bits=16), ValueError, "params"),
        (dict(params=True, bits=16), TypeError, "params"),
        (dict(params="70B", bits=16), TypeError, "params"),
        (dict(params=10**9, bits=0), ValueError, "bits"),
        (dict(params=10**9, bits="fp61"), ValueError, "precision"),
        (dict(params=10**9, bits=16, overhead=0.9), ValueError, "overhead"),
        (dict(params=10**9, bits=16, overhead=float("nan")), ValueError, "overhead"),
        (dict(params=10**9, bits=16, overhead="1.2"), TypeError, "overhead"),
    ],
)
def test_bad_input_names_the_argument(kwargs, exc, arg):
    with pytest.raises(exc, match=arg):
        vramlib.rule_of_thumb_bytes(**kwargs)


@given(
    st.one_of(
        st.booleans(),
        st.text(),
        st.none(),
        st.floats(max_value=0.0),
        st.integers(max_value=0),
    )
)
def test_any_non_positive_or_non_number_params_is_refused(bad):
    with pytest.raises((TypeError, ValueError), match="params"):
        vramlib.rule_of_thumb_bytes(bad, 16)
