"""Command line: ``python -m vramlib MODEL [options]`` prints the memory breakdown and the fit.

Bad input exits with status 2 and one line on stderr (what was wrong, what is accepted, the closest
names); it never prints a traceback. Standard library only, so it answers in well under a second.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Sequence

from .estimate import estimate
from .fit import DoesNotFit, fit, gpus_needed, max_batch, max_context
from .formats import format_names, get_format, kv_cache_dtypes
from .gpus import all_gpus, get_gpu
from .models import ModelSpec, catalogue_entry, get_model, model_names
from .precisions import get_precision
from . import _cli_engine
from .tables import text_table
from .units import format_bytes


class UsageError(Exception):
    """A command-line mistake: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would print the usage block too
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m vramlib", description="How much GPU memory does this LLM need?",
                epilog="Sizes are printed in GB (10^9 bytes) and GiB (2^30 bytes).")
    p.add_argument("model", nargs="?", help="catalogue name (e.g. Llama-3.1-8B; see --list-models), a "
                                            "folder, a .safetensors or .gguf file, or a Hub id (org/name)")
    p.add_argument("--config", metavar="PATH", help="a config.json (or its folder) instead of a catalogue name")
    p.add_argument("--precision", default=None, help="weight format: bf16, fp8, int4, Q4_K_M, gptq-4bit-128g, … "
                                                      "(see --list-formats; default: as published, "
                                                      "the checkpoint's own, else bf16)")
    p.add_argument("--context", default="4096", help="tokens per sequence (default 4096)")
    p.add_argument("--batch", default="1", help="sequences served at once (default 1)")
    p.add_argument("--kv-dtype", default=None, help="KV-cache type: " + ", ".join(kv_cache_dtypes()))
    p.add_argument("--gpu", default=None, help="GPU to fit onto (e.g. H100, 'RTX 4090'); see --list-gpus")
    p.add_argument("--gpus", default=None, help="how many GPUs (default: the fewest that fit)")
    p.add_argument("--utilization", default="1.0", help="fraction of each GPU the engine may use (vLLM's "
                                                        "gpu_memory_utilization; default 1.0)")
    p.add_argument("--overhead", default="vramlib", choices=["vramlib", "flat"],
                   help="overhead model: vramlib's parts, or the articles' flat x1.2 (default vramlib)")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument("--list-models", action="store_true", help="list the catalogue models and exit")
    p.add_argument("--list-gpus", action="store_true", help="list the catalogue GPUs and exit")
    p.add_argument("--list-formats", action="store_true", help="list the weight formats and exit")
    _cli_engine.add_arguments(p)
    return p


def _int(flag: str, text: str, minimum: int = 1) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise UsageError(f"{flag} must be a whole number, got {text!r}") from None
    if value < minimum:
        raise UsageError(f"{flag} must be at least {minimum}, got {value}")
    return value


def _float(flag: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"{flag} must be a number, got {text!r}") from None


def _for_flag(flag: str, call, *args, **kwargs):
    """Run a library call for a command-line flag; its error names the flag, not the Python argument."""
    try:
        return call(*args, **kwargs)
    except (ValueError, TypeError) as err:
        text = re.sub(r" for [a-z_]+\.", f" for {flag}.", str(err), count=1)
        raise UsageError(text if flag in text else f"{flag}: {text}") from None


def _listing(args: argparse.Namespace) -> str:
    if args.list_models:
        rows = []
        for name in model_names():
            entry = catalogue_entry(name)
            rows.append((name, f"{get_model(name).param_count():,}", entry.get("published_params", "")))
        return text_table(["model", "parameters (exact)", "published"], rows)
    if args.list_gpus:
        rows = [(g.name, f"{g.memory_sold} {g.memory_sold_unit}", f"{g.capacity_gib:.2f}",
                 f"{g.bandwidth_gb_s:,.0f}") for g in all_gpus()]
        return text_table(["GPU", "as sold", "capacity (GiB, 2^30 B)", "bandwidth (GB/s)"], rows)
    rows = [(name, f"{float(get_format(name).linear_bits):.3f}", get_format(name).family)
            for name in format_names()]
    return text_table(["format", "bits per linear weight", "family"], rows)


def run(argv: Sequence[str]) -> str:
    """Run the command for ``argv`` and return what it prints; raises UsageError, ValueError, TypeError."""
    args = _parser().parse_args(list(argv))
    if args.list_models or args.list_gpus or args.list_formats:
        return _listing(args)
    if bool(args.model) == bool(args.config):
        raise UsageError("give a model name or --config PATH (one of them; try --list-models)")
    if args.config:
        spec = _for_flag("--config", ModelSpec.from_hf_config, args.config)
    else:
        spec = _for_flag("MODEL", get_model, args.model)
    if args.precision is not None:  # None: as published (issue 13)
        _for_flag("--precision", get_format, args.precision)
    if args.kv_dtype is not None:
        _for_flag("--kv-dtype", get_precision, args.kv_dtype)
    if args.engine:
        text, data = _cli_engine.run(args, spec)
        return json.dumps(data, indent=2) if args.json else text
    est = estimate(spec, precision=args.precision, context=_int("--context", args.context),
                   batch=_int("--batch", args.batch), kv_dtype=args.kv_dtype, overhead=args.overhead)
    util = _float("--utilization", args.utilization)
    result: dict = {"estimate": est.to_dict()}
    lines = [str(est), ""]
    if args.gpu:
        gpu = _for_flag("--gpu", get_gpu, args.gpu)
        if args.gpus is not None:
            n = _int("--gpus", args.gpus)
        else:
            try:
                n = gpus_needed(est, gpu, gpu_memory_utilization=util)
            except DoesNotFit as err:
                n = None
                lines.append(str(err))
                result["fit"] = {"fits": False, "reason": str(err)}
        if n is not None:
            f = fit(est, gpu, n, gpu_memory_utilization=util)
            result["fit"] = f.to_dict()
            lines += [f.verdict(), f.table() if f.per_gpu else ""]
            if f.fits:
                ctx = max_context(spec, gpu, n, batch=est.batch, precision=args.precision,
                                  kv_dtype=args.kv_dtype, overhead=args.overhead, gpu_memory_utilization=util)
                bat = max_batch(spec, gpu, n, context=est.context, precision=args.precision,
                                kv_dtype=args.kv_dtype, overhead=args.overhead, gpu_memory_utilization=util)
                result["max_context"], result["max_batch"] = ctx, bat
                lines += ["", f"longest context that fits at batch {est.batch}: {ctx:,} tokens",
                          f"most sequences of {est.context:,} tokens that fit: {bat:,}"]
    if args.json:
        return json.dumps(result, indent=2)
    return "\n".join(line for line in lines).rstrip()


def main(argv: "Sequence[str] | None" = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        out = run(argv)
    except (UsageError, ValueError, TypeError) as err:
        message = " ".join(str(err).split())
        print(f"vramlib: error: {message}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"vramlib: error: {err}", file=sys.stderr)
        return 2
    print(out)
    return 0
