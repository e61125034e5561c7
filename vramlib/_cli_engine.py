"""Command-line flags for ``--engine``: what vLLM, SGLang or llama.cpp will give you.

``cli.py`` calls :func:`add_arguments` on its parser and, when ``--engine`` is given,
hands the parsed arguments and the model spec to :func:`run`, which returns the text to
print and the JSON object (every figure under ``engine``). Errors are ``ValueError``
naming the flag as typed; the CLI turns them into one line and exit status 2.
"""

from __future__ import annotations

import argparse

from . import _check
from .units import format_bytes

ENGINE_NAMES = ("vllm", "sglang", "llama.cpp")


class _Default(str):
    """A parser default, told apart from the same text typed by the user."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the engine flags (``--engine``, ``--ngl``, ...) to the vramlib parser."""
    g = parser.add_argument_group("serving engine (with --engine)")
    g.add_argument(
        "--engine",
        default=None,
        help="predict what an engine prints: vllm, sglang or llama.cpp",
    )
    g.add_argument(
        "--ngl",
        default=None,
        help="llama.cpp -ngl: layers on the GPU (default: all, and the output)",
    )
    g.add_argument(
        "--n-cpu-moe",
        default="0",
        help="llama.cpp --n-cpu-moe: layers whose experts stay on the CPU",
    )
    g.add_argument(
        "--flash-attn", action="store_true", help="llama.cpp flash attention"
    )
    g.add_argument("--ubatch", default="512", help="llama.cpp -ub (default 512)")
    g.add_argument(
        "--host-bandwidth",
        default=None,
        help="host memory bandwidth in GB/s (10^9 B/s), for llama.cpp's decode "
        "bound when weights stay on the CPU",
    )
    g.add_argument(
        "--max-num-seqs", default="256", help="vLLM max_num_seqs (default 256)"
    )
    g.add_argument(
        "--max-num-batched-tokens",
        default=None,
        help="vLLM max_num_batched_tokens (default 8192 in V1)",
    )
    g.add_argument(
        "--accounting",
        default="v1",
        help="vLLM accounting: v1 (default) or v0 (the older V0 worker)",
    )
    g.add_argument(
        "--mem-fraction-static",
        default=None,
        help="SGLang mem_fraction_static (or give --utilization)",
    )
    # --utilization and --context default to None in the main parser: "not given", so an
    # engine applies its own defaults (vLLM's 0.9, the model's context length).


def _int(flag: str, text: "str | None", minimum: int = 0) -> "int | None":
    if text is None:
        return None
    try:
        value = int(str(text).replace("_", "").replace(",", ""))
    except ValueError:
        raise ValueError(f"{flag} must be a whole number, got {text!r}") from None
    if value < minimum:
        raise ValueError(f"{flag} must be at least {minimum}, got {value}")
    return value


def _float(flag: str, text: "str | None") -> "float | None":
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{flag} must be a number, got {text!r}") from None


def _given(value: object) -> bool:
    return value is not None and not isinstance(value, _Default)


def engine_name(text: str) -> str:
    """``--engine`` as typed, to its canonical name (typos get a suggestion)."""
    key = _check.normalise(text).replace(".", "")
    for name in ENGINE_NAMES:
        if _check.normalise(name).replace(".", "") == key:
            return name
    raise _check.unknown("--engine", text, ENGINE_NAMES, what="engine")


def _both(n: int) -> str:
    return f"{format_bytes(n, 'GB', 2)} = {format_bytes(n, 'GiB', 2)}"


def run(args: argparse.Namespace, spec) -> tuple[str, dict]:
    """The engine's figures for ``spec`` with the parsed ``args``: (text, json)."""
    from .engines import llamacpp, sglang, vllm
    from .engines._common import precision_label
    from .formats import is_as_published
    from .gpus import get_gpu

    engine = engine_name(args.engine)
    precision = args.precision  # None: the checkpoint as published (vLLM, SGLang)
    if is_as_published(precision) and engine == "llama.cpp":
        raise ValueError(
            "--engine llama.cpp needs --precision: the GGUF file type (f16, q8_0, "
            "q4_0, Q4_K_M, ...)"
        )
    gpu = None
    if args.gpu:
        try:
            gpu = get_gpu(args.gpu)
        except ValueError as err:
            raise ValueError(str(err).replace(" for name.", " for --gpu.")) from None
    tp = _int("--gpus", args.gpus, 1) or 1
    context = _int("--context", args.context, 1) if _given(args.context) else None
    kv = args.kv_dtype
    if engine == "vllm":
        if gpu is None:
            raise ValueError("--engine vllm needs --gpu NAME (see --list-gpus)")
        util = (
            _float("--utilization", args.utilization)
            if _given(args.utilization)
            else 0.9
        )
        p = vllm.predict(
            spec,
            gpu,
            precision=precision,
            tensor_parallel=tp,
            gpu_memory_utilization=util,
            max_model_len=context,
            max_num_batched_tokens=_int(
                "--max-num-batched-tokens", args.max_num_batched_tokens, 1
            ),
            max_num_seqs=_int("--max-num-seqs", args.max_num_seqs, 1),
            kv_cache_dtype=kv,
            accounting=args.accounting,
        )
        data = p.to_dict()
        rows = [
            ("card as torch reports it", p.total_bytes),
            (f"requested (x {p.gpu_memory_utilization:g})", p.requested_bytes),
            ("weights per GPU", p.weights_bytes_per_gpu),
            ("activation peak (model)", p.activation_bytes),
            ("non-torch", p.non_torch_bytes),
            ("KV pool", p.kv_pool_bytes),
        ]
        label = precision_label(spec, precision)
        data["precision"] = label
        lines = [f"vLLM ({p.accounting}) on {tp} x {p.gpu}: {p.model}, {label}"]
        lines += [f"  {name:<26} {_both(n)}" for name, n in rows]
        lines += ["", "vLLM would print:"] + [f"  {x}" for x in p.log_lines()]
        lines += [
            "",
            f"largest max_model_len that fits: {p.largest_max_model_len:,} tokens",
            f"requests of {p.max_model_len:,} tokens at once: {p.max_concurrency:.2f}",
        ]
    elif engine == "sglang":
        if gpu is None:
            raise ValueError("--engine sglang needs --gpu NAME (see --list-gpus)")
        if args.mem_fraction_static is not None:
            mfs = _float("--mem-fraction-static", args.mem_fraction_static)
        elif _given(args.utilization):
            mfs = _float("--utilization", args.utilization)
        else:
            raise ValueError(
                "--engine sglang needs --mem-fraction-static F (or "
                "--utilization F): SGLang's default depends on the card"
            )
        p = sglang.predict(
            spec,
            gpu,
            precision=precision,
            tensor_parallel=tp,
            mem_fraction_static=mfs,
            kv_cache_dtype=kv,
        )
        data = p.to_dict()
        label = precision_label(spec, precision)
        data["precision"] = label
        length = context or 4096
        data["max_concurrency"] = p.max_concurrency(length)
        lines = [
            f"SGLang on {tp} x {p.gpu}: {p.model}, {label}, "
            f"mem_fraction_static {mfs:g}",
            f"  weights per GPU        {_both(p.weights_bytes_per_gpu)}",
            f"  KV pool                {_both(p.kv_pool_bytes)}",
            f"  tokens                 {p.max_total_num_tokens:,}",
            f"  requests of {length:,} tokens at once: {p.max_concurrency(length):.2f}",
            "",
            "SGLang would print:",
        ] + [f"  {x}" for x in p.log_lines()]
    else:
        n_ctx = context or 4096
        settings = dict(
            precision=precision,
            n_ctx=n_ctx,
            n_cpu_moe=_int("--n-cpu-moe", args.n_cpu_moe, 0),
            n_ubatch=_int("--ubatch", args.ubatch, 1),
            flash_attn=bool(args.flash_attn),
        )
        if kv:
            settings.update(cache_type_k=kv, cache_type_v=kv)
        p = llamacpp.predict(spec, n_gpu_layers=_int("--ngl", args.ngl, 0), **settings)
        data = p.to_dict()
        lines = [
            f"llama.cpp: {p.model}, {p.precision}"
            + ("" if p.exact else " (a per-tensor mix: sizes are averages)"),
            f"  -ngl {p.n_gpu_layers} of {p.n_layer + 1}, n_ctx {n_ctx:,} "
            f"({p.kv_cells:,} cells)",
            f"  GPU: model {_both(p.gpu_model_bytes)}, KV {_both(p.gpu_kv_bytes)}, "
            f"compute {_both(p.compute_buffer_bytes)}",
            f"  GPU total {_both(p.gpu_bytes)}",
            f"  host total {_both(p.host_bytes)}",
            "",
            "llama.cpp would print:",
        ] + [f"  {x}" for x in p.log_lines()]
        if gpu is not None:
            free = llamacpp.free_gpu_bytes(gpu)
            data["fits_gpu"] = p.gpu_bytes <= free
            best = llamacpp.max_gpu_layers(spec, gpu, **settings)
            data["max_gpu_layers"] = best
            verdict = "fits" if data["fits_gpu"] else "does not fit"
            lines += [
                "",
                f"-ngl {p.n_gpu_layers} {verdict} {gpu.name} "
                f"({_both(free)} free after the CUDA context)",
                f"highest -ngl that fits: {best}",
            ]
            if spec.is_moe:
                fewest = llamacpp.min_cpu_moe(spec, gpu, **settings)
                data["min_cpu_moe"] = fewest
                lines.append(f"fewest --n-cpu-moe with every layer offloaded: {fewest}")
            host = _float("--host-bandwidth", args.host_bandwidth)
            if p.host_read_bytes and host is None:
                lines.append(
                    "decode bound: give --host-bandwidth GB/s (weights are read "
                    "from host memory)"
                )
            else:
                bound = llamacpp.bandwidth_bound(p, gpu, host)
                data["decode_tokens_per_s_bound"] = bound
                lines.append(f"decode bound: {bound:,.1f} tokens/s")
    return "\n".join(lines), {"engine": data}
