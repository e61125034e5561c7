from fractions import Fraction

import pytest
from hypothesis import given, strategies as st

import vramlib
from vramlib.precisions import get_precision, precision_names


@pytest.mark.parametrize("name,bits", [("fp32", 32), ("tf32", 32), ("fp16", 16), ("bf16", 16), ("fp8", 8),
                                       ("fp8_e5m2", 8), ("int8", 8), ("int4", 4),
                                       ("q8_0", Fraction(34 * 8, 32)), ("q4_0", Fraction(18 * 8, 32))])
def test_bits_per_element_from_the_storage_layout(name, bits):
    assert get_precision(name).bits == bits


def test_tf32_is_stored_in_four_bytes():
    assert get_precision("tf32").bytes_for(10) == 40


@pytest.mark.parametrize("alias,name", [("BFloat16", "bf16"), ("float16", "fp16"), ("half", "fp16"),
                                        ("FP8-E4M3", "fp8"), ("float8_e5m2", "fp8_e5m2"), ("16", "fp16"),
                                        (32, "fp32"), (8, "int8"), (4, "int4"), ("4bit", "int4")])
def test_aliases_and_bit_widths(alias, name):
    assert get_precision(alias).name == name


def test_any_bit_width_packs_without_padding():
    p = get_precision(3)
    assert p.bits == 3
    assert p.bytes_for(8) == 3          # 8 values × 3 bits = 24 bits = 3 bytes
    assert p.bytes_for(9) == 4          # 27 bits round up to 4 bytes


def test_block_types_round_up_to_whole_blocks():
    assert get_precision("q8_0").bytes_for(32) == 34
    assert get_precision("q8_0").bytes_for(33) == 68
    assert get_precision("int4").bytes_for(3) == 2
    assert get_precision("q4_0").bytes_for(1) == 18
    assert get_precision("bf16").bytes_for(0) == 0


@given(st.integers(1, 64), st.integers(0, 10**9))
def test_bytes_for_is_bits_times_elements_rounded_up_to_a_block(bits, n):
    p = get_precision(bits)
    exact = Fraction(bits * n, 8)
    assert exact <= p.bytes_for(n) < exact + 1


@given(st.integers(1, 63), st.integers(1, 10**9))
def test_more_bits_never_take_fewer_bytes(bits, n):
    assert get_precision(bits).bytes_for(n) <= get_precision(bits + 1).bytes_for(n)


def test_unknown_name_suggests_the_closest():
    with pytest.raises(ValueError, match=r"precision.*Did you mean 'bf16'"):
        get_precision("bf61")


@pytest.mark.parametrize("bad,exc", [(True, TypeError), (None, TypeError), (2.5, ValueError), ([16], TypeError),
                                     (0, ValueError), (-8, ValueError), (65, ValueError)])
def test_bad_precisions_raise_with_the_argument_named(bad, exc):
    with pytest.raises(exc, match="precision|bits"):
        get_precision(bad)


def test_every_named_precision_has_a_source():
    for name in precision_names():
        assert get_precision(name).source, name


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_bytes_for_rejects_bad_counts(bad):
    with pytest.raises((TypeError, ValueError), match="n_elements"):
        vramlib.get_precision("bf16").bytes_for(bad)
