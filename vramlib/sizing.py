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
from .formats import AS_PUBLISHED, is_as_published
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
from .models import (
    ModelSpec,
    catalogue_entry,
    get_model,
    model_max_context,
    model_names,
)
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


def _published(precision: object) -> object:
    """``None`` (the library's "as published") for :data:`AS_PUBLISHED`."""
    return None if is_as_published(precision) else precision


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
    ``precision``: a weight format or bit width (:func:`vramlib.formats.get_format`), or
    :data:`AS_PUBLISHED` for the checkpoint's own (its quantization config). ``kv_dtype``:
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
    options = dict(
        precision=_published(precision), kv_dtype=kv_dtype, prefill_chunk=prefill_chunk
    )
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


# ---- the catalogue's menu: what kind of model each one is -----------------------------------

#: the filters of the model menu; a model may be of several kinds (gpt-oss: experts and windows)
KINDS = (
    "all",
    "dense",
    "mixture of experts",
    "sliding window",
    "latent attention",
    "hybrid",
)
_ATTENTION_MIXERS = ("Attention", "LatentAttention", "CompressedAttention")
_RECURRENT_MIXERS = (
    "Mamba1",
    "Mamba2",
    "GatedDeltaNet",
    "KimiDeltaAttention",
    "ShortConv",
)


def kinds(spec: ModelSpec) -> tuple[str, ...]:
    """The kinds of :data:`KINDS` a model is, read off its layer stack: ``"dense"`` (no
    experts) or ``"mixture of experts"``; ``"sliding window"`` when some attention layer
    keeps a window (or chunk); ``"latent attention"`` for MLA or DeepSeek-V4's compressed
    attention; ``"hybrid"`` when attention layers sit beside recurrent ones (Mamba, gated
    DeltaNet, short convolution) or in one layer with them (Falcon-H1)."""
    names = {type(lay.mixer).__name__ for lay in spec.layers}
    windowed = any(getattr(lay.mixer, "window", None) for lay in spec.layers)
    hybrid = "ParallelHybrid" in names or (
        bool(names & set(_ATTENTION_MIXERS)) and bool(names & set(_RECURRENT_MIXERS))
    )
    tags = ["mixture of experts" if spec.is_moe else "dense"]
    if windowed:
        tags.append("sliding window")
    if names & {"LatentAttention", "CompressedAttention"}:
        tags.append("latent attention")
    if hybrid:
        tags.append("hybrid")
    return tuple(tags)


def architecture(spec: ModelSpec) -> str:
    """One line on the layer stack: the token mixers by count, then the feed-forward block,
    e.g. ``"36 gated DeltaNet + 12 full attention layers; experts: 512, 10 per token"``."""
    from .layers import mixer_label

    counts: dict[str, int] = {}
    for lay in spec.layers:
        if type(lay.mixer).__name__ != "NoMixer":
            label = mixer_label(lay.mixer)
            counts[label] = counts.get(label, 0) + 1
    mixers = " + ".join(f"{n} {label}" for label, n in counts.items()) + " layers"
    moe = [lay.ffn for lay in spec.layers if getattr(lay.ffn, "kind", "") == "moe"]
    if moe:
        ffn = f"experts: {moe[0].experts}, {moe[0].top_k} per token"
    else:
        ffn = "dense MLP"
    return f"{mixers}; {ffn}"


def catalogue_menu(kind: str = "all") -> list[tuple[str, str]]:
    """The catalogue as ``(label, id)`` pairs for a menu, in file order, keeping the models of
    ``kind`` (one of :data:`KINDS`). A label is the id, the parameter count in billions
    (10^9) and the kinds: ``"openai/gpt-oss-20b (20.9B; mixture of experts, sliding window)"``.
    Raises ``ValueError`` for an unknown kind (a menu offers only known ones)."""
    if kind not in KINDS:
        raise _check.unknown("kind", kind, KINDS, what="model kind")
    return catalogue_menus()[kind]


def catalogue_menus() -> dict[str, list[tuple[str, str]]]:
    """:func:`catalogue_menu` for every kind of :data:`KINDS`, reading the catalogue once."""
    out: dict[str, list[tuple[str, str]]] = {kind: [] for kind in KINDS}
    for name in model_names():
        spec = get_model(name)
        tags = kinds(spec)
        item = (f"{name} ({spec.param_count() / 1e9:,.1f}B; {', '.join(tags)})", name)
        for kind in ("all", *tags):
            if kind in out:
                out[kind].append(item)
    return out


# ---- a model by Hugging Face Hub id ------------------------------------------------------------


@dataclass(frozen=True)
class HubLookup:
    """What :func:`lookup_model` found for a typed id: ``spec`` (``None`` when nothing was
    found), ``source`` (``"catalogue"``, ``"hub"`` or ``""``), ``error`` (why nothing was
    found, as a sentence; ``""`` when found) and ``offline`` (the Hub could not be asked)."""

    text: str
    spec: "ModelSpec | None" = None
    source: str = ""
    error: str = ""
    offline: bool = False

    @property
    def ok(self) -> bool:
        return self.spec is not None

    def message(self) -> str:
        """The error, or where the model was found."""
        if self.error:
            return self.error
        where = "the catalogue" if self.source == "catalogue" else "the Hub"
        return f"Found {self.spec.name or self.text} in {where}."


def lookup_model(text: str) -> HubLookup:
    """A model by the id a person types: the catalogue first (no network), else the Hugging
    Face Hub (``org/name`` or ``org/name@revision``) through :mod:`vramlib.checkpoint.hub`:
    its ``config.json`` and the index's total size, not the shards' headers, so one request
    or two. Never raises: a typo, a gated repository, an unreachable Hub or ``HF_HUB_OFFLINE``
    without a cached copy each come back as ``message``.

    The Hub's environment applies (``HF_ENDPOINT``, ``HF_TOKEN``, ``HF_HUB_OFFLINE``,
    ``VRAMLIB_CACHE``, ``VRAMLIB_HUB_TIMEOUT``); a looked-up config is cached, so the same id
    works offline afterwards.
    """
    try:
        return _lookup_model(text)
    except (ValueError, TypeError, OSError, ArithmeticError, RecursionError) as err:
        return HubLookup(str(text)[: _check.SHOWN_CHARS], error=_sentence(err))


def _lookup_model(text: str) -> HubLookup:
    from .checkpoint import hub

    if not isinstance(text, str):
        raise TypeError(f"a Hub id must be text, got {type(text).__name__}")
    given = text.strip()
    if not given:
        return HubLookup("", error="No Hub id given: type one as org/name.")
    try:
        entry = catalogue_entry(given)
    except ValueError:
        entry = None
    if entry is not None:
        return HubLookup(given, get_model(entry["id"]), "catalogue")
    if not hub.is_repo_id(given):
        return HubLookup(
            given,
            error=_sentence(
                ValueError(
                    f"not a Hub repository id: {_check.shown(given)}; write it as org/name "
                    f"(for example Qwen/Qwen3-8B), optionally with @revision"
                )
            ),
        )
    repo, _, revision = given.partition("@")
    settings = hub.Settings.from_env()
    try:
        got = hub.fetch(repo, revision or "main", headers=False)
    except hub.HubError as err:
        text_ = str(err)
        if settings.offline:
            return HubLookup(
                given,
                offline=True,
                error=(
                    f"Offline: HF_HUB_OFFLINE is set and {repo} has not been looked up on "
                    f"this machine before, so there is no copy of its config.json to read. "
                    f"Unset HF_HUB_OFFLINE and try again, or paste the config.json below."
                ),
            )
        if text_.startswith("cannot reach the Hub"):
            return HubLookup(
                given,
                offline=True,
                error=(
                    f"Offline: the Hub at {settings.endpoint} cannot be reached from here "
                    f"({text_.split(': ', 1)[-1].split(';')[0]}). Paste {repo}'s config.json "
                    f"below instead."
                ),
            )
        return HubLookup(given, error=_sentence(err))
    return HubLookup(given, _hub_spec(got), "hub")


def _hub_spec(got) -> ModelSpec:
    """A spec from a fetched config, with its checkpoint as published (as
    :func:`vramlib.checkpoint.source.load` builds it, less the shards' headers)."""
    import dataclasses

    from .checkpoint.source import Checkpoint, with_checkpoint

    config = got.config
    layers = config.get("num_hidden_layers")
    if isinstance(layers, int) and not isinstance(layers, bool) and layers > MAX_LAYERS:
        raise ValueError(
            f"{got.repo}'s config has {layers:,} layers (limit {MAX_LAYERS:,})"
        )
    spec = ModelSpec.from_hf_config(config, name=got.repo)
    if spec.max_position_embeddings is None:
        trained = model_max_context(spec, config)
        if trained is not None:
            spec = dataclasses.replace(spec, max_position_embeddings=trained)
    ck = Checkpoint.from_config(config, got.url)
    ck = dataclasses.replace(ck, index_total_size=got.index_total_size)
    return with_checkpoint(dataclasses.replace(spec, source=got.url), ck)


# ---- what an engine would do -------------------------------------------------------------------

#: the engine menu: none (vramlib's own estimate only) or an engine whose start-up is predicted
ENGINES = ("none", "vLLM", "SGLang", "llama.cpp")


@dataclass(frozen=True)
class EngineResult:
    """An engine's predicted figures per GPU (:mod:`vramlib.engines`), for display.

    ``rows``: (what, bytes) pairs; ``figures``: (what, text) pairs that are not bytes (tokens,
    concurrency, layers); ``log_lines``: what the engine would print at start-up; ``notes``:
    sentences on the settings used. ``fits``: the engine would start and hold one request.
    ``kv_cache_tokens`` and ``requests_at_once`` (of ``context`` tokens): vLLM's and SGLang's
    pool (0 for llama.cpp, whose KV buffer is sized to the context).
    ``error``: why there is no prediction (``""`` when there is one)."""

    engine: str = ""
    error: str = ""
    title: str = ""
    fits: bool = False
    kv_cache_tokens: int = 0
    requests_at_once: float = 0.0
    rows: tuple = ()
    figures: tuple = ()
    log_lines: tuple = ()
    notes: tuple = ()

    @property
    def ok(self) -> bool:
        return not self.error

    def table(self) -> str:
        """Rows and figures as a fixed-width text table (GiB = 2^30 B, GB = 10^9 B)."""
        if self.error or not (self.rows or self.figures):
            return ""
        rows = [
            (k, format_bytes(v, "GiB", 2), format_bytes(v, "GB", 2))
            for k, v in self.rows
        ]
        rows += [(k, v, "") for k, v in self.figures]
        return text_table(["per GPU", "GiB (2^30 B)", "GB (10^9 B)"], rows)

    def message(self) -> str:
        """The title (or the error), the notes, one per line."""
        return self.error or "\n".join([self.title, *self.notes])


def _engine_name(engine: object) -> str:
    if isinstance(engine, str):
        key = _check.normalise(engine).replace(".", "")
        for name in ENGINES:
            if _check.normalise(name).replace(".", "") == key:
                return name
    raise _check.unknown("engine", engine, ENGINES, what="engine")


def engine_figures(
    model: "ModelSpec | dict | str",
    engine: str = "vLLM",
    precision: "str | int" = "bf16",
    kv_dtype: "str | None" = None,
    context: int = 4096,
    batch: int = 1,
    gpu: "GPU | str" = "H100 SXM 80GB",
    n_gpus: int = 1,
    *,
    memory_fraction: float = 0.9,
) -> EngineResult:
    """What ``engine`` would allocate for ``model`` on ``n_gpus`` × ``gpu``; never raises.

    ``"vLLM"``: :func:`vramlib.engines.vllm.predict` with ``max_model_len = context``,
    ``gpu_memory_utilization = memory_fraction`` and tensor parallelism over ``n_gpus``: the
    weights, activation peak, non-torch memory and KV pool per GPU, the tokens the pool holds
    and how many ``context``-token requests fit at once (compared with ``batch``).
    ``"SGLang"``: :func:`vramlib.engines.sglang.predict` with ``mem_fraction_static =
    memory_fraction`` (SGLang's own default depends on the card: set the one you run).
    ``"llama.cpp"``: :func:`vramlib.engines.llamacpp.predict` on one GPU with every layer
    offloaded, ``n_ctx = context`` and ``precision`` read as a GGUF file type; when it does
    not fit, the highest ``-ngl`` that does (and for experts the fewest ``--n-cpu-moe``),
    each found by bisection. ``"none"`` gives an empty result.
    """
    try:
        return _engine_figures(
            model,
            engine,
            precision,
            kv_dtype,
            context,
            batch,
            gpu,
            n_gpus,
            memory_fraction,
        )
    except (ValueError, TypeError) as err:
        return EngineResult(engine=str(engine), error=_sentence(err))
    except (ArithmeticError, RecursionError, MemoryError) as err:
        return EngineResult(
            engine=str(engine),
            error=_sentence(
                ValueError(
                    f"the engine's figures could not be computed ({type(err).__name__})"
                )
            ),
        )


def _engine_figures(
    model, engine, precision, kv_dtype, context, batch, gpu, n_gpus, fraction
) -> EngineResult:
    name = _engine_name(engine)
    if name == "none":
        return EngineResult(engine="none")
    spec, _ = resolve_model(model)
    card = get_gpu(gpu, argument="gpu")
    tokens = _check.integer("context", context, minimum=1, maximum=CONTEXT_LIMIT)
    seqs = _check.integer("batch", batch, minimum=1, maximum=BATCH_LIMIT)
    t = _check.integer("n_gpus", n_gpus, minimum=1)
    frac = _check.number("memory_fraction", fraction, minimum=0.0, maximum=1.0)
    kv = None if kv_dtype in (None, AUTO) else kv_dtype
    if name == "llama.cpp":
        if is_as_published(precision):
            raise ValueError(
                "llama.cpp loads a GGUF file: choose its file type as the precision "
                "(f16, q8_0, q4_0, Q4_K_M, ...)"
            )
        return _llamacpp(spec, card, precision, kv, tokens, t)
    precision = _published(precision)
    sizes = valid_tensor_parallel_sizes(spec, max(t, 16))
    if t not in sizes:
        raise ValueError(
            f"cannot split {spec.name or spec.model_type} over {t} GPUs in "
            f"{name}: its heads allow {', '.join(map(str, sizes[:8]))}"
        )
    if name == "vLLM":
        return _vllm(spec, card, precision, kv, tokens, seqs, t, frac)
    return _sglang(spec, card, precision, kv, tokens, seqs, t, frac)


def _vllm(spec, card, precision, kv, tokens, seqs, t, frac) -> EngineResult:
    from .engines import vllm

    p = vllm.predict(
        spec,
        card,
        precision=precision,
        tensor_parallel=t,
        gpu_memory_utilization=frac,
        max_model_len=tokens,
        kv_cache_dtype=kv,
    )
    rows = (
        ("card (as torch reports it)", p.total_bytes),
        (f"requested (x {p.gpu_memory_utilization:g})", p.requested_bytes),
        ("weights", p.weights_bytes_per_gpu),
        ("activation peak", p.activation_bytes),
        ("non-torch", p.non_torch_bytes),
        ("KV pool", p.kv_pool_bytes),
    )
    figures = (
        ("KV cache tokens", f"{p.kv_cache_tokens:,}"),
        (f"requests of {tokens:,} tokens at once", f"{p.max_concurrency:,.2f}"),
        ("largest max_model_len", f"{p.largest_max_model_len:,}"),
    )
    where = f"{t} x {card.name}"
    if not p.fits:
        title = (
            f"vLLM would not start on {where} with max_model_len {tokens:,}: its KV "
            f"pool holds {p.kv_cache_tokens:,} tokens, less than one request."
        )
    else:
        held = "holds" if p.max_concurrency >= seqs else "does not hold"
        title = (
            f"vLLM on {where}: a KV pool of {format_bytes(p.kv_pool_bytes, 'GiB', 2)} "
            f"per GPU, {p.max_concurrency:,.2f} requests of {tokens:,} tokens at once "
            f"({held} the batch of {seqs})."
        )
    notes = (
        f"Settings: gpu_memory_utilization {frac:g}, max_model_len {tokens:,}, "
        f"max_num_seqs {p.max_num_seqs}, max_num_batched_tokens "
        f"{p.max_num_batched_tokens:,}, KV cache {p.kv_cache_dtype}.",
    )
    return EngineResult(
        "vLLM",
        "",
        title,
        p.fits,
        p.kv_cache_tokens,
        p.max_concurrency,
        rows,
        figures,
        tuple(p.log_lines()),
        notes,
    )


def _sglang(spec, card, precision, kv, tokens, seqs, t, frac) -> EngineResult:
    from .engines import sglang

    p = sglang.predict(
        spec,
        card,
        precision=precision,
        tensor_parallel=t,
        mem_fraction_static=frac,
        kv_cache_dtype=kv,
    )
    at_once = p.max_total_num_tokens / tokens
    rows = (
        ("free before loading", p.free_before_bytes),
        ("weights", p.weights_bytes_per_gpu),
        ("KV pool", p.kv_pool_bytes),
    )
    figures = (
        ("KV cache tokens", f"{p.max_total_num_tokens:,}"),
        (f"requests of {tokens:,} tokens at once", f"{at_once:,.2f}"),
    )
    fits = at_once >= 1
    where = f"{t} x {card.name}"
    if fits:
        held = "holds" if at_once >= seqs else "does not hold"
        title = (
            f"SGLang on {where}: {p.max_total_num_tokens:,} tokens in the KV pool, "
            f"{at_once:,.2f} requests of {tokens:,} tokens at once ({held} the batch "
            f"of {seqs})."
        )
    elif p.weights_bytes_per_gpu > p.free_before_bytes * frac:
        title = (
            f"SGLang would not start on {where}: the weights per GPU, "
            f"{format_bytes(p.weights_bytes_per_gpu, 'GiB', 2)}, leave no room for a "
            f"KV pool within mem_fraction_static {frac:g}."
        )
    else:
        title = (
            f"SGLang on {where} holds {p.max_total_num_tokens:,} tokens, less than one "
            f"request of {tokens:,}."
        )
    notes = (
        f"Settings: mem_fraction_static {frac:g} (SGLang's default depends on the "
        f"card; set the one you run), KV cache {p.kv_cache_dtype}.",
    )
    return EngineResult(
        "SGLang",
        "",
        title,
        fits,
        p.max_total_num_tokens,
        at_once,
        rows,
        figures,
        tuple(p.log_lines()),
        notes,
    )


def _largest_int(ok, lo: int, hi: int) -> int:
    """The largest x in [lo, hi] with ok(x), for ok true up to some point; lo - 1 if none."""
    if not ok(lo):
        return lo - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _llamacpp(spec, card, precision, kv, tokens, t) -> EngineResult:
    from .engines import llamacpp

    settings = dict(precision=precision, n_ctx=tokens)
    if kv is not None:
        try:
            kv = llamacpp.ggml_type(kv)
        except ValueError:
            raise ValueError(
                f"the KV cache type {kv!r} is not one llama.cpp has: it "
                f"takes {', '.join(llamacpp.KV_TYPES)}"
            ) from None
        settings.update(cache_type_k=kv, cache_type_v=kv)
    p = llamacpp.predict(spec, **settings)
    free = llamacpp.free_gpu_bytes(card)
    fits = p.gpu_bytes <= free
    top = p.n_layer + 1
    rows = (
        ("free (after the CUDA context)", free),
        ("model buffer", p.gpu_model_bytes),
        ("KV buffer", p.gpu_kv_bytes),
        ("compute buffer", p.compute_buffer_bytes),
        ("GPU total", p.gpu_bytes),
        ("host total", p.host_bytes),
    )
    figures = [("KV cells", f"{p.kv_cells:,}")]
    notes = [
        f"GGUF type {p.precision}"
        + ("" if p.exact else " (a per-tensor mix: sizes are averages)")
        + f", n_ctx {tokens:,}, KV "
        f"{p.cache_type_k}, every layer offloaded (-ngl {top})."
    ]
    if t > 1:
        notes.append(
            f"These figures are for one GPU: splitting over {t} GPUs "
            f"(--tensor-split) is not modelled here."
        )
    if fits:
        title = (
            f"llama.cpp fits {card.name} with every layer on the GPU: "
            f"{format_bytes(p.gpu_bytes, 'GiB', 2)} of {format_bytes(free, 'GiB', 2)} "
            f"free."
        )
    else:
        best = _largest_int(
            lambda n: (
                llamacpp.predict(spec, n_gpu_layers=n, **settings).gpu_bytes <= free
            ),
            0,
            top,
        )
        figures.append(("highest -ngl that fits", f"{best}" if best >= 0 else "none"))
        title = (
            f"llama.cpp does not fit {card.name} with every layer on the GPU: "
            f"{format_bytes(p.gpu_bytes, 'GiB', 2)} needed, "
            f"{format_bytes(free, 'GiB', 2)} free; "
            + (f"-ngl {best} of {top} fits." if best >= 0 else "not even -ngl 0 fits.")
        )
        if spec.is_moe:
            layers = spec.num_hidden_layers

            def moe_fits(
                k: int,
            ) -> bool:  # more expert layers on the host: less GPU memory
                return (
                    llamacpp.predict(spec, n_cpu_moe=layers - k, **settings).gpu_bytes
                    <= free
                )

            kept = _largest_int(moe_fits, 0, layers)
            fewest = None if kept < 0 else layers - kept
            figures.append(
                (
                    "fewest --n-cpu-moe, every layer offloaded",
                    "none" if fewest is None else f"{fewest}",
                )
            )
    return EngineResult(
        "llama.cpp",
        "",
        title,
        fits,
        0,
        0.0,
        rows,
        tuple(figures),
        tuple(p.log_lines()),
        tuple(notes),
    )


# ---- fine-tuning -------------------------------------------------------------------------------

#: what the sizer sizes: serving, or one of the fine-tuning methods
MODES = ("serve", "full", "LoRA", "QLoRA")
_LORA_BASES = ("bf16", "fp16", "fp32", "fp8")


@dataclass(frozen=True)
class TrainResult:
    """What :func:`fine_tune` found, shaped like :class:`SizingResult` for the same chart:
    ``per_gpu_bytes`` by part (weights, gradients, master weights, optimizer states,
    activations, adapters, a gathered layer), ``usable_bytes`` the card's capacity (before
    the CUDA context and the allocator's slack), ``max_micro_batch`` at ``seq_len`` and
    ``max_seq_len`` at ``micro_batch`` (0: none fits)."""

    error: str = ""
    model: str = ""
    method: str = ""
    params: int = 0
    trainable_params: int = 0
    gpu: str = ""
    n_gpus: int = 0
    seq_len: int = 0
    micro_batch: int = 0
    lora_rank: int = 0
    checkpointing: str = ""
    setup: str = ""
    usable_bytes: int = 0
    per_gpu_bytes: dict = field(default_factory=dict)
    cpu_bytes: int = 0
    fits: bool = False
    max_micro_batch: int = 0
    max_seq_len: int = 0

    ok = SizingResult.ok
    per_gpu_total_bytes = SizingResult.per_gpu_total_bytes
    headroom_bytes = SizingResult.headroom_bytes
    rows = SizingResult.rows
    table = SizingResult.table
    parts_gib = SizingResult.parts_gib
    message = SizingResult.message

    def headline(self) -> str:
        if self.error:
            return "no estimate: see the message"
        need = format_bytes(self.per_gpu_total_bytes, "GiB", 1)
        usable = format_bytes(self.usable_bytes, "GiB", 1)
        word = "fits" if self.fits else "does not fit"
        return f"{self.method} fine-tuning {word}: {need} of {usable} per GPU"

    def verdict(self) -> str:
        if self.error:
            return self.error
        gib = lambda b: format_bytes(b, "GiB", 2)  # noqa: E731
        where = f"{self.n_gpus} x {self.gpu}"
        if self.fits:
            return (
                f"{self.method} fine-tuning fits on {where}: "
                f"{gib(self.per_gpu_total_bytes)} of {gib(self.usable_bytes)} per GPU, "
                f"{gib(self.headroom_bytes)} to spare."
            )
        return (
            f"{self.method} fine-tuning does not fit on {where}: "
            f"{gib(self.per_gpu_total_bytes)} needed per GPU, {gib(self.usable_bytes)} "
            f"on the card, short by {gib(-self.headroom_bytes)}."
        )

    def notes(self) -> list[str]:
        if self.error:
            return []
        out = [
            self.setup,
            f"Trained parameters: {self.trainable_params:,} of {self.params:,}.",
        ]
        if self.cpu_bytes:
            out.append(
                f"Kept in host memory: {format_bytes(self.cpu_bytes, 'GiB', 2)}."
            )
        if self.max_micro_batch:
            out.append(
                f"Largest micro-batch at {self.seq_len:,} tokens: "
                f"{self.max_micro_batch:,}."
            )
        else:
            out.append(f"Not even one sequence of {self.seq_len:,} tokens fits.")
        if self.max_seq_len:
            out.append(
                f"Longest sequence at micro-batch {self.micro_batch}: "
                f"{self.max_seq_len:,} tokens."
            )
        out.append(
            "The card's capacity is compared before the CUDA context and the "
            "allocator's slack: keep a GiB or two spare."
        )
        return out


def fine_tune(
    model: "ModelSpec | dict | str",
    method: str = "LoRA",
    precision: "str | int" = "bf16",
    gpu: "GPU | str" = "H100 SXM 80GB",
    n_gpus: int = 1,
    *,
    lora_rank: int = 16,
    seq_len: int = 2048,
    micro_batch: int = 1,
    checkpointing: str = "none",
    optimizer: str = "adamw",
) -> TrainResult:
    """Memory per GPU to fine-tune ``model`` one step (:func:`vramlib.training.fine_tuning_bytes`);
    never raises.

    ``method``: ``"full"`` (mixed precision: bf16 weights and gradients, fp32 master weights
    and AdamW states; fp32 throughout when ``precision`` is ``"fp32"``), ``"LoRA"`` (a frozen
    base in ``precision``: bf16, fp16, fp32 or fp8; bf16 adapters of rank ``lora_rank`` on
    every linear layer) or ``"QLoRA"`` (the base in NF4 with double quantization; ``precision``
    is not used). ``seq_len`` tokens × ``micro_batch`` sequences size the activations;
    ``checkpointing``: ``"none"`` or ``"layer"``. Over ``n_gpus`` > 1 the model states are
    sharded with ZeRO stage 3 (FSDP). The largest micro-batch and longest sequence that fit
    the card are found by bisection (:func:`vramlib.training.max_micro_batch`,
    :func:`vramlib.training.max_seq_len`).
    """
    try:
        return _fine_tune(
            model,
            method,
            precision,
            gpu,
            n_gpus,
            lora_rank,
            seq_len,
            micro_batch,
            checkpointing,
            optimizer,
        )
    except (ValueError, TypeError) as err:
        return TrainResult(error=_sentence(err))
    except (ArithmeticError, RecursionError, MemoryError) as err:
        return TrainResult(
            error=_sentence(
                ValueError(
                    f"the fine-tuning memory could not be computed ({type(err).__name__})"
                )
            )
        )


def _fine_tune(
    model,
    method,
    precision,
    gpu,
    n_gpus,
    rank,
    seq_len,
    micro_batch,
    checkpointing,
    optimizer,
) -> TrainResult:
    from . import training

    meth = {m.lower(): m for m in MODES[1:]}.get(str(method).lower())
    if meth is None:
        raise _check.unknown("method", method, MODES[1:], what="fine-tuning method")
    spec, _ = resolve_model(model)
    card = get_gpu(gpu, argument="gpu")
    gpus = _check.integer("n_gpus", n_gpus, minimum=1, maximum=MAX_GPUS)
    seq = _check.integer("seq_len", seq_len, minimum=1, maximum=CONTEXT_LIMIT)
    micro = _check.integer("micro_batch", micro_batch, minimum=1, maximum=BATCH_LIMIT)
    r = _check.integer("lora_rank", rank, minimum=1, maximum=65536)
    zero = "3" if gpus > 1 else "0"
    if is_as_published(precision):  # fine-tuning loads a plain base; say which
        from .checkpoint.dtypes import VRAMLIB_NAME

        ck = spec.checkpoint
        if ck is not None and ck.quantization_json is not None and meth != "QLoRA":
            raise ValueError(
                "this checkpoint is published quantized; choose the base precision "
                "to fine-tune in (bf16, fp16, fp32 or fp8), or QLoRA"
            )
        precision = VRAMLIB_NAME.get(ck.dtype, "bf16") if ck is not None else "bf16"
    fmt = str(precision)
    kwargs = dict(
        method=meth.lower(),
        optimizer=optimizer,
        lora_rank=r,
        checkpointing=checkpointing,
        zero=zero,
        n_gpus=gpus,
    )
    if meth == "full":
        kwargs["precision"] = "fp32" if fmt == "fp32" else "mixed"
        how = f"{kwargs['precision']} precision"
    elif meth == "LoRA":
        if fmt not in _LORA_BASES:
            raise ValueError(
                f"LoRA keeps the frozen base in bf16, fp16, fp32 or fp8, not "
                f"{_check.shown(precision)}; for a 4-bit base choose QLoRA"
            )
        kwargs["base_dtype"] = fmt
        how = f"base in {fmt}, rank-{r} adapters on every linear layer"
    else:
        how = f"base in NF4 (double quantization), rank-{r} adapters on every linear layer"
    t = training.fine_tuning_bytes(spec, seq_len=seq, micro_batch=micro, **kwargs)
    cap = card.capacity_bytes
    parts = dict(t.parts())
    sharded = f", ZeRO-3 over {gpus} GPUs" if gpus > 1 else ""
    setup = (
        f"{meth} fine-tuning with {t.optimizer}: {how}; {seq:,} tokens x micro-batch "
        f"{micro}, checkpointing {checkpointing}{sharded}."
    )
    return TrainResult(
        model=spec.name or spec.model_type,
        method=meth,
        params=t.params,
        trainable_params=t.trainable_params,
        gpu=card.name,
        n_gpus=gpus,
        seq_len=seq,
        micro_batch=micro,
        lora_rank=r,
        checkpointing=checkpointing,
        setup=setup,
        usable_bytes=cap,
        per_gpu_bytes=parts,
        cpu_bytes=t.cpu_bytes,
        fits=t.total_bytes <= cap,
        max_micro_batch=_most(
            lambda b: (
                training.fine_tuning_bytes(
                    spec, seq_len=seq, micro_batch=b, **kwargs
                ).total_bytes
                <= cap
            ),
            micro,
            1 << 24,
        ),
        max_seq_len=_most(
            lambda n: (
                training.fine_tuning_bytes(
                    spec, seq_len=n, micro_batch=micro, **kwargs
                ).total_bytes
                <= cap
            ),
            seq,
            1 << 24,
        ),
    )


def _most(ok, start: int, limit: int) -> int:
    """The largest x in [1, limit] with ok(x), for ok true up to some point (0 if none),
    searched from ``start`` (the value asked for, usually near the answer): doubling
    while ok holds, then bisection; below ``start`` when it fails there. About
    2 log2(answer / start) calls, rather than log2(limit)."""
    start = min(max(start, 1), limit)
    if not ok(start):
        return _largest_int(ok, 1, start - 1) if start > 1 else 0
    lo = start
    while lo < limit and ok(min(2 * lo, limit)):
        lo = min(2 * lo, limit)
    return _largest_int(ok, lo, min(2 * lo - 1, limit))


__all__ = [
    "AS_PUBLISHED",
    "AUTO",
    "ENGINES",
    "KINDS",
    "MAX_GPUS",
    "MAX_LAYERS",
    "MAX_PARAMS",
    "MODES",
    "EngineResult",
    "FitRow",
    "FitTable",
    "HubLookup",
    "SizingResult",
    "TrainResult",
    "architecture",
    "catalogue_menu",
    "catalogue_menus",
    "engine_figures",
    "fine_tune",
    "fit_table",
    "kinds",
    "lookup_model",
    "resolve_model",
    "size",
]
