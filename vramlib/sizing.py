r"""Sizing in one call, for the interactive chapter and for tables: never a traceback, always a sentence.

:func:`size` answers "does this model, at this precision, context and batch, fit on these GPUs?" and
the two follow-up questions (the longest context and the largest batch that would fit), from inputs as
a person types them: a catalogue name or a pasted ``config.json``, format and GPU names, counts. Where
an input is wrong it does not raise: the result's ``error`` says what was wrong and what is accepted,
so a widget can print it.

The arithmetic is :mod:`vramlib.estimate` and :mod:`vramlib.fit`. Per GPU, for tensor parallelism over
:math:`t` GPUs of usable capacity :math:`U = \lfloor u\,C \rfloor`,

.. math::  M_\text{GPU}(T, B) = W_t + K_t(T, B) + A_t(T, B) + O_t \le U

where :math:`W_t` is the GPU's share of the weights, :math:`K_t` of the KV cache for :math:`B`
sequences of :math:`T` tokens, :math:`A_t` the activation peak and :math:`O_t` the runtime overhead.
Every term grows with :math:`T` and with :math:`B`, so the largest :math:`T` (and :math:`B`) that
fits is found by bisection over :func:`vramlib.estimate.estimate`: about :math:`\log_2` of the search
limit evaluations (24 for contexts up to :math:`2^{24}` tokens), a few milliseconds.

:func:`fit_table` builds the "how many GPUs" table of chapter 5: models × formats down, GPUs across.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

from . import _check
from .estimate import estimate, valid_tensor_parallel_sizes
from .fit import (
    BATCH_LIMIT,
    CONTEXT_LIMIT,
    MAX_GPUS_LIMIT,
    DoesNotFit,
    fit,
    gpus_needed,
    max_batch,
    max_context,
)
from .gpus import GPU, get_gpu
from .models import ModelSpec, catalogue_entry, get_model
from .tables import text_table
from .units import GIB, format_bytes

#: a pasted config with more layers than this is refused before anything is built per layer
#: (published models have at most a few hundred; 126 for Llama 3.1 405B)
MAX_LAYERS = 10_000
#: the most GPUs :func:`size` tries when it looks for the fewest that would hold the model
MAX_GPUS = 64
#: more parameters than this (a million times today's largest models) is taken for a typo in a config
MAX_PARAMS = 10**18
#: what the KV-cache dtype menu calls "the same as the weights' activations" (estimate's default)
AUTO = "auto"


@dataclass(frozen=True)
class SizingResult:
    """What :func:`size` found. Bytes are per GPU; an empty ``per_gpu_bytes`` means nothing to draw.

    ``error``: why the inputs could not be used ("" when they could). ``reason``: why the model
    cannot be split over ``n_gpus`` ("" when it can). ``fits``: the configuration fits.
    ``max_context``: the longest context that fits at ``batch`` (0: none; ``CONTEXT_LIMIT``: at least
    that). ``max_batch``: the most sequences of ``context`` tokens that fit (0: none).
    ``gpus_needed``: the fewest GPUs of this kind that hold the configuration (``None``: more than
    ``MAX_GPUS``). ``model_max_context``: ``max_position_embeddings`` from the config, if it has one.
    """

    error: str = ""
    model: str = ""
    params: int = 0
    precision: str = ""
    kv_dtype: str = ""
    context: int = 0
    batch: int = 0
    gpu: str = ""
    n_gpus: int = 0
    usable_bytes: int = 0
    per_gpu_bytes: dict = field(default_factory=dict)
    fits: bool = False
    reason: str = ""
    max_context: int = 0
    max_batch: int = 0
    gpus_needed: "int | None" = None
    tensor_parallel_sizes: tuple = ()
    model_max_context: "int | None" = None

    @property
    def ok(self) -> bool:
        """True when the inputs were usable (the configuration may still not fit)."""
        return not self.error

    @property
    def per_gpu_total_bytes(self) -> int:
        return sum(self.per_gpu_bytes.values())

    @property
    def headroom_bytes(self) -> int:
        """Usable bytes left on each GPU; negative when short; 0 when nothing was sized."""
        return self.usable_bytes - self.per_gpu_total_bytes if self.per_gpu_bytes else 0

    def headline(self) -> str:
        """A few words for a chart title: fits / does not fit / cannot split / no input."""
        if self.error:
            return "no estimate: see the message"
        if self.reason:
            return f"cannot split over {self.n_gpus} GPUs"
        need, usable = (
            format_bytes(self.per_gpu_total_bytes, "GiB", 1),
            format_bytes(self.usable_bytes, "GiB", 1),
        )
        return f"{'fits' if self.fits else 'does not fit'}: {need} of {usable} usable per GPU"

    def verdict(self) -> str:
        """One sentence: the answer, with the numbers that decide it."""
        if self.error:
            return self.error
        where = f"{self.n_gpus} x {self.gpu}"
        if self.reason:
            return f"Cannot run on {where}: {self.reason}."
        gib = lambda b: format_bytes(b, "GiB", 2)  # noqa: E731
        if self.fits:
            return (
                f"Fits on {where}: {gib(self.per_gpu_total_bytes)} of {gib(self.usable_bytes)} usable "
                f"per GPU, {gib(self.headroom_bytes)} to spare."
            )
        return (
            f"Does not fit on {where}: {gib(self.per_gpu_total_bytes)} needed per GPU, "
            f"{gib(self.usable_bytes)} usable, short by {gib(-self.headroom_bytes)}."
        )

    def notes(self) -> list[str]:
        """Sentences that say what would fit instead: GPU count, context, batch, valid split sizes."""
        if self.error:
            return []
        out = []
        if self.gpus_needed is None:
            out.append(
                f"No tensor-parallel group of up to {MAX_GPUS} x {self.gpu} holds this configuration."
            )
        elif self.gpus_needed != self.n_gpus:
            out.append(f"The fewest {self.gpu} that hold it: {self.gpus_needed}.")
        if self.reason:
            sizes = ", ".join(map(str, self.tensor_parallel_sizes))
            out.append(f"GPU counts this model can be split over (up to 16): {sizes}.")
            return out
        trained = self.model_max_context
        if self.max_context == 0:
            out.append(f"Not even a 1-token context fits at batch {self.batch}.")
        elif trained and self.max_context >= trained:
            out.append(
                f"Longest context that fits at batch {self.batch}: "
                f"{self.max_context:,} tokens, the model's own limit "
                f"(max_position_embeddings)."
            )
        else:
            limit = " (the search limit)" if self.max_context >= CONTEXT_LIMIT else ""
            out.append(
                f"Longest context that fits at batch {self.batch}: {self.max_context:,} tokens{limit}."
            )
        if trained and self.context > trained:
            out.append(
                f"The context asked for, {self.context:,} tokens, is longer than the "
                f"model was built for ({trained:,} tokens, max_position_embeddings)."
            )
        if self.max_batch == 0:
            out.append(f"Not even one sequence of {self.context:,} tokens fits.")
        else:
            limit = " (the search limit)" if self.max_batch >= BATCH_LIMIT else ""
            out.append(
                f"Largest batch of {self.context:,}-token sequences that fits: {self.max_batch:,}{limit}."
            )
        return out

    def message(self) -> str:
        """The verdict followed by the notes, one per line."""
        return "\n".join([self.verdict(), *self.notes()])

    def rows(self) -> list[tuple[str, str, str]]:
        """Per-GPU parts as (part, GiB, GB) strings, then the total and the usable capacity."""
        if not self.per_gpu_bytes:
            return []
        items = [
            *self.per_gpu_bytes.items(),
            ("total", self.per_gpu_total_bytes),
            ("usable", self.usable_bytes),
        ]
        return [
            (k.replace("_", " "), format_bytes(v, "GiB", 2), format_bytes(v, "GB", 2))
            for k, v in items
        ]

    def table(self) -> str:
        """:meth:`rows` as a fixed-width text table (GiB = 2^30 B, GB = 10^9 B)."""
        return (
            text_table(["per GPU", "GiB (2^30 B)", "GB (10^9 B)"], self.rows())
            if self.rows()
            else ""
        )

    def parts_gib(self) -> dict[str, float]:
        """Per-GPU parts in GiB (2^30 bytes), for plotting."""
        return {k: v / GIB for k, v in self.per_gpu_bytes.items()}


def _from_config_text(text: str) -> tuple[ModelSpec, "int | None"]:
    return _from_config_dict(_check.json_text(text, "the pasted config.json"))


def _from_config_dict(cfg: object) -> tuple[ModelSpec, "int | None"]:
    if not isinstance(cfg, dict):
        raise TypeError(
            f"a config.json must hold a JSON object ({{...}}), got a {type(cfg).__name__}"
        )
    layers = cfg.get("num_hidden_layers")
    if isinstance(layers, int) and not isinstance(layers, bool) and layers > MAX_LAYERS:
        raise ValueError(
            f"config key 'num_hidden_layers' is {layers:,}; no published model has more than "
            f"a few hundred layers (limit here: {MAX_LAYERS:,})"
        )
    given = cfg.get("_name_or_path")
    name = None
    if isinstance(given, str) and given.strip():
        name = given[: _check.SHOWN_CHARS]
    spec = ModelSpec.from_hf_config(cfg, name=name or "pasted config")
    return spec, model_max_context(spec, cfg)


def _positive_int(value: object) -> "int | None":
    return (
        value
        if isinstance(value, int) and not isinstance(value, bool) and value > 0
        else None
    )


def model_max_context(spec: ModelSpec, config: "dict | None" = None) -> "int | None":
    """The longest context the model was built for (``max_position_embeddings``), or
    ``None``.

    Read from the spec when it records it, else from ``config`` (a multimodal wrapper's
    from its ``text_config``, which is the model sized)."""
    own = _positive_int(getattr(spec, "max_position_embeddings", None))
    if own is not None or not isinstance(config, dict):
        return own
    text = config.get("text_config")
    if isinstance(text, dict) and "max_position_embeddings" in text:
        return _positive_int(text.get("max_position_embeddings"))
    return _positive_int(config.get("max_position_embeddings"))


def resolve_model(model: "ModelSpec | dict | str") -> tuple[ModelSpec, "int | None"]:
    """A :class:`ModelSpec` and its configured maximum context (or ``None``) from what a person gives:
    a spec, a config dict, a ``config.json`` text (anything that starts with ``{``), or a catalogue
    name. Raises ``ValueError``/``TypeError`` with a message that names the problem."""
    if isinstance(model, ModelSpec):
        return model, model_max_context(model)
    if isinstance(model, dict):
        return _from_config_dict(model)
    if not isinstance(model, str):
        raise TypeError(
            f"model must be a catalogue name, a config.json text or a ModelSpec, "
            f"got {type(model).__name__}"
        )
    if not model.strip():
        raise ValueError(
            "no model given: choose one from the catalogue or paste a config.json"
        )
    if model.lstrip("\ufeff \t\r\n").startswith(("{", "[")):
        return _from_config_text(model)
    try:
        spec = get_model(model)
    except ValueError as err:
        raise _check.renamed(err, "name", "model") from None
    return spec, model_max_context(spec, catalogue_entry(model)["config"])


def size(
    model: "ModelSpec | dict | str",
    precision: "str | int" = "bf16",
    kv_dtype: "str | None" = None,
    context: int = 4096,
    batch: int = 1,
    gpu: "GPU | str" = "H100 SXM 80GB",
    n_gpus: int = 1,
    *,
    gpu_memory_utilization: float = 1.0,
    prefill_chunk: "int | None" = None,
) -> SizingResult:
    """Size ``model`` on ``n_gpus`` × ``gpu`` with tensor parallelism; never raises for bad input.

    ``model``: a catalogue name, a pasted ``config.json`` text, a config dict or a :class:`ModelSpec`.
    ``precision``: a weight format or bit width (:func:`vramlib.formats.get_format`). ``kv_dtype``:
    the KV cache's element type, ``None`` or ``"auto"`` for the estimate's default. ``context`` tokens
    per sequence, ``batch`` sequences. ``gpu_memory_utilization``: the fraction of each GPU the engine
    may use (1 = all that the driver reports).

    Returns a :class:`SizingResult`; when an input is unusable its ``error`` holds the message
    (``ValueError``/``TypeError`` text from the checks, or a JSON syntax error with its position).
    The longest context is searched up to the model's ``max_position_embeddings`` when
    known. It does not raise for any input: an arithmetic failure is reported in
    ``error`` too.
    """
    try:
        return _size(
            model,
            precision,
            kv_dtype,
            context,
            batch,
            gpu,
            n_gpus,
            gpu_memory_utilization,
            prefill_chunk,
        )
    except (ValueError, TypeError) as err:
        return SizingResult(error=_sentence(err))
    except (
        ArithmeticError,
        RecursionError,
        MemoryError,
    ) as err:  # a last guard: never raise
        return SizingResult(
            error=_sentence(
                ValueError(
                    f"the inputs could not be sized ({type(err).__name__}); check the "
                    f"config's sizes"
                )
            )
        )


def _size(
    model,
    precision,
    kv_dtype,
    context,
    batch,
    gpu,
    n_gpus,
    gpu_memory_utilization,
    prefill_chunk,
) -> SizingResult:
    spec, trained = resolve_model(model)
    options = dict(precision=precision, kv_dtype=kv_dtype, prefill_chunk=prefill_chunk)
    for name, value, limit in (
        ("context", context, CONTEXT_LIMIT),
        ("batch", batch, BATCH_LIMIT),
    ):
        if isinstance(value, int) and not isinstance(value, bool) and value > limit:
            raise ValueError(
                f"{name} must be at most {limit:,} here, got {_check.shown(value)}"
            )
    if spec.param_count() > MAX_PARAMS:
        raise ValueError(
            f"the config describes about 10^{len(str(spec.param_count())) - 1} "
            f"parameters; "
            f"check its sizes (more than {MAX_PARAMS:.0e} is taken for a mistake)"
        )
    est = estimate(spec, context=context, batch=batch, **options)
    g = get_gpu(gpu, argument="gpu")
    f = fit(est, g, n_gpus, gpu_memory_utilization=gpu_memory_utilization)
    util = gpu_memory_utilization
    try:
        needed: "int | None" = gpus_needed(
            est, g, gpu_memory_utilization=util, max_gpus=MAX_GPUS
        )
    except DoesNotFit:
        needed = None
    longest = widest = 0
    if not f.reason:
        limit = min(CONTEXT_LIMIT, trained) if trained else CONTEXT_LIMIT
        longest = max_context(
            spec,
            g,
            f.n_gpus,
            batch=est.batch,
            gpu_memory_utilization=util,
            limit=limit,
            **options,
        )
        widest = max_batch(
            spec,
            g,
            f.n_gpus,
            context=est.context,
            gpu_memory_utilization=util,
            **options,
        )
    return SizingResult(
        model=est.model,
        params=est.params,
        precision=est.precision,
        kv_dtype=est.kv_dtype,
        context=est.context,
        batch=est.batch,
        gpu=g.name,
        n_gpus=f.n_gpus,
        usable_bytes=f.usable_bytes,
        per_gpu_bytes=dict(f.per_gpu),
        fits=f.fits,
        reason=f.reason,
        max_context=longest,
        max_batch=widest,
        gpus_needed=needed,
        tensor_parallel_sizes=tuple(valid_tensor_parallel_sizes(spec, 16)),
        model_max_context=trained,
    )


def _sentence(err: Exception) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text[0].upper() + text[1:] + ("" if text.endswith((".", "?", ")")) else ".")


# ---- the "how many GPUs" table -------------------------------------------------------------------


@dataclass(frozen=True)
class FitRow:
    """One model at one format: its weights and the fewest GPUs of each kind that hold it.

    ``gpus_needed`` has one entry per GPU of the table, ``None`` where more than ``max_gpus`` would be
    needed (or no split up to it is allowed by the model's heads).
    """

    model: str
    precision: str
    params: int
    weights_bytes: int
    gpus_needed: tuple

    def cells(self, max_gpus: int = 8) -> list[str]:
        """The row as strings: short model name, format, weights in GiB, then a count or ``> max_gpus``."""
        counts = [
            str(n) if n is not None else f"> {max_gpus}" for n in self.gpus_needed
        ]
        return [
            self.model.split("/")[-1],
            self.precision,
            f"{self.weights_bytes / GIB:,.1f}",
            *counts,
        ]


@dataclass(frozen=True)
class FitTable:
    """Models × formats down, GPUs across: how many GPUs each needs (:func:`fit_table`)."""

    gpus: tuple
    rows: tuple
    context: int
    batch: int
    max_gpus: int

    @property
    def headers(self) -> list[str]:
        """Column names, each GPU with its usable capacity in GiB."""
        return [
            "model",
            "format",
            "weights (GiB, 2³⁰ B)",
            *(f"{g.name} ({g.capacity_gib:.0f} GiB)" for g in self.gpus),
        ]

    def cells(self) -> list[list[str]]:
        return [r.cells(self.max_gpus) for r in self.rows]


def _fewest(est, gpu: GPU, max_gpus: int, util: float) -> "int | None":
    try:
        return gpus_needed(est, gpu, gpu_memory_utilization=util, max_gpus=max_gpus)
    except DoesNotFit:
        return None


def fit_table(
    models: Iterable["ModelSpec | str"],
    gpus: Sequence["GPU | str"],
    precisions: Sequence["str | int"],
    *,
    context: int = 8192,
    batch: int = 1,
    max_gpus: int = 8,
    gpu_memory_utilization: float = 1.0,
) -> FitTable:
    """For every model and format (rows) and GPU (columns): the fewest GPUs, using tensor parallelism
    over a size the model's heads allow, that hold the estimate for ``batch`` sequences of ``context``
    tokens. Bad names raise ``ValueError`` (this is for tables written by authors, not for widgets)."""
    limit = _check.integer("max_gpus", max_gpus, minimum=1, maximum=MAX_GPUS_LIMIT)
    util = _check.number("gpu_memory_utilization", gpu_memory_utilization, maximum=1.0)
    models = _check.sequence("models", models, "catalogue names or ModelSpecs")
    precisions = _check.sequence(
        "precisions", precisions, "weight formats or bit widths"
    )
    gpus = _check.sequence("gpus", gpus, "GPU names")
    cards = tuple(get_gpu(g, argument="gpus") for g in gpus)
    if not cards:
        raise ValueError("gpus must name at least one GPU")
    rows = []
    for m in models:
        if not isinstance(m, (ModelSpec, str)):
            raise TypeError(
                f"models must hold catalogue names or ModelSpecs, got "
                f"{type(m).__name__} {_check.shown(m)}"
            )
        spec = m if isinstance(m, ModelSpec) else get_model(m)
        for p in precisions:
            est = estimate(spec, precision=p, context=context, batch=batch)
            rows.append(
                FitRow(
                    model=est.model,
                    precision=est.precision,
                    params=est.params,
                    weights_bytes=est.weights_bytes,
                    gpus_needed=tuple(_fewest(est, g, limit, util) for g in cards),
                )
            )
    if not rows:
        raise ValueError("models and precisions must each name at least one entry")
    return FitTable(
        gpus=cards, rows=tuple(rows), context=context, batch=batch, max_gpus=limit
    )


__all__ = [
    "AUTO",
    "MAX_GPUS",
    "MAX_LAYERS",
    "MAX_PARAMS",
    "FitRow",
    "FitTable",
    "SizingResult",
    "fit_table",
    "resolve_model",
    "size",
]
