r"""Fitting an estimate onto GPUs, and the inverse questions: how many GPUs, how long a context, how
big a batch.

A model fits on :math:`t` GPUs of capacity :math:`C` with reserved fraction :math:`u` (an engine's
``gpu_memory_utilization``; 1 for none) when the heads split :math:`t` ways
(:func:`vramlib.estimate.tensor_parallel_problem`) and every GPU's share of the estimate
(:meth:`vramlib.estimate.Estimate.per_gpu`) is at most :math:`\lfloor u C \rfloor`. :math:`C` is what
the driver reports where the catalogue records it (:attr:`vramlib.gpus.GPU.capacity_bytes`).
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from . import _check
from .estimate import Estimate, estimate, tensor_parallel_problem, valid_tensor_parallel_sizes
from .gpus import GPU, get_gpu
from .models import ModelSpec
from .tables import text_table
from .units import format_bytes

#: the largest context and batch that max_context / max_batch search up to
CONTEXT_LIMIT = 1 << 24
BATCH_LIMIT = 1 << 16
#: the most GPUs a tensor-parallel search may be asked to try (no model has this many
#: heads)
MAX_GPUS_LIMIT = 1 << 16


class DoesNotFit(ValueError):
    """No number of GPUs up to the limit holds the estimate (the message says which sizes were tried)."""


@dataclass(frozen=True)
class Fit:
    """Whether an estimate fits on ``n_gpus`` × ``gpu``, and by how much. Bytes are per GPU."""

    gpu: GPU
    n_gpus: int
    fits: bool
    reason: str
    usable_bytes: int
    per_gpu: dict
    estimate: Estimate

    @property
    def per_gpu_bytes(self) -> int:
        return sum(self.per_gpu.values())

    @property
    def headroom_bytes(self) -> int:
        """Usable bytes left on each GPU (negative when it does not fit)."""
        return self.usable_bytes - self.per_gpu_bytes if self.per_gpu else -1

    def table(self) -> str:
        rows = [(k.replace("_", " "), format_bytes(v, "GB", 2), format_bytes(v, "GiB", 2))
                for k, v in self.per_gpu.items()]
        rows += [("total per GPU", format_bytes(self.per_gpu_bytes, "GB", 2),
                  format_bytes(self.per_gpu_bytes, "GiB", 2)),
                 ("usable per GPU", format_bytes(self.usable_bytes, "GB", 2),
                  format_bytes(self.usable_bytes, "GiB", 2))]
        return text_table(["per GPU", "GB (10^9 B)", "GiB (2^30 B)"], rows)

    def verdict(self) -> str:
        where = f"{self.n_gpus} x {self.gpu.name}"
        if self.reason:
            return f"does not fit on {where}: {self.reason}"
        sign = "fits" if self.fits else "does not fit"
        word = "headroom" if self.fits else "short by"
        return (f"{sign} on {where}: {format_bytes(self.per_gpu_bytes, 'GiB', 2)} of "
                f"{format_bytes(self.usable_bytes, 'GiB', 2)} per GPU, {word} "
                f"{format_bytes(abs(self.headroom_bytes), 'GiB', 2)}")

    def to_dict(self) -> dict:
        return {"gpu": self.gpu.name, "n_gpus": self.n_gpus, "fits": self.fits, "reason": self.reason,
                "usable_bytes_per_gpu": self.usable_bytes, "per_gpu_bytes": self.per_gpu,
                "per_gpu_total_bytes": self.per_gpu_bytes, "headroom_bytes": self.headroom_bytes}


def _utilization(value: float) -> float:
    return _check.number("gpu_memory_utilization", value, minimum=0.0, maximum=1.0)


def usable_bytes(gpu: GPU, utilization: float) -> int:
    r""":math:`\lfloor u\,C \rfloor`, exactly (``u`` read as the decimal it was written as)."""
    u = Fraction(repr(_utilization(utilization)))
    return gpu.capacity_bytes * u.numerator // u.denominator


def _estimate(est: object) -> Estimate:
    if not isinstance(est, Estimate):
        hint = (
            " (a ModelSpec: pass vramlib.estimate(spec, ...) instead)"
            if isinstance(est, ModelSpec)
            else ""
        )
        raise TypeError(
            f"est must be an Estimate (from vramlib.estimate), got "
            f"{type(est).__name__}{hint}"
        )
    return est


def fit(est: Estimate, gpu: "GPU | str", n_gpus: int = 1, *, gpu_memory_utilization: float = 1.0) -> Fit:
    """Does ``est`` fit on ``n_gpus`` GPUs of kind ``gpu`` with tensor parallelism of that size?"""
    est = _estimate(est)
    g = get_gpu(gpu, argument="gpu")
    n = _check.integer("n_gpus", n_gpus, minimum=1)
    usable = usable_bytes(g, gpu_memory_utilization)
    reason = tensor_parallel_problem(est.spec, n)
    if reason:
        return Fit(g, n, False, reason, usable, {}, est)
    parts = est.per_gpu(n)
    return Fit(g, n, sum(parts.values()) <= usable, "", usable, parts, est)


def gpus_needed(est: Estimate, gpu: "GPU | str", *, gpu_memory_utilization: float = 1.0,
                max_gpus: int = 64) -> int:
    """The fewest GPUs of kind ``gpu`` the estimate fits on, using tensor parallelism over all of them.

    Only sizes that the model's heads allow are tried; :class:`DoesNotFit` (a
    ``ValueError``) says why when none up to ``max_gpus`` (at most
    :data:`MAX_GPUS_LIMIT`) works.
    """
    est = _estimate(est)
    g = get_gpu(gpu, argument="gpu")
    limit = _check.integer("max_gpus", max_gpus, minimum=1, maximum=MAX_GPUS_LIMIT)
    gpu_memory_utilization = _utilization(gpu_memory_utilization)
    sizes = valid_tensor_parallel_sizes(est.spec, limit)
    for n in sizes:
        if fit(est, g, n, gpu_memory_utilization=gpu_memory_utilization).fits:
            return n
    raise DoesNotFit(f"{est.model} does not fit on up to {limit} x {g.name} "
                     f"(tensor-parallel sizes tried: {', '.join(map(str, sizes))})")


def _largest(fits, lo: int, hi: int) -> int:
    """The largest x in [lo, hi] with fits(x), given fits is monotone (True then False); lo - 1 if none."""
    if not fits(lo):
        return lo - 1
    if fits(hi):
        return hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo


def _largest_that_fits(model, gpu, n_gpus, utilization, limit, vary: str, **fixed) -> int:
    """The largest value of the estimate's argument ``vary`` (context or batch) in [1, limit] that
    fits; 0 if none does. Memory only grows with either, so bisection finds it exactly.

    Raises ``ValueError`` (not 0) when the model's heads cannot be split over ``n_gpus``
    and when the overhead model ignores ``vary`` (``"flat"``): neither has a longest
    context to give."""
    lim = _check.integer("limit", limit, minimum=1)
    g, n = get_gpu(gpu, argument="gpu"), _check.integer("n_gpus", n_gpus, minimum=1)
    util = _utilization(utilization)
    if fixed.get("overhead") == "flat":
        raise ValueError(
            f"overhead='flat' does not depend on the {vary}, so there is no largest "
            f"{vary} to find; use overhead='vramlib'"
        )
    probe = estimate(model, **{vary: 1}, **fixed)  # checks the other arguments once
    reason = tensor_parallel_problem(probe.spec, n)
    if reason:
        raise ValueError(f"n_gpus: {reason}")

    def fits(value: int) -> bool:
        return fit(
            estimate(probe.spec, **{vary: value}, **fixed),
            g,
            n,
            gpu_memory_utilization=util,
        ).fits

    return max(_largest(fits, 1, lim), 0)


def max_context(model: "ModelSpec | str", gpu: "GPU | str", n_gpus: int = 1, *, batch: int = 1,
                gpu_memory_utilization: float = 1.0, limit: int = CONTEXT_LIMIT, **options) -> int:
    """The longest context (tokens per sequence) that fits, for ``batch`` sequences; 0 if none does.

    ``options`` go to :func:`vramlib.estimate.estimate` (precision, kv_dtype, prefill_chunk …).
    Returns ``limit`` when even that fits (a model whose layers all slide stops
    growing); pass the model's ``max_position_embeddings`` as ``limit`` to stay within
    what it was built for. ``ValueError`` when ``n_gpus`` cannot split the model's heads
    (not 0, which means that not even one token fits) and for ``overhead="flat"``, which
    ignores the context.
    """
    return _largest_that_fits(model, gpu, n_gpus, gpu_memory_utilization, limit, "context",
                              batch=batch, **options)


def max_batch(model: "ModelSpec | str", gpu: "GPU | str", n_gpus: int = 1, *, context: int,
              gpu_memory_utilization: float = 1.0, limit: int = BATCH_LIMIT, **options) -> int:
    """The most sequences of ``context`` tokens that fit at once; 0 if not even one
    does.

    Raises ``ValueError`` as :func:`max_context` does (heads that ``n_gpus`` cannot
    split; the flat overhead model)."""
    return _largest_that_fits(model, gpu, n_gpus, gpu_memory_utilization, limit, "batch",
                              context=context, **options)
