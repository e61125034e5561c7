import math
from fractions import Fraction

import pytest
from hypothesis import given, strategies as st

import vramlib
from vramlib import units


def test_unit_sizes_are_the_si_and_iec_definitions():
    assert units.UNITS["GB"] == 1_000_000_000
    assert units.UNITS["GiB"] == 1024 * 1024 * 1024
    assert units.UNITS["TiB"] == 1024**4
    assert units.UNITS["kB"] == 1000 and units.UNITS["KiB"] == 1024


@pytest.mark.parametrize(
    "spelling,expected",
    [
        ("gb", 10**9),
        ("GiB", 2**30),
        ("gib", 2**30),
        ("MiB", 2**20),
        ("bytes", 1),
        ("gigabyte", 10**9),
    ],
)
def test_forgiving_unit_spellings(spelling, expected):
    assert units.unit_bytes(spelling) == expected


def test_seed_003_division_is_gib_not_gb():
    # 168e9 bytes divided by 1024**3, as the Chinese repost does: 156.46…
    assert vramlib.format_bytes(168_000_000_000, "GiB") == "156.5 GiB"
    assert vramlib.format_bytes(168_000_000_000, "GB") == "168.0 GB"


def test_from_unit_is_exact_integer_bytes():
    assert vramlib.from_unit(80, "GiB") == 80 * 1024**3
    assert vramlib.from_unit(1.5, "GB") == 1_500_000_000
    assert isinstance(vramlib.from_unit(3, "MiB"), int)


def test_format_bytes_picks_a_prefix_in_each_family():
    assert units.format_bytes(1536, "binary") == "1.5 KiB"
    assert units.format_bytes(2_500_000, "decimal") == "2.5 MB"
    assert units.format_bytes(12, "decimal") == "12 B"


@pytest.mark.parametrize("prefix,n", [("k", 1), ("M", 2), ("G", 3), ("T", 4)])
def test_binary_over_decimal_grows_as_1024_over_1000_per_prefix(prefix, n):
    assert units.binary_over_decimal(prefix) == Fraction(1024**n, 1000**n)
    assert math.isclose(float(units.binary_over_decimal(prefix)), 1.024**n)


@given(st.integers(min_value=0, max_value=10**16))
def test_gib_is_smaller_than_gb_by_the_exact_factor(n):
    assert math.isclose(vramlib.gb(n), vramlib.gib(n) * 1.073741824, rel_tol=1e-12)


@given(
    st.floats(min_value=0, max_value=1e6, allow_nan=False),
    st.sampled_from(list(units.UNITS)),
)
def test_round_trip_loses_less_than_a_byte(value, unit):
    b = vramlib.from_unit(value, unit)
    assert 0 <= value * units.UNITS[unit] - b < 1 + 1e-6 * value * units.UNITS[unit]


@pytest.mark.parametrize("bad", ["Gbit", "gigabits", "GX"])
def test_unknown_unit_names_the_argument_and_suggests(bad):
    with pytest.raises(ValueError, match=r"unit.*Accepted: .*GiB"):
        units.unit_bytes(bad)


def test_unit_suggestion_for_a_typo():
    with pytest.raises(ValueError, match="Did you mean 'GiB'"):
        units.unit_bytes("GiiB")


@pytest.mark.parametrize(
    "bad,exc",
    [
        (-1, ValueError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        (True, TypeError),
        ("12", TypeError),
        (None, TypeError),
    ],
)
def test_bad_byte_counts_name_the_argument(bad, exc):
    with pytest.raises(exc, match="n_bytes"):
        vramlib.to_unit(bad, "GB")
    with pytest.raises(exc, match="n_bytes"):
        vramlib.format_bytes(bad)


@pytest.mark.parametrize("bad", [5, None, ""])
def test_unit_must_be_a_string(bad):
    with pytest.raises((TypeError, ValueError), match="unit"):
        units.unit_bytes(bad)
