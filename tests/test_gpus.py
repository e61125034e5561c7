"""The GPU catalogue: lookups, units, and the facts' internal consistency.

Expected values are written out from the sources (datasheets, nvidia-smi logs) or computed here by
independent arithmetic, never read back from the code under test.
"""
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vramlib import _check
from vramlib.gpus import GPU, all_gpus, custom_gpu, get_gpu, gpu_names

DATA = json.loads((Path(__file__).parent.parent / "vramlib" / "data" / "gpus.json").read_text("utf-8"))
ROWS = DATA["gpus"]


# --- every name and alias in the data file resolves to its own entry ---------------------------

@pytest.mark.parametrize("row", ROWS, ids=[r["name"] for r in ROWS])
def test_every_alias_resolves_to_its_entry(row):
    for spelling in [row["name"], *row["aliases"]]:
        assert get_gpu(spelling).name == row["name"], spelling
        # and in other cases / separators
        assert get_gpu(spelling.upper()).name == row["name"], spelling
        assert get_gpu(spelling.replace(" ", "-")).name == row["name"], spelling


def test_no_spelling_is_shared_by_two_entries():
    seen = {}
    for row in ROWS:
        for spelling in [row["name"], *row["aliases"]]:
            key = _check.normalise(spelling)
            assert seen.setdefault(key, row["name"]) == row["name"], spelling


def test_gpu_names_are_the_canonical_names_in_order():
    assert gpu_names() == [r["name"] for r in ROWS]
    assert [g.name for g in all_gpus()] == gpu_names()


def test_catalogue_covers_the_required_cards():
    required = ["RTX 2080", "RTX 3060 12GB", "RTX 3080 10GB", "RTX 3090", "RTX 3090 Ti", "RTX 4090",
                "RTX 5090", "RTX A4000", "RTX A6000", "L4", "L40S", "T4", "A10G", "V100 SXM2 16GB",
                "V100 SXM2 32GB", "A100 SXM 40GB", "A100 SXM 80GB", "H100 SXM 80GB", "H100 PCIe 80GB",
                "H100 NVL 94GB", "H200 141GB", "B200 180GB", "MI250X", "MI300X", "MI325X",
                "M2 Ultra 192GB", "M3 Max 128GB", "M4 Max 128GB",
                # what people buy or rent for 2025-2026 models
                "B300 288GB", "GB200 186GB", "GB300 279GB", "H20 96GB", "MI355X",
                "RTX PRO 6000 Blackwell 96GB", "DGX Spark 128GB",
                "Ryzen AI Max+ 395 128GB", "M3 Ultra 512GB"]
    assert set(required) <= set(gpu_names())


# --- forgiving names -------------------------------------------------------------------------------

@pytest.mark.parametrize("query, expected", [
    ("h100", "H100 SXM 80GB"),                    # family default
    ("H100-80GB", "H100 SXM 80GB"),
    ("NVIDIA H100 80GB HBM3", "H100 SXM 80GB"),   # what nvidia-smi prints
    ("h100 sxm", "H100 SXM 80GB"),
    ("H100 80 GB", "H100 SXM 80GB"),              # size split from its unit
    ("h100 pcie", "H100 PCIe 80GB"),
    ("NVIDIA H100 PCIe", "H100 PCIe 80GB"),
    ("h100 nvl", "H100 NVL 94GB"),
    ("a100", "A100 SXM 80GB"),                    # family default
    ("a100 sxm", "A100 SXM 80GB"),
    ("a100 80", "A100 SXM 80GB"),
    ("A100 40GB", "A100 SXM 40GB"),
    ("NVIDIA A100-SXM4-80GB", "A100 SXM 80GB"),
    ("a100 pcie", "A100 PCIe 80GB"),
    ("rtx 4090", "RTX 4090"),
    ("4090", "RTX 4090"),
    ("NVIDIA GeForce RTX 4090", "RTX 4090"),
    ("rtx 3090", "RTX 3090"),                     # not the 3090 Ti
    ("3090 ti", "RTX 3090 Ti"),
    ("geforce rtx 3090 ti", "RTX 3090 Ti"),
    ("rtx 3060", "RTX 3060 12GB"),
    ("a6000", "RTX A6000"),
    ("Tesla T4", "T4"),
    ("l4", "L4"),                                 # not the L40S
    ("l40s", "L40S"),
    ("v100 32gb", "V100 SXM2 32GB"),
    ("h200", "H200 141GB"),
    ("b200", "B200 180GB"),
    ("mi300x", "MI300X"),
    ("AMD Instinct MI325X", "MI325X"),
    ("m2 ultra", "M2 Ultra 192GB"),
    ("Apple M4 Max", "M4 Max 128GB"),
    ("m3 max", "M3 Max 128GB"),
    ("b300", "B300 288GB"),
    ("gb200", "GB200 186GB"),                # the superchip's GPU, not the B200
    ("b200", "B200 180GB"),
    ("NVIDIA GB300", "GB300 279GB"),
    ("h20", "H20 96GB"),                          # not the H200
    ("h200", "H200 141GB"),
    ("AMD Instinct MI355X", "MI355X"),
    ("rtx pro 6000", "RTX PRO 6000 Blackwell 96GB"),
    ("dgx spark", "DGX Spark 128GB"),
    ("AMD Ryzen AI Max+ 395", "Ryzen AI Max+ 395 128GB"),
    ("ryzen ai max 395", "Ryzen AI Max+ 395 128GB"),
    ("strix halo", "Ryzen AI Max+ 395 128GB"),
    ("Apple M3 Ultra", "M3 Ultra 512GB"),
])
def test_forgiving_names(query, expected):
    assert get_gpu(query).name == expected


def test_a_gpu_instance_is_returned_as_is():
    g = get_gpu("h100")
    assert get_gpu(g) is g
    c = custom_gpu("my card", 24, 1000)
    assert get_gpu(c) is c


@pytest.mark.parametrize("typo, suggested", [
    ("rtx 4900", "RTX 4090"),
    ("mi300", "MI300X"),
    ("h10", "H100 SXM 80GB"),
    ("a10", "A10G"),
])
def test_typos_suggest_the_closest(typo, suggested):
    with pytest.raises(ValueError) as err:
        get_gpu(typo)
    text = str(err.value)
    assert "Did you mean" in text and repr(suggested) in text
    assert "name" in text and "Accepted:" in text


def test_unknown_without_close_names_still_lists_the_catalogue():
    with pytest.raises(ValueError, match=r"unknown GPU 'zzzz' for name\. Accepted: .*H100 SXM 80GB"):
        get_gpu("zzzz")


@pytest.mark.parametrize("query, candidates", [
    ("v100", ["V100 SXM2 16GB", "V100 SXM2 32GB"]),
    ("rtx", ["RTX 2080", "RTX 4090", "RTX A6000"]),
    ("h100 80gb hbm", None),  # 'hbm' alone is no word of any card: unknown, not ambiguous
])
def test_ambiguous_names_explain(query, candidates):
    with pytest.raises(ValueError) as err:
        get_gpu(query)
    text = str(err.value)
    if candidates is None:
        assert text.startswith("unknown GPU")
        return
    assert "ambiguous" in text and repr(query) in text
    for c in candidates:
        assert repr(c) in text


@pytest.mark.parametrize("bad", [None, 4090, 80.0, b"h100", ["h100"]])
def test_bad_types_raise_type_error_naming_name(bad):
    with pytest.raises(TypeError, match=r"\bname\b"):
        get_gpu(bad)


@pytest.mark.parametrize("blank", ["", "   "])
def test_blank_names_raise_value_error_naming_name(blank):
    with pytest.raises(ValueError, match=r"\bname\b"):
        get_gpu(blank)


# --- the facts ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("gpu", all_gpus(), ids=gpu_names())
def test_entry_invariants(gpu):
    assert gpu.source.strip()
    assert gpu.note.strip()
    assert gpu.vendor in {"NVIDIA", "AMD", "Apple"}
    assert gpu.memory_sold_unit == "GB"
    assert gpu.bandwidth_bytes_per_s > 0 and isinstance(gpu.bandwidth_bytes_per_s, int)
    assert gpu.memory_bytes > 0 and isinstance(gpu.memory_bytes, int)
    # sold as N GB, built from binary-sized memory: N * 2**30 bytes
    assert gpu.memory_bytes == gpu.memory_sold * 2**30
    if gpu.gpu_usable_bytes is not None:  # unified memory: the GPU's share of the pool
        assert gpu.unified_memory and gpu.gpu_usable_source
        assert gpu.capacity_bytes == gpu.gpu_usable_bytes < gpu.memory_bytes
    elif gpu.reported_mib is not None:
        assert gpu.reported_source and gpu.reported_source.strip()
        assert gpu.capacity_bytes == gpu.reported_mib * 1024 * 1024
        assert gpu.capacity_bytes <= gpu.memory_bytes
        # the driver (and ECC, on GDDR data-center cards 1/16) keeps a little: never over 10 %
        assert gpu.capacity_bytes >= 0.90 * gpu.memory_bytes
    else:
        assert gpu.capacity_bytes == gpu.memory_bytes


@pytest.mark.parametrize("gpu", all_gpus(), ids=gpu_names())
def test_unit_conversions_are_independent_arithmetic(gpu):
    assert gpu.capacity_gib == gpu.capacity_bytes / 2**30
    assert gpu.capacity_gb == gpu.capacity_bytes / 10**9
    assert gpu.bandwidth_gb_s == gpu.bandwidth_bytes_per_s / 10**9


@pytest.mark.parametrize("name, sold, reported_mib, bandwidth_tb_s", [
    # datasheet capacity and bandwidth; nvidia-smi memory.total from the cited logs
    ("H100 SXM 80GB", 80, 81559, "3.35"),    # KINDS.md (this project's H100), NVIDIA/nccl#1264
    ("H200 141GB", 141, 143771, "4.8"),      # KINDS.md (this project's H200)
    ("A100 SXM 80GB", 80, 81920, "2.039"),   # modal-labs/modal-client#2797
    ("RTX 4090", 24, 24564, "1.008"),        # RLinf/RLinf#255
    ("H100 NVL 94GB", 94, 95830, "3.9"),     # NVIDIA/gpu-admin-tools#4
    ("B200 180GB", 180, 183359, "8"),        # NVIDIA/TensorRT-LLM#10278
    ("MI300X", 192, None, "5.3"),
    ("M2 Ultra 192GB", 192, None, "0.8"),
])
def test_spot_checks_against_sources(name, sold, reported_mib, bandwidth_tb_s):
    from fractions import Fraction
    g = get_gpu(name)
    assert g.memory_sold == sold
    assert g.reported_mib == reported_mib
    assert g.bandwidth_bytes_per_s == Fraction(bandwidth_tb_s) * 10**12


@pytest.mark.parametrize("name, sold, bandwidth_gb_s", [
    # datasheet / launch figures as each entry's source gives them (GB, GB/s, decimal)
    ("B300 288GB", 288, 8000),
    ("GB200 186GB", 186, 8000),
    ("GB300 279GB", 279, 8000),
    ("H20 96GB", 96, 4000),
    ("MI355X", 288, 8000),
    ("RTX PRO 6000 Blackwell 96GB", 96, 1792),   # 28 Gbit/s x 512 bits / 8
    ("DGX Spark 128GB", 128, 273),
    ("Ryzen AI Max+ 395 128GB", 128, 256),       # 8000 MT/s x 256 bits / 8
    ("M3 Ultra 512GB", 512, 819),
])
def test_2025_2026_entries_load_in_the_right_units(name, sold, bandwidth_gb_s):
    g = get_gpu(name)
    assert g.memory_sold == sold and g.memory_sold_unit == "GB"
    assert g.memory_bytes == sold * 1024**3
    assert g.bandwidth_bytes_per_s == bandwidth_gb_s * 1000**3
    assert g.bandwidth_gb_s == bandwidth_gb_s


@pytest.mark.parametrize("name, usable_gib", [
    ("Ryzen AI Max+ 395 128GB", 96),   # largest Variable Graphics Memory setting
    ("M3 Ultra 512GB", 384),           # macOS default wired limit: 3/4 of 512 GiB
    ("DGX Spark 128GB", None),         # no sourced figure: left empty, not guessed
])
def test_unified_machines_record_the_gpu_share(name, usable_gib):
    g = get_gpu(name)
    assert g.unified_memory is True
    if usable_gib is None:
        assert g.gpu_usable_bytes is None and g.gpu_usable_gib is None
        return
    assert g.gpu_usable_bytes == usable_gib * 2**30
    assert g.gpu_usable_gib == usable_gib
    assert g.gpu_usable_bytes < g.memory_bytes
    assert g.gpu_usable_source and g.gpu_usable_source.strip()


def test_only_shared_memory_machines_are_unified():
    by_name = {r["name"]: r for r in ROWS}
    for gpu in all_gpus():
        row = by_name[gpu.name]
        assert gpu.unified_memory == row.get("unified_memory", False)
        assert gpu.gpu_usable_bytes == row.get("gpu_usable_bytes")
        if gpu.vendor == "Apple":
            assert gpu.unified_memory
        if not gpu.unified_memory:
            assert gpu.gpu_usable_bytes is None and gpu.gpu_usable_source is None
        else:
            assert "nified" in gpu.note   # the note says the pool is shared


def _unified(**kwargs):
    base = dict(name="soc", aliases=(), vendor="AMD", memory_type="LPDDR5X",
                memory_sold=4, memory_sold_unit="GB", memory_bytes=4 * 2**30,
                reported_mib=None,
                bandwidth_bytes_per_s=10**9, source="test")
    base.update(kwargs)
    return GPU(**base)


def test_gpu_usable_bytes_needs_unified_memory():
    with pytest.raises(ValueError, match="unified_memory"):
        _unified(gpu_usable_bytes=2**30, gpu_usable_source="test")


def test_gpu_usable_bytes_cannot_exceed_the_pool():
    with pytest.raises(ValueError, match="gpu_usable_bytes"):
        _unified(unified_memory=True, gpu_usable_bytes=4 * 2**30 + 1,
                 gpu_usable_source="test")


def test_gpu_usable_bytes_needs_a_source():
    with pytest.raises(ValueError, match="gpu_usable_source"):
        _unified(unified_memory=True, gpu_usable_bytes=2**30)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_gpu_usable_bytes_must_be_a_positive_integer(bad):
    with pytest.raises((TypeError, ValueError), match="gpu_usable_bytes"):
        _unified(unified_memory=True, gpu_usable_bytes=bad, gpu_usable_source="test")


def test_h100_capacity_worked_number():
    # 81559 MiB = 81559 * 1048576 B = 85,520,809,984 B: about 85.5 GB or 79.65 GiB, not "80 GB"
    g = get_gpu("h100")
    assert g.capacity_bytes == 85_520_809_984
    assert round(g.capacity_gib, 2) == 79.65
    assert round(g.capacity_gb, 2) == 85.52


def test_mi250x_note_warns_about_two_devices():
    assert "two" in get_gpu("mi250x").note and "64 GB" in get_gpu("mi250x").note


def test_apple_notes_mention_os_reserved_memory():
    for name in ("M2 Ultra 192GB", "M3 Max 128GB", "M4 Max 128GB"):
        note = get_gpu(name).note
        assert "macOS" in note and "recommendedMaxWorkingSetSize" in note


def test_gpu_rejects_a_reported_total_above_what_is_built():
    with pytest.raises(ValueError, match="reported_mib"):
        GPU(name="bad", aliases=(), vendor="NVIDIA", memory_type="HBM3", memory_sold=1,
            memory_sold_unit="GB", memory_bytes=2**30, reported_mib=1025,
            bandwidth_bytes_per_s=10**9, source="test", reported_source="test")


def test_gpu_rejects_a_reported_total_without_a_source():
    with pytest.raises(ValueError, match="reported_source"):
        GPU(name="bad", aliases=(), vendor="NVIDIA", memory_type="HBM3", memory_sold=1,
            memory_sold_unit="GB", memory_bytes=2**30, reported_mib=1000,
            bandwidth_bytes_per_s=10**9, source="test")


# --- custom GPUs -------------------------------------------------------------------------------------

def test_custom_gpu_worked_example():
    g = custom_gpu("lab card", 24, 1008)
    assert g.memory_bytes == 24 * 1073741824
    assert g.bandwidth_bytes_per_s == 1_008_000_000_000
    assert g.reported_mib is None and g.capacity_bytes == g.memory_bytes
    assert g.memory_sold_unit == "GiB"


@pytest.mark.parametrize("kwargs, exc, argname", [
    ({"memory_gib": 0, "bandwidth_gb_s": 100}, ValueError, "memory_gib"),
    ({"memory_gib": -1, "bandwidth_gb_s": 100}, ValueError, "memory_gib"),
    ({"memory_gib": "24", "bandwidth_gb_s": 100}, TypeError, "memory_gib"),
    ({"memory_gib": 24, "bandwidth_gb_s": 0}, ValueError, "bandwidth_gb_s"),
    ({"memory_gib": 24, "bandwidth_gb_s": float("inf")}, ValueError, "bandwidth_gb_s"),
    ({"memory_gib": True, "bandwidth_gb_s": 100}, TypeError, "memory_gib"),
])
def test_custom_gpu_validates(kwargs, exc, argname):
    with pytest.raises(exc, match=argname):
        custom_gpu("x", **kwargs)


def test_custom_gpu_name_must_be_text():
    with pytest.raises(TypeError, match=r"\bname\b"):
        custom_gpu(7, 24, 100)


@settings(max_examples=200)
@given(gib=st.integers(min_value=1, max_value=4096), gbs=st.integers(min_value=1, max_value=100_000))
def test_custom_gpu_whole_numbers_are_exact(gib, gbs):
    g = custom_gpu("h", gib, gbs)
    assert g.memory_bytes == gib * 2**30
    assert g.bandwidth_bytes_per_s == gbs * 10**9
    assert g.capacity_gib == gib


@settings(max_examples=200)
@given(gib=st.floats(min_value=0.001, max_value=4096, allow_nan=False),
       gbs=st.floats(min_value=0.001, max_value=100_000, allow_nan=False))
def test_custom_gpu_fractional_sizes_round_down_to_whole_bytes(gib, gbs):
    g = custom_gpu("h", gib, gbs)
    assert 0 <= gib * 2**30 - g.memory_bytes < 1          # gib * 2**30 is exact in a float
    assert abs(g.bandwidth_bytes_per_s - gbs * 10**9) <= 0.51  # rounded to the nearest byte/s


@given(st.sampled_from([s for r in ROWS for s in [r["name"], *r["aliases"]]]),
       st.sampled_from([str.strip, str.upper, str.lower, lambda s: f"  {s}  ", lambda s: f"NVIDIA {s}",
                        lambda s: s.replace(" ", "_")]))
def test_spellings_survive_case_padding_and_vendor_prefix(spelling, change):
    expected = next(r["name"] for r in ROWS if spelling in [r["name"], *r["aliases"]])
    assert get_gpu(change(spelling)).name == expected
