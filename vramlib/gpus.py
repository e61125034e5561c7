r"""The GPU catalogue: how much memory a card has, how fast it reads it, and where those facts come from.

Three capacities of one card are easy to confuse, and the book keeps them apart:

* ``memory_sold``: the vendor's printed figure, in the vendor's unit (``80`` ``"GB"`` for an H100).
* ``memory_bytes``: the capacity as built. GDDR chips, HBM stacks and LPDDR packages come in binary
  sizes, so a card sold as :math:`N` GB holds :math:`N \cdot 2^{30}` bytes (80 GB HBM3 is 80 GiB).
* ``reported_mib``: ``memory.total`` as ``nvidia-smi`` prints it, in MiB, where a public log shows it.
  It is smaller than ``memory_bytes`` because the driver keeps some memory for itself (and ECC, where
  on, costs some): an H100 SXM reports 81559 MiB of its 81920 MiB.

A fit should count on what the driver will hand out, so :attr:`GPU.capacity_bytes` is
:math:`\text{reported\_mib} \cdot 2^{20}` when that is known and ``memory_bytes`` otherwise.

Bandwidth is the datasheet peak, in decimal units: 3.35 TB/s is :math:`3.35 \cdot 10^{12}` B/s.

The entries live in ``vramlib/data/gpus.json``, each with its datasheet (``source``) and, separately,
where its reported figure was seen (``reported_source``).

Unified-memory machines (Apple silicon, DGX Spark, Ryzen AI Max) share one pool
between CPU, GPU and operating system: ``unified_memory`` marks them, and
``gpu_usable_bytes`` (with ``gpu_usable_source``) records how much of the pool the GPU
may use by default where a source states it (a BIOS variable-graphics-memory limit,
macOS's default GPU wired limit). It is ``None`` where no figure was found;
:attr:`GPU.capacity_bytes` does not use it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from . import _check, _data
from .units import GB, GIB, MIB

# Words that say nothing about which card is meant ("NVIDIA GeForce RTX 4090" = "RTX 4090").
_FILLER = frozenset({"nvidia", "geforce", "tesla", "amd", "instinct", "apple", "gpu", "the"})


@dataclass(frozen=True)
class GPU:
    """One GPU or accelerator, with sourced memory and bandwidth figures.

    ``memory_bytes`` is the capacity as built (binary-sized memory: 80 GB HBM3 = 80 * 2**30 bytes);
    ``reported_mib`` is nvidia-smi's ``memory.total`` (MiB) where a source shows it, else ``None``;
    ``bandwidth_bytes_per_s`` is the datasheet peak in bytes per second (decimal prefixes).
    """

    name: str
    aliases: tuple[str, ...]
    vendor: str
    memory_type: str
    memory_sold: float
    memory_sold_unit: str
    memory_bytes: int
    reported_mib: int | None
    bandwidth_bytes_per_s: int
    source: str
    reported_source: str | None = None
    note: str = ""
    form_factor: str | None = None
    interconnect: str | None = None
    unified_memory: bool = False
    gpu_usable_bytes: int | None = None
    gpu_usable_source: str | None = None

    def __post_init__(self) -> None:
        _check.text("name", self.name)
        _check.integer("memory_bytes", self.memory_bytes, minimum=1)
        _check.integer("bandwidth_bytes_per_s", self.bandwidth_bytes_per_s, minimum=1)
        if self.reported_mib is not None:
            _check.integer("reported_mib", self.reported_mib, minimum=1)
            if self.reported_mib * MIB > self.memory_bytes:
                raise ValueError(f"{self.name}: reported_mib ({self.reported_mib} MiB) exceeds "
                                 f"memory_bytes ({self.memory_bytes} B); the driver cannot report more "
                                 f"than is built")
            if not self.reported_source:
                raise ValueError(f"{self.name}: reported_mib needs a reported_source")
        if self.gpu_usable_bytes is not None:
            _check.integer("gpu_usable_bytes", self.gpu_usable_bytes, minimum=1)
            if not self.unified_memory:
                raise ValueError(f"{self.name}: gpu_usable_bytes is only for "
                                 f"unified_memory machines")
            if self.gpu_usable_bytes > self.memory_bytes:
                raise ValueError(f"{self.name}: gpu_usable_bytes "
                                 f"({self.gpu_usable_bytes} B) exceeds memory_bytes "
                                 f"({self.memory_bytes} B)")
            if not self.gpu_usable_source:
                raise ValueError(f"{self.name}: gpu_usable_bytes needs a "
                                 f"gpu_usable_source")

    @property
    def capacity_bytes(self) -> int:
        r"""Bytes a fit should count on: :math:`\text{reported\_mib} \cdot 2^{20}` if nvidia-smi's
        total is known; for a unified-memory machine, the share its GPU may use
        (``gpu_usable_bytes``) where that is known; else ``memory_bytes`` (the capacity as built,
        which overstates what the driver hands out by a few hundred MiB on most cards)."""
        if self.gpu_usable_bytes is not None:
            return self.gpu_usable_bytes
        if self.reported_mib is not None:
            return self.reported_mib * MIB
        return self.memory_bytes

    @property
    def capacity_gib(self) -> float:
        """:attr:`capacity_bytes` in GiB (2**30)."""
        return self.capacity_bytes / GIB

    @property
    def capacity_gb(self) -> float:
        """:attr:`capacity_bytes` in GB (10**9)."""
        return self.capacity_bytes / GB

    @property
    def gpu_usable_gib(self) -> float | None:
        """:attr:`gpu_usable_bytes` in GiB (2**30); ``None`` where none is known."""
        if self.gpu_usable_bytes is None:
            return None
        return self.gpu_usable_bytes / GIB

    @property
    def bandwidth_gb_s(self) -> float:
        """Datasheet peak memory bandwidth in GB/s (10**9 bytes per second)."""
        return self.bandwidth_bytes_per_s / GB

    def __str__(self) -> str:
        return self.name


def _tokens(text: str) -> list[str]:
    """Lower-case words of ``text``; a size split from its unit is joined (``"80 GB"`` → ``"80gb"``)."""
    words = [w for w in re.split(r"[^0-9a-z.]+", text.lower()) if w]
    joined: list[str] = []
    for w in words:
        if w in ("gb", "gib") and joined and joined[-1].isdigit():
            joined[-1] += "gb"
        else:
            joined.append("gb" if w == "gib" else w)
    return [w for w in joined if w not in _FILLER]


def _candidate_tokens(gpu: GPU) -> frozenset[str]:
    tokens: set[str] = set()
    for text in (gpu.name, *gpu.aliases, gpu.form_factor or ""):
        tokens.update(_tokens(text))
    # "80gb" also answers to a bare "80"
    tokens.update(t[:-2] for t in list(tokens) if t.endswith("gb") and t[:-2].isdigit())
    return frozenset(tokens)


@lru_cache(maxsize=None)
def _catalogue() -> tuple[tuple[GPU, ...], dict[str, GPU], dict[str, GPU]]:
    """(entries, exact-name table, family-default table), built from gpus.json on first use."""
    entries: list[GPU] = []
    exact: dict[str, GPU] = {}
    defaults: dict[str, GPU] = {}
    for row in _data.load("gpus.json")["gpus"]:
        gpu = GPU(name=row["name"], aliases=tuple(row.get("aliases", ())), vendor=row["vendor"],
                  memory_type=row["memory_type"], memory_sold=row["memory_sold"],
                  memory_sold_unit=row["memory_sold_unit"], memory_bytes=row["memory_bytes"],
                  reported_mib=row.get("reported_mib"),
                  bandwidth_bytes_per_s=row["bandwidth_bytes_per_s"], source=row["source"],
                  reported_source=row.get("reported_source"), note=row.get("note", ""),
                  form_factor=row.get("form_factor"),
                  interconnect=row.get("interconnect"),
                  unified_memory=row.get("unified_memory", False),
                  gpu_usable_bytes=row.get("gpu_usable_bytes"),
                  gpu_usable_source=row.get("gpu_usable_source"))
        entries.append(gpu)
        for key in (gpu.name, *gpu.aliases):
            k = _check.normalise(key)
            if k in exact and exact[k] is not gpu:
                raise ValueError(f"gpus.json: name {key!r} is used by both {exact[k].name!r} "
                                 f"and {gpu.name!r}")
            exact[k] = gpu
        for family in row.get("default_for", ()):
            defaults[family] = gpu
    return tuple(entries), exact, defaults


def gpu_names() -> list[str]:
    """Canonical names of the catalogued GPUs (aliases not included), in catalogue order."""
    return [g.name for g in _catalogue()[0]]


def all_gpus() -> list[GPU]:
    """Every catalogued GPU, in catalogue order."""
    return list(_catalogue()[0])


def get_gpu(name: "str | GPU", *, argument: str = "name") -> GPU:
    """Look a GPU up by a forgiving name; a :class:`GPU` is returned as it is.

    The lookup, in order:

    1. exact match of the name or an alias, case- and separator-insensitive
       (``"H100-80GB"``, ``"NVIDIA H100 80GB HBM3"`` as nvidia-smi prints it, ``"rtx 4090"``, ``"4090"``);
    2. word match: every word of the query appears among a card's words (its name, aliases and
       form factor; vendor words such as "NVIDIA" or "GeForce" are ignored): ``"h100 pcie"``;
    3. if several cards match, a card with a spelling made of exactly the query's words wins
       (``"NVIDIA RTX 3090"`` is the RTX 3090, not the 3090 Ti); then the family default wins when
       the query names the family: the bare ``"h100"`` means the H100 SXM 80GB, ``"a100"`` the
       A100 SXM 80GB (and ``"m2 ultra"``, ``"m3 max"``, ``"m4 max"`` are aliases of the one
       configuration catalogued). Otherwise the query is ambiguous and ``ValueError`` lists the candidates
       (``"v100"`` is: 16 GB or 32 GB?).

    A query of numbers alone (``"16"``, ``"80"``) names no card unless it is exactly an
    alias (``"4090"``): a bare memory size is not a GPU.

    An unknown name raises ``ValueError`` with the closest known names; a non-string raises
    ``TypeError``. Messages call the value ``argument`` (``gpu`` where
    :func:`vramlib.fit.fit` was given it).
    """
    if isinstance(name, GPU):
        return name
    _check.text(argument, name)
    entries, exact, defaults = _catalogue()
    key = _check.normalise(name)
    if key in exact:
        return exact[key]
    words = _tokens(name[: _check.SHOWN_CHARS])
    query = set(words)
    sizes_only = all(
        w.endswith("gb") and w[:-2].replace(".", "").isdigit() for w in query
    )
    if sizes_only or (
        len(query) == 1 and words[0].removesuffix("gb").replace(".", "").isdigit()
    ):
        # a bare number or memory size: a model number that is exactly an alias ("NVIDIA
        # 4090"),
        # else no card (16 GB is a V100, an A4000, a T4...: not a name)
        if "".join(words) in exact:
            return exact["".join(words)]
        raise _unknown(name, argument)
    matches = [g for g in entries if query and query <= _candidate_tokens(g)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        # a card one of whose spellings is exactly the query's words ("geforce rtx 3090" is the
        # RTX 3090, not the 3090 Ti), else the family default the query names
        whole = [g for g in matches
                 if any(set(_tokens(s)) == query for s in (g.name, *g.aliases))]
        if len(whole) == 1:
            return whole[0]
        preferred = {defaults[w] for w in query if w in defaults} & set(matches)
        if len(preferred) == 1:
            return preferred.pop()
        listed = ", ".join(repr(g.name) for g in matches)
        raise ValueError(
            f"{argument} {_check.shown(name)} is ambiguous: it matches {listed}. Add "
            f"what tells them apart (memory size or form factor), e.g. "
            f"{matches[0].name!r}"
        )
    raise _unknown(name, argument)


def _unknown(name: str, argument: str = "name") -> ValueError:
    """The error for an unknown name: closest names (aliases count, so "h10" finds the H100), then
    every canonical name. Same wording as :func:`vramlib._check.unknown`, which it falls back to."""
    entries, exact, _ = _catalogue()
    by_spelling = {spelling: g.name for g in entries for spelling in (g.name, *g.aliases)}
    query = name[: _check.SHOWN_CHARS]
    close = list(
        dict.fromkeys(
            by_spelling[s] for s in _check.suggestions(query, by_spelling, n=5)
        )
    )[:3]
    err = _check.unknown(argument, name, gpu_names(), what="GPU", show=len(entries))
    if not close:
        return err
    listed = str(err).split(" Accepted: ", 1)[1]
    hint = " or ".join(repr(c) for c in close)
    return ValueError(
        f"unknown GPU {_check.shown(name)} for {argument}. Did you mean {hint}? "
        f"Accepted: {listed}"
    )


def custom_gpu(name: str, memory_gib: float, bandwidth_gb_s: float, *, vendor: str = "custom",
               memory_type: str = "unspecified", note: str = "") -> GPU:
    """An ad-hoc GPU of ``memory_gib`` GiB (binary, 2**30) and ``bandwidth_gb_s`` GB/s (decimal, 10**9).

    ``memory_bytes`` is :math:`\\lfloor \\text{memory\\_gib} \\cdot 2^{30} \\rfloor`; no reported figure
    is assumed, so the fit counts the full capacity: subtract the driver's share yourself if known.
    """
    _check.text("name", name)
    gib = _check.number("memory_gib", memory_gib)
    gbs = _check.number("bandwidth_gb_s", bandwidth_gb_s)
    memory_bytes = int(Fraction(gib) * GIB)
    bandwidth = round(Fraction(gbs) * GB)
    for arg, value, count in (
        ("memory_gib", memory_gib, memory_bytes),
        ("bandwidth_gb_s", bandwidth_gb_s, bandwidth),
    ):
        if count > _check.MAX_INTEGER:
            raise ValueError(
                f"{arg} must give at most {_check.MAX_INTEGER:,} bytes, got "
                f"{_check.shown(value)}"
            )
    if memory_bytes < 1 or bandwidth < 1:
        raise ValueError(f"memory_gib and bandwidth_gb_s must give at least one byte (and one byte/s), "
                         f"got memory_gib={memory_gib!r}, bandwidth_gb_s={bandwidth_gb_s!r}")
    return GPU(name=name, aliases=(), vendor=_check.text("vendor", vendor),
               memory_type=_check.text("memory_type", memory_type), memory_sold=gib,
               memory_sold_unit="GiB", memory_bytes=memory_bytes, reported_mib=None,
               bandwidth_bytes_per_s=bandwidth, source="user-supplied (custom_gpu)", note=note)
