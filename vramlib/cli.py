"""Command line: ``python -m vramlib MODEL [options]`` prints the memory breakdown and the fit.

Every flag given is used or refused, and the answer states the inputs it used
(precision, KV-cache dtype, context, batch, overhead model, config keys that took
defaults). Bad input exits with status 2 and one line on stderr (what was wrong, naming
the flag as typed, what is accepted, the closest names; at most about 200 characters of
the bad value); it never prints a traceback. Standard library only, so it answers in
well under a second.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Sequence

from . import _check, _cli_engine, _cli_train
from .estimate import AUTO_KV_DTYPE, estimate
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
from .formats import format_names, get_format, is_as_published, kv_cache_dtypes
from .gpus import all_gpus, get_gpu
from .models import (
    ModelSpec,
    _read_json,
    catalogue_entry,
    get_model,
    model_max_context,
    model_names,
)
from .precisions import get_precision
from .tables import text_table

#: an error line is cut to this many characters (the accepted names included)
MAX_MESSAGE = 1200
_LISTINGS = ("--list-models", "--list-gpus", "--list-formats")


class UsageError(Exception):
    """A command-line mistake: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would print the usage block too
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="python -m vramlib",
        description="How much GPU memory does this LLM need?",
        epilog="Sizes are printed in GB (10^9 bytes) and GiB (2^30 bytes).",
    )
    p.add_argument(
        "model",
        nargs="?",
        help="catalogue name (e.g. Llama-3.1-8B; see --list-models), a folder, a "
        ".safetensors or .gguf file, or a Hub id (org/name)",
    )
    p.add_argument(
        "--config",
        metavar="PATH",
        help="a config.json (or its folder) instead of a catalogue name",
    )
    p.add_argument(
        "--precision",
        default=None,
        help="weight format: bf16, fp8, int4, Q4_K_M, gptq-4bit-128g, … "
        "(see --list-formats; default: 'as published', the checkpoint's own, "
        "else bf16)",
    )
    p.add_argument("--context", default=None, help="tokens per sequence (default 4096)")
    p.add_argument("--batch", default=None, help="sequences served at once (default 1)")
    p.add_argument(
        "--kv-dtype",
        default=None,
        help="KV-cache type: auto (the weights' compute dtype, the default), "
        + ", ".join(kv_cache_dtypes()),
    )
    p.add_argument(
        "--gpu",
        default=None,
        help="GPU to fit onto (e.g. H100, 'RTX 4090'); see --list-gpus",
    )
    p.add_argument(
        "--gpus",
        default=None,
        help="how many GPUs, with --gpu (default: the fewest that fit)",
    )
    p.add_argument(
        "--utilization",
        default=None,
        help="fraction of each GPU the engine may use, with --gpu (vLLM's "
        "gpu_memory_utilization; default 1.0)",
    )
    p.add_argument(
        "--overhead",
        default="vramlib",
        choices=["vramlib", "flat"],
        help="overhead model: vramlib's parts, or the articles' flat x1.2, which "
        "counts the weights only (default vramlib)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument(
        "--list-models", action="store_true", help="list the catalogue models and exit"
    )
    p.add_argument(
        "--list-gpus", action="store_true", help="list the catalogue GPUs and exit"
    )
    p.add_argument(
        "--list-formats", action="store_true", help="list the weight formats and exit"
    )
    _cli_train.add_arguments(p)
    _cli_engine.add_arguments(p)
    return p


# ---- reading flags
# -------------------------------------------------------------------------

_WHOLE = re.compile(r"[0-9]+(?:_[0-9]+)*|[0-9]{1,3}(?:,[0-9]{3})+")


def _int(
    flag: str, text: str, minimum: int = 1, maximum: int = _check.MAX_INTEGER
) -> int:
    """A whole number as typed: ``4096``, ``4_096`` or ``4,096`` (commas only in groups
    of three)."""
    bare = text.strip()
    if not _WHOLE.fullmatch(bare.lstrip("+-")) or len(bare) > 40:
        raise UsageError(f"{flag} must be a whole number, got {_check.shown(text)}")
    value = int(bare.replace("_", "").replace(",", ""))
    if value < minimum:
        raise UsageError(f"{flag} must be at least {minimum:,}, got {value:,}")
    if value > maximum:
        raise UsageError(f"{flag} must be at most {maximum:,}, got {value:,}")
    return value


def _fraction(flag: str, text: str) -> float:
    """A number in (0, 1], written with a decimal point (``0.9``, ``.9``, ``1``)."""
    bare = text.strip()
    if not re.fullmatch(r"[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?", bare) or len(bare) > 40:
        hint = (
            "; write the decimal with a point (0.9)"
            if re.fullmatch(r"[0-9]+,[0-9]+", bare)
            else ""
        )
        raise UsageError(
            f"{flag} must be a number > 0 and <= 1, got {_check.shown(text)}{hint}"
        )
    value = float(bare)
    if not 0 < value <= 1:
        raise UsageError(
            f"{flag} must be a number > 0 and <= 1 (a fraction of each GPU's memory, "
            f"as vLLM's gpu_memory_utilization), got {_check.shown(text)}"
        )
    return value


def _for_flag(flag: str, names: Sequence[str], call, *args, **kwargs):
    """Run a library call for a command-line flag; its error names the flag, not the
    Python argument(s) ``names``."""
    try:
        return call(*args, **kwargs)
    except (ValueError, TypeError) as err:
        text = str(err)
        for name in names:
            text = str(_check.renamed(ValueError(text), name, flag))
        raise UsageError(text if flag in text else f"{flag}: {text}") from None


def _reject_unused(args: argparse.Namespace, given: dict) -> None:
    """Every flag is used or refused: say which ones the chosen mode would ignore."""
    if args.overhead == "flat":
        for flag in ("--context", "--batch", "--kv-dtype"):
            if given[flag] is not None:
                raise UsageError(
                    f"{flag} has no effect with --overhead flat (it counts the "
                    f"weights x 1.2 and nothing else); leave {flag} out or use "
                    f"--overhead vramlib"
                )
    if args.gpu is None:
        for flag in ("--gpus", "--utilization"):
            if given[flag] is not None:
                raise UsageError(f"{flag} needs --gpu (which GPU?); see --list-gpus")


# ---- listings
# ------------------------------------------------------------------------------


def _listing(args: argparse.Namespace) -> str:
    if args.list_models:
        data = []
        for name in model_names():
            entry = catalogue_entry(name)
            data.append(
                {
                    "id": name,
                    "params": get_model(name).param_count(),
                    "published_params": entry.get("published_params", ""),
                }
            )
        rows = [(d["id"], f"{d['params']:,}", d["published_params"]) for d in data]
        headers = ["model", "parameters (exact)", "published"]
    elif args.list_gpus:
        data = [
            {
                "name": g.name,
                "memory_sold": g.memory_sold,
                "memory_sold_unit": g.memory_sold_unit,
                "capacity_bytes": g.capacity_bytes,
                "bandwidth_bytes_per_s": g.bandwidth_bytes_per_s,
            }
            for g in all_gpus()
        ]
        rows = [
            (
                g.name,
                f"{g.memory_sold} {g.memory_sold_unit}",
                f"{g.capacity_gib:.2f}",
                f"{g.bandwidth_gb_s:,.0f}",
            )
            for g in all_gpus()
        ]
        headers = ["GPU", "as sold", "capacity (GiB, 2^30 B)", "bandwidth (GB/s)"]
    else:
        formats = [get_format(name) for name in format_names()]
        data = [
            {"name": f.name, "family": f.family, "linear_bits": str(f.linear_bits)}
            for f in formats
        ]
        rows = [(f.name, f"{float(f.linear_bits):.3f}", f.family) for f in formats]
        headers = ["format", "bits per linear weight", "family"]
    if args.json:
        return json.dumps(data, indent=2)
    return text_table(headers, rows)


# ---- the model
# -----------------------------------------------------------------------------


def _model(args: argparse.Namespace) -> tuple[ModelSpec, "int | None"]:
    """The spec, and the longest context it was built for (max_position_embeddings) if
    known."""
    if args.config is not None:
        if not args.config.strip():
            raise UsageError(
                "--config must be a path to a config.json or its folder, got ''"
            )
        spec = _for_flag("--config", ("source",), ModelSpec.from_hf_config, args.config)
        trained = model_max_context(spec)
        if trained is None:
            path = Path(args.config)
            cfg = _read_json(path / "config.json" if path.is_dir() else path)
            trained = model_max_context(spec, cfg if isinstance(cfg, dict) else None)
        return spec, trained
    spec = _for_flag("MODEL", ("name",), get_model, args.model)
    trained = model_max_context(spec)
    if trained is None and spec.name in model_names():
        trained = model_max_context(spec, catalogue_entry(spec.name)["config"])
    return spec, trained


# ---- the command
# ---------------------------------------------------------------------------


def run(argv: Sequence[str]) -> str:
    """Run the command for ``argv`` and return what it prints; raises UsageError, ValueError, TypeError."""
    args = _parser().parse_args(list(argv))
    listings = [flag for flag in _LISTINGS if getattr(args, flag[2:].replace("-", "_"))]
    given = {
        "--context": args.context,
        "--batch": args.batch,
        "--kv-dtype": args.kv_dtype,
        "--gpus": args.gpus,
        "--utilization": args.utilization,
        "--gpu": args.gpu,
        "--precision": args.precision,
        "--config": args.config,
        "MODEL": args.model,
    }
    if listings:
        if len(listings) > 1:
            both, one = " and ".join(listings), ", ".join(_LISTINGS)
            raise UsageError(f"give one of {one} at a time, got {both}")
        extra = [flag for flag, value in given.items() if value is not None]
        if extra or args.overhead != "vramlib":
            extra += ["--overhead"] if args.overhead != "vramlib" else []
            raise UsageError(
                f"{listings[0]} lists the catalogue and takes no {', '.join(extra)}; "
                f"only --json goes with it"
            )
        return _listing(args)
    if (args.model is None) == (args.config is None):
        raise UsageError(
            "give a model name or --config PATH (one of them; try --list-models)"
        )
    if (
        args.train
    ):  # fine-tuning memory: its own flags (--gpus counts data-parallel GPUs)
        text, data = _cli_train.run(args, _model(args)[0])
        return json.dumps(data, indent=2) if args.json else text
    _reject_unused(args, given)
    if args.gpu is not None and not args.gpu.strip():
        raise UsageError("--gpu must name a GPU, got ''; see --list-gpus")
    spec, trained = _model(args)
    if args.engine:  # what a serving engine will print: its own budget and defaults
        text, data = _cli_engine.run(args, spec)
        return json.dumps(data, indent=2) if args.json else text
    precision = args.precision  # None: as published (the checkpoint's own, else bf16)
    if not is_as_published(precision):
        _for_flag("--precision", (), get_format, precision, argument="--precision")
    kv_dtype = args.kv_dtype
    if kv_dtype is not None and kv_dtype.strip().lower() != AUTO_KV_DTYPE:
        _for_flag("--kv-dtype", (), get_precision, kv_dtype, argument="--kv-dtype")
    context = _int("--context", args.context) if args.context is not None else 4096
    batch = _int("--batch", args.batch) if args.batch is not None else 1
    gpu = (
        _for_flag("--gpu", (), get_gpu, args.gpu, argument="--gpu")
        if args.gpu
        else None
    )
    n_gpus = (
        _int("--gpus", args.gpus, maximum=MAX_GPUS_LIMIT)
        if args.gpus is not None
        else None
    )
    util = (
        _fraction("--utilization", args.utilization)
        if args.utilization is not None
        else 1.0
    )
    options = dict(precision=precision, kv_dtype=kv_dtype, overhead=args.overhead)
    est = estimate(spec, context=context, batch=batch, **options)

    flat = args.overhead == "flat"
    inputs = {
        "model": est.model,
        "config": args.config,
        "precision": est.precision,
        "overhead": args.overhead,
        "defaulted_keys": list(est.defaulted_keys),
        "max_position_embeddings": trained,
    }
    if not flat:
        inputs.update(
            kv_dtype=est.kv_dtype,
            kv_dtype_auto=est.kv_dtype_auto,
            context=context,
            batch=batch,
        )
    notes: list[str] = []
    ck = spec.checkpoint
    if ck is not None and (
        ck.stored_bytes is not None or ck.index_total_size is not None
    ):  # files whose own byte counts the weights counted can be held against
        from .checkpoint.source import describe

        inputs["checkpoint"] = describe(spec)
        notes.append(f"checkpoint: {inputs['checkpoint']}")
    if trained and not flat and context > trained:
        notes.append(
            f"note: a context of {context:,} tokens is longer than the model was "
            f"built for ({trained:,} tokens, max_position_embeddings)"
        )
    result: dict = {"inputs": inputs, "estimate": est.to_dict()}
    lines = [str(est), *notes]
    if gpu is not None:
        inputs.update(gpu=gpu.name, gpus=n_gpus, utilization=util)
        lines.append("")
        n = n_gpus
        if n is None:
            try:
                n = gpus_needed(est, gpu, gpu_memory_utilization=util, max_gpus=64)
            except DoesNotFit as err:
                lines.append(str(err))
                result["fit"] = {"fits": False, "reason": str(err)}
        if n is not None:
            f = fit(est, gpu, n, gpu_memory_utilization=util)
            result["fit"] = f.to_dict()
            lines += [f.verdict(), f.table() if f.per_gpu else ""]
            if f.fits and not flat:
                lines += [""] + _maxima(
                    spec, gpu, n, est, trained, util, options, result
                )
            elif f.fits:
                lines += [
                    "",
                    "(the flat overhead model has no KV cache or activations, so it "
                    "gives no longest context or largest batch)",
                ]
    result["notes"] = notes
    if args.json:
        return json.dumps(result, indent=2)
    return "\n".join(lines).rstrip()


def _maxima(spec, gpu, n, est, trained, util, options, result) -> list[str]:
    """The longest context (up to the model's own limit) and the largest batch that
    fit."""
    limit = min(CONTEXT_LIMIT, trained) if trained else CONTEXT_LIMIT
    ctx = max_context(
        spec,
        gpu,
        n,
        batch=est.batch,
        gpu_memory_utilization=util,
        limit=limit,
        **options,
    )
    bat = max_batch(
        spec, gpu, n, context=est.context, gpu_memory_utilization=util, **options
    )
    if trained and ctx >= trained:
        ctx_by, why = (
            "max_position_embeddings",
            (" (the model's own limit, max_position_embeddings)"),
        )
    elif ctx >= CONTEXT_LIMIT:
        ctx_by, why = "search limit", " (the search limit; more may fit)"
    else:
        ctx_by, why = "memory", ""
    bat_by, bwhy = (
        ("search limit", " (the search limit; more may fit)")
        if bat >= BATCH_LIMIT
        else ("memory", "")
    )
    result.update(
        max_context=ctx,
        max_context_limited_by=ctx_by,
        max_batch=bat,
        max_batch_limited_by=bat_by,
    )
    return [
        f"longest context that fits at batch {est.batch:,}: {ctx:,} tokens{why}",
        f"most sequences of {est.context:,} tokens that fit: {bat:,}{bwhy}",
    ]


def _one_line(message: str) -> str:
    """The message on one line, each over-long word (a pasted value) cut, the whole
    capped."""
    words = [
        w if len(w) <= _check.SHOWN_CHARS else w[: _check.SHOWN_CHARS] + "…"
        for w in str(message).split()
    ]
    line = " ".join(words)
    return line if len(line) <= MAX_MESSAGE else line[: MAX_MESSAGE - 1] + "…"


def _emit(text: str, stream) -> bool:
    """Write ``text`` to ``stream``; False when the reader has gone (``| head``),
    silently."""
    try:
        print(text, file=stream)
        stream.flush()
    except BrokenPipeError:
        # nothing more can be written; keep the interpreter's own flush at exit quiet
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return False
    return True


def main(argv: "Sequence[str] | None" = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        out = run(argv)
    except (UsageError, ValueError, TypeError, OSError) as err:
        _emit(f"vramlib: error: {_one_line(str(err))}", sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # a bug, not bad input: one line still, and say so
        _emit(
            f"vramlib: internal error ({type(err).__name__}): {_one_line(str(err))}; "
            f"please report it",
            sys.stderr,
        )
        return 1
    _emit(out, sys.stdout)
    return 0
