r"""Holding the engine models against what the engines printed.

``vramlib/data/engine_logs/logs.csv`` (shipped with the package, so the chapter runs in
Colab too) holds public log lines of vLLM, SGLang and llama.cpp, each with its URL, the
model, the GPU, the settings and the figure; ``configs/`` beside it holds the configs of
models that are not in the catalogue. :func:`check_row` predicts the figure from vramlib and compares:

* **exact** kinds are arithmetic the engine does on inputs vramlib knows exactly (KV
  bytes from the config, blocks and tokens from a printed budget, GGUF tensor bytes):
  the prediction must equal the figure at its printed rounding (for a budget printed to
  two decimals of GiB, every block count that budget's rounding interval allows);
* **model** kinds rest on a stated model (activation peak, non-torch memory, compute
  buffer, a budget predicted from scratch): they must fall within the kind's tolerance,
  and the error table (:func:`summary`) says by how much they miss;
* **bound** kinds (decode speed) must not beat the bandwidth bound.

Nothing is read at import: :func:`load_rows` reads the shipped CSV (or another one) when
called.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..gpus import get_gpu
from ..models import ModelSpec, get_model
from ..units import GIB, MIB
from . import llamacpp, sglang, vllm

#: kind -> (rule, tolerance, what is compared)
TOLERANCES: dict[str, tuple[str, float, str]] = {
    "vllm_v0_blocks_from_budget": (
        "exact",
        0.0,
        "V0 blocks from the printed KV budget",
    ),
    "vllm_v0_concurrency": ("exact", 0.0, "V0 concurrency from the printed blocks"),
    "vllm_v0_max_tokens": ("exact", 0.0, "V0 token capacity from the printed blocks"),
    "vllm_tokens_from_budget": ("exact", 0.0, "V1 KV tokens from the printed budget"),
    "vllm_tokens_from_budget_tp": (
        "relative",
        0.03,
        "V1 KV tokens from one rank's budget at TP >= 2",
    ),
    "vllm_concurrency": ("exact", 0.0, "V1 concurrency from the printed tokens"),
    "vllm_weights_gib": ("exact", 0.0, "weights per GPU as loaded"),
    "vllm_budget_identity_v0": ("exact", 0.0, "V0 budget from its printed parts"),
    "vllm_budget_identity_v1": ("exact", 0.0, "budget from its printed parts"),
    "vllm_activation_gib": ("relative", 0.35, "profiling-pass activation peak"),
    "vllm_non_torch_gib": ("absolute_gib", 1.0, "non-torch memory (V0)"),
    "vllm_kv_budget_gib": ("relative", 0.25, "KV budget predicted from scratch"),
    "sglang_k_size_gib": ("exact", 0.0, "SGLang K buffer from the printed token count"),
    "sglang_tokens": ("relative", 0.10, "SGLang token pool predicted from scratch"),
    "llamacpp_gpu_model_mib": ("exact", 0.0, "llama.cpp GPU model buffer"),
    "llamacpp_host_model_mib": ("exact", 0.0, "llama.cpp host model buffer"),
    "llamacpp_kv_mib": ("exact", 0.0, "llama.cpp KV buffer"),
    "llamacpp_compute_mib": ("relative", 0.15, "llama.cpp GPU compute buffer"),
    "llamacpp_host_compute_mib": ("relative", 0.05, "llama.cpp host compute buffer"),
    "llamacpp_decode_tps": (
        "bound",
        0.0,
        "decode tokens/s against the bandwidth bound",
    ),
}


@dataclass(frozen=True)
class Check:
    """One log row held against vramlib: ``printed`` (the figure), ``predicted``, the
    signed relative ``error`` (predicted / printed - 1; 0 for an exact match within the
    printed rounding) and whether it ``passes`` its kind's rule."""

    row_id: int
    engine: str
    kind: str
    printed: float
    predicted: float
    error: float
    passes: bool
    calibrates: bool = False


def logs_path() -> Path:
    """Where the shipped log rows live: ``vramlib/data/engine_logs/logs.csv``."""
    data = resources.files("vramlib").joinpath("data")
    return Path(str(data.joinpath("engine_logs").joinpath("logs.csv")))


def load_rows(path: str | Path | None = None) -> list[dict]:
    """The rows of a logs CSV (by default the shipped one, :func:`logs_path`), each a
    dict of the CSV's columns with ``settings`` parsed from JSON and ``_dir`` the CSV's
    folder (where ``configs/NAME.json`` models are read from)."""
    p = logs_path() if path is None else Path(path)
    with p.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["settings"] = json.loads(r["settings"])
        r["_dir"] = str(p.parent)
    return rows


def model_of(row: dict) -> ModelSpec:
    """The row's model: a catalogue id, or ``configs/NAME.json`` beside the CSV."""
    name = row["model"]
    if name.startswith("configs/"):
        cfg = json.loads((Path(row["_dir"]) / name).read_text(encoding="utf-8"))
        cfg.pop("_source", None)
        return ModelSpec.from_hf_config(cfg, name=Path(name).stem)
    return get_model(name)


def _half_unit(figure: str) -> float:
    decimals = len(figure.split(".")[1]) if "." in figure else 0
    return 0.5 * 10**-decimals


def _fmt_equal(value: float, figure: str) -> bool:
    decimals = len(figure.split(".")[1]) if "." in figure else 0
    return f"{value:.{decimals}f}" == figure


def _interval(lo: float, hi: float, printed: float) -> tuple[float, float]:
    """(predicted, error): the printed value if inside [lo, hi], else the nearer end."""
    if lo <= printed <= hi:
        return printed, 0.0
    near = lo if printed < lo else hi
    return near, near / printed - 1


def check_row(row: dict) -> Check:
    """Predict one row's figure and compare it with the printed one."""
    kind, s, fig = row["kind"], row["settings"], row["figure"]
    printed = float(fig)
    if kind not in TOLERANCES:
        raise ValueError(
            f"unknown kind {kind!r} in row {row['id']}; known: {', '.join(TOLERANCES)}"
        )
    spec = model_of(row)
    tp = s.get("tensor_parallel", 1)
    kv = s.get("kv_cache_dtype")
    h = _half_unit(fig)
    predicted: float
    error = None
    if kind == "vllm_v0_blocks_from_budget":
        block = vllm.v0_block_bytes(spec, kv_cache_dtype=kv, tensor_parallel=tp)
        lo = math.floor((s["kv_budget_gib"] - 0.005) * GIB / block)
        hi = math.floor((s["kv_budget_gib"] + 0.005) * GIB / block)
        predicted, error = _interval(lo, hi, printed)
    elif kind == "vllm_v0_concurrency":
        predicted = s["num_blocks"] * 16 / s["max_model_len"]
        error = 0.0 if _fmt_equal(predicted, fig) else predicted / printed - 1
    elif kind == "vllm_v0_max_tokens":
        predicted = s["num_blocks"] * 16
    elif kind in ("vllm_tokens_from_budget", "vllm_tokens_from_budget_tp"):
        layout = vllm.kv_layout(spec, kv_cache_dtype=kv, tensor_parallel=tp)
        lo = layout.tokens(layout.num_blocks(int((s["kv_budget_gib"] - 0.005) * GIB)))
        hi = layout.tokens(layout.num_blocks(int((s["kv_budget_gib"] + 0.005) * GIB)))
        if kind == "vllm_tokens_from_budget":
            predicted, error = _interval(lo, hi, printed)
        else:
            # the rank that printed its budget may not be the one with the fewest blocks
            predicted = hi
            error = (
                0.0
                if lo <= printed <= hi
                else printed / (lo if printed < lo else hi) - 1
            )
            ok = printed <= hi and error >= -TOLERANCES[kind][1]
            return Check(
                int(row["id"]),
                row["engine"],
                kind,
                printed,
                predicted,
                error,
                ok,
                row.get("calibrates") == "yes",
            )
    elif kind == "vllm_concurrency":
        layout = vllm.kv_layout(spec, kv_cache_dtype=kv, tensor_parallel=tp)
        smallest = min(g.block_size for g, _ in layout.groups)
        blocks = s["kv_cache_tokens"] // smallest * len(layout.groups)
        predicted = layout.concurrency(
            blocks, s["max_model_len"], s.get("max_num_batched_tokens", 8192)
        )
        error = 0.0 if _fmt_equal(predicted, fig) else predicted / printed - 1
    elif kind == "vllm_weights_gib":
        predicted = (
            vllm.weights_bytes_per_gpu(spec, s.get("precision", "bf16"), tp) / GIB
        )
        error = (
            0.0 if abs(predicted - printed) <= h + 1e-12 else predicted / printed - 1
        )
    elif kind == "vllm_budget_identity_v0":
        predicted = (
            s["total_gib"] * s["gpu_memory_utilization"]
            - s["peak_torch_gib"]
            - s["non_torch_gib"]
        )
        slack = 0.005 * (s["gpu_memory_utilization"] + 2) + h
        error = 0.0 if abs(predicted - printed) <= slack else predicted / printed - 1
    elif kind == "vllm_budget_identity_v1":
        predicted = (
            s["total_gib"] * s["gpu_memory_utilization"]
            - s["weights_gib"]
            - s["activation_gib"]
            - s["non_torch_gib"]
        )
        slack = 0.005 * (s["gpu_memory_utilization"] + 3) + h
        error = 0.0 if abs(predicted - printed) <= slack else predicted / printed - 1
    elif kind == "vllm_activation_gib":
        predicted = (
            vllm.activation_peak_bytes(
                spec,
                s["max_num_batched_tokens"],
                max_num_seqs=s.get("max_num_seqs", 256),
            )
            / GIB
        )
    elif kind == "vllm_non_torch_gib":
        nt = vllm._c()["non_torch"]
        predicted = (
            nt["v0_bytes"] + (nt["nccl_bytes_per_gpu_tp"] if tp > 1 else 0)
        ) / GIB
    elif kind == "vllm_kv_budget_gib":
        p = vllm.predict(
            spec,
            get_gpu(row["gpu"]),
            precision=s.get("precision", "bf16"),
            tensor_parallel=tp,
            gpu_memory_utilization=s["gpu_memory_utilization"],
            max_model_len=s["max_model_len"],
            max_num_batched_tokens=s.get("max_num_batched_tokens"),
            accounting=s.get("accounting", "v1"),
            kv_cache_dtype=kv,
        )
        predicted = p.kv_pool_bytes / GIB
    elif kind == "sglang_k_size_gib":
        predicted = (
            sglang.kv_size_bytes(
                spec, s["tokens"], kv_cache_dtype=kv, tensor_parallel=tp
            )
            / GIB
        )
        error = 0.0 if _fmt_equal(predicted, fig) else predicted / printed - 1
    elif kind == "sglang_tokens":
        p = sglang.predict(
            spec,
            get_gpu(row["gpu"]),
            precision=s.get("precision", "bf16"),
            tensor_parallel=tp,
            mem_fraction_static=s["mem_fraction_static"],
            kv_cache_dtype=kv,
        )
        predicted = p.max_total_num_tokens
    else:
        p = llamacpp.predict(
            spec,
            precision=s.get("precision", "f16"),
            n_ctx=s["n_ctx"],
            n_gpu_layers=s.get("n_gpu_layers"),
            n_ubatch=s.get("n_ubatch", 512),
            flash_attn=s.get("flash_attn", False),
            cache_type_k=s.get("cache_type_k", "f16"),
            cache_type_v=s.get("cache_type_v", "f16"),
        )
        if kind == "llamacpp_decode_tps":
            predicted = llamacpp.bandwidth_bound(p, get_gpu(row["gpu"]))
            ok = printed <= predicted
            return Check(
                int(row["id"]),
                row["engine"],
                kind,
                printed,
                predicted,
                printed / predicted - 1,
                ok,
                row.get("calibrates") == "yes",
            )
        predicted = {
            "llamacpp_gpu_model_mib": p.gpu_model_bytes,
            "llamacpp_host_model_mib": p.host_model_bytes,
            "llamacpp_kv_mib": p.kv_bytes,
            "llamacpp_compute_mib": p.compute_buffer_bytes,
            "llamacpp_host_compute_mib": p.host_compute_buffer_bytes,
        }[kind] / MIB
    rule, tol, _ = TOLERANCES[kind]
    if error is None:
        if rule == "exact":
            error = 0.0 if _fmt_equal(predicted, fig) else predicted / printed - 1
        else:
            error = predicted / printed - 1
    if rule == "exact":
        ok = error == 0.0
    elif rule == "relative":
        ok = abs(error) <= tol
    else:  # absolute_gib
        ok = abs(predicted - printed) <= tol
    return Check(
        int(row["id"]),
        row["engine"],
        kind,
        printed,
        predicted,
        error,
        ok,
        row.get("calibrates") == "yes",
    )


def summary(checks: list[Check]) -> list[dict]:
    """The error table, one line per kind (as in llm-d's planner report): rows, rows
    passing, mean and max absolute relative error, and the kind's rule."""
    out = []
    for kind, (rule, tol, what) in TOLERANCES.items():
        mine = [c for c in checks if c.kind == kind]
        if not mine:
            continue
        errors = [abs(c.error) for c in mine]
        out.append(
            {
                "kind": kind,
                "what": what,
                "rule": rule,
                "tolerance": tol,
                "rows": len(mine),
                "passing": sum(c.passes for c in mine),
                "mean_abs_error": sum(errors) / len(errors),
                "max_abs_error": max(errors),
            }
        )
    return out


__all__ = [
    "TOLERANCES",
    "Check",
    "check_row",
    "load_rows",
    "logs_path",
    "model_of",
    "summary",
]
