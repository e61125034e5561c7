"""Measure the memory a transformers model really uses, next to vramlib's prediction for it.

One run builds a catalogue architecture with random weights from its config (nothing is downloaded),
runs a prefill of ``--tokens`` tokens in each of ``--batch`` sequences and ``--decode-steps`` greedy
decode steps, records memory after each phase, and appends ONE row to a CSV together with vramlib's
prediction for the same configuration. The columns are described in vramlib/data/measurements/README.md.

    python tools/measure.py --model Llama-3.1-8B --dtype bf16 --tokens 2048 --batch 1 \\
        --decode-steps 8 --layers 2 --device cpu --out vramlib/data/measurements/cpu.csv
    python tools/measure.py --grid cpu     # the CPU grid, each run in a fresh process
    python tools/measure.py --grid gpu     # the GPU grid (needs CUDA); resumable, see --help

What is exact and what is not: the weights (sum of numel x element size over the parameters) and the
KV cache (sum over the DynamicCache layers' key and value tensors) are counted tensor by tensor, on
any device. Process RSS (CPU) and torch.cuda's allocator counters plus the driver's used memory (GPU)
are what the operating system and the driver report, so they include whatever else the process holds.

Models too large for the machine are cut to ``--layers`` layers (and ``--experts`` routed experts);
the row records the measured and the full sizes, and vramlib's prediction is made for the same reduced
config (``ModelSpec.from_hf_config`` of the modified dict), so the two always describe one model.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
try:
    import vramlib  # noqa: F401
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))

from vramlib.estimate import estimate  # noqa: E402
from vramlib.models import ModelSpec, catalogue_entry  # noqa: E402

DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}
PHASES = ("load", "prefill", "decode")
EXPERT_KEYS = (
    "num_local_experts",
    "n_routed_experts",
    "num_experts",
)  # mixtral, deepseek_v3, qwen*_moe
PER_LAYER_LISTS = ("layer_types", "mlp_layer_types")

COLUMNS = [
    # when, where, with what
    "date_utc",
    "device",
    "device_name",
    "driver_version",
    "cuda_version",
    "torch_version",
    "transformers_version",
    "python_version",
    "threads",
    "attn_implementation",
    "wall_s",
    # what ran
    "model",
    "model_type",
    "dtype",
    "tokens",
    "batch",
    "decode_steps",
    "kv_tokens",
    "layers_measured",
    "layers_full",
    "experts_measured",
    "experts_full",
    # exact counts (any device)
    "params_measured",
    "weights_bytes_measured",
    "buffers_bytes_measured",
    "kv_prefill_bytes_measured",
    "kv_bytes_measured",
    # CUDA: what the process and the driver report (empty on CPU)
    "baseline_driver_used_bytes",
    "context_driver_used_bytes",
    "cuda_context_bytes_measured",
    *[
        f"{p}_{c}"
        for p in PHASES
        for c in (
            "allocated_bytes",
            "max_allocated_bytes",
            "reserved_bytes",
            "driver_used_bytes",
        )
    ],
    # host process resident memory (any device)
    "baseline_rss_bytes",
    *[f"{p}_{c}" for p in PHASES for c in ("rss_bytes", "peak_rss_bytes")],
    # vramlib's prediction for the same (possibly reduced) config
    "pred_params",
    "pred_weights_bytes",
    "pred_kv_bytes",
    "pred_kv_prefill_bytes",
    "pred_activation_bytes",
    "pred_overhead_bytes",
    "pred_total_bytes",
    "pred_flat_total_bytes",
]

# ---- the grids --------------------------------------------------------------------------------
# Each entry: model, dtype, tokens, batch, decode_steps, layers (None = all), experts (None = all).
# The CPU grid: every model cut to one or two layers (MoE also to fewer experts) so that fp32 stays
# under about 6 GB, and contexts of 512 to 4096 tokens: on two CPU cores a 4096-token prefill of one
# layer takes tens of seconds and 32K would take many minutes, so long contexts are for the GPU grid.
CPU_GRID = [
    # multi-head attention (seed 002's LLaMA 7B)
    ("huggyllama/llama-7b", "bf16", 512, 4, 8, 2, None),
    ("huggyllama/llama-7b", "fp32", 1024, 1, 8, 2, None),
    # grouped-query attention, 128K vocabulary
    ("meta-llama/Llama-3.1-8B", "bf16", 512, 4, 8, 1, None),
    ("meta-llama/Llama-3.1-8B", "bf16", 2048, 2, 8, 1, None),
    ("meta-llama/Llama-3.1-8B", "fp32", 512, 1, 8, 1, None),
    # sliding window of 4096: the long run fills the window
    ("mistralai/Mistral-7B-v0.1", "bf16", 4096, 1, 8, 1, None),
    ("mistralai/Mistral-7B-v0.1", "fp32", 512, 2, 8, 1, None),
    # sliding window of 2047 on every layer, fused qkv
    ("microsoft/Phi-3-mini-4k-instruct", "bf16", 4096, 1, 8, 2, None),
    ("microsoft/Phi-3-mini-4k-instruct", "fp32", 1024, 2, 8, 2, None),
    # qkv biases, 152K vocabulary
    ("Qwen/Qwen2.5-7B", "bf16", 512, 4, 8, 1, None),
    ("Qwen/Qwen2.5-7B", "fp32", 1024, 1, 8, 1, None),
    # mixture of experts: 4 of Mixtral's 8 experts, 32 of Qwen3-30B-A3B's 128
    ("mistralai/Mixtral-8x7B-v0.1", "bf16", 512, 2, 8, 1, 4),
    ("mistralai/Mixtral-8x7B-v0.1", "fp32", 512, 1, 8, 1, 4),
    ("Qwen/Qwen3-30B-A3B", "bf16", 512, 2, 8, 1, 32),
    ("Qwen/Qwen3-30B-A3B", "fp32", 512, 1, 8, 1, 32),
    # sliding window of 4096 on every other layer (one sliding, one full), tied embeddings, 256K vocabulary
    ("google/gemma-2-9b", "bf16", 512, 2, 8, 2, None),
    ("google/gemma-2-9b", "bf16", 4096, 1, 8, 2, None),
    ("google/gemma-2-9b", "fp32", 1024, 1, 8, 2, None),
    # multi-head latent attention: one (dense) layer of DeepSeek-V3; its 129K x 7168 embedding and LM
    # head alone are 7.4 GB in fp32, so bf16 only
    ("deepseek-ai/DeepSeek-V3", "bf16", 512, 2, 8, 1, None),
]
_GPU_MODELS = [  # full models where they fit an 80 GB card with room for a 32K cache; else cut
    ("meta-llama/Llama-3.1-8B", None, None),
    ("mistralai/Mistral-7B-v0.1", None, None),
    ("Qwen/Qwen2.5-7B", None, None),
    ("microsoft/Phi-3-mini-4k-instruct", None, None),
    ("Qwen/Qwen3-30B-A3B", 12, None),
    ("deepseek-ai/DeepSeek-V3", 4, None),  # 3 dense layers and the first MoE layer
]
_GPU_SHAPES = {
    "bf16": ((512, 1), (2048, 4), (8192, 1), (8192, 16), (32768, 1), (32768, 4)),
    "fp32": ((512, 1), (2048, 4), (8192, 1), (32768, 1)),
}  # fp32's larger prefills need > 80 GB
GPU_GRID = [
    (m, d, t, b, 16, layers, experts)
    for m, layers, experts in _GPU_MODELS
    for d in ("bf16", "fp32")
    for t, b in _GPU_SHAPES[d]
    if not (d == "fp32" and m.startswith("deepseek"))
]  # fp32 DeepSeek-V3 (4 layers): 60 GB of weights
GRIDS = {"cpu": CPU_GRID, "gpu": GPU_GRID}
DEFAULT_OUT = {
    "cpu": "vramlib/data/measurements/cpu.csv",
    "gpu": "vramlib/data/measurements/gpu.csv",
}


# ---- the configuration -------------------------------------------------------------------------


def reduced_config(
    name: "str | dict", layers: "int | None" = None, experts: "int | None" = None
) -> dict:
    """The catalogue config of ``name`` (or a config dict holding ``model_type``) with at most
    ``layers`` layers and ``experts`` routed experts.

    Returns ``{"config": dict, "layers_full": int, "experts_full": int}``. Per-layer lists are cut to
    the layers kept; the FP8 ``quantization_config`` is dropped (the run stores plain floats); token
    ids are cleared so that random vocabularies need no special tokens.
    """
    if isinstance(name, dict):
        cfg, name = json.loads(json.dumps(name)), f"the {name.get('model_type')} config"
    else:
        cfg = catalogue_entry(name)["config"]
    cfg.pop("quantization_config", None)
    layers_full = cfg["num_hidden_layers"]
    key = next((k for k in EXPERT_KEYS if cfg.get(k)), None)
    experts_full = cfg[key] if key else 0
    if layers is not None:
        if not 1 <= layers <= layers_full:
            raise ValueError(
                f"layers must be between 1 and {layers_full} for {name}, got {layers}"
            )
        cfg["num_hidden_layers"] = layers
        for lst in PER_LAYER_LISTS:
            if isinstance(cfg.get(lst), list):
                cfg[lst] = cfg[lst][:layers]
    if experts is not None:
        if not key:
            raise ValueError(
                f"experts is for mixture-of-experts models; {name} has no routed experts"
            )
        if not cfg.get("num_experts_per_tok", 1) <= experts <= experts_full:
            raise ValueError(
                f"experts must be between {cfg.get('num_experts_per_tok', 1)} (experts per "
                f"token) and {experts_full} for {name}, got {experts}"
            )
        cfg[key] = experts
    for token in ("pad_token_id", "bos_token_id", "eos_token_id"):
        cfg[token] = None
    return {"config": cfg, "layers_full": layers_full, "experts_full": experts_full}


def predict(cfg: dict, dtype: str, tokens: int, batch: int, decode_steps: int) -> dict:
    """vramlib's prediction for the run: the cache holds ``tokens + decode_steps`` tokens per sequence
    at the end, the prefill processes ``tokens`` at once (the activation peak)."""
    spec = ModelSpec.from_hf_config(cfg)
    kv_tokens = tokens + decode_steps
    e = estimate(
        spec,
        precision=dtype,
        context=kv_tokens,
        batch=batch,
        kv_dtype=dtype,
        prefill_chunk=tokens,
    )
    flat = estimate(
        spec,
        precision=dtype,
        context=kv_tokens,
        batch=batch,
        kv_dtype=dtype,
        overhead="flat",
    )
    pre = estimate(spec, precision=dtype, context=tokens, batch=batch, kv_dtype=dtype)
    return {
        "pred_params": spec.param_count(),
        "pred_weights_bytes": e.weights_bytes,
        "pred_kv_bytes": e.kv_cache_bytes,
        "pred_kv_prefill_bytes": pre.kv_cache_bytes,
        "pred_activation_bytes": e.activation_bytes,
        "pred_overhead_bytes": e.overhead_bytes,
        "pred_total_bytes": e.total_bytes,
        "pred_flat_total_bytes": flat.total_bytes,
    }


# ---- what the machine reports ------------------------------------------------------------------


def _proc_status_bytes(field: str) -> "int | None":
    """VmRSS / VmHWM of this process from /proc (Linux), in bytes; None elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _reset_peak_rss() -> None:
    """Reset VmHWM to the current RSS (Linux: write 5 to /proc/self/clear_refs); no-op elsewhere."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _rss() -> dict:
    return {
        "rss_bytes": _proc_status_bytes("VmRSS"),
        "peak_rss_bytes": _proc_status_bytes("VmHWM"),
    }


def _nvidia_smi(query: str, index: int) -> "str | None":
    exe = shutil.which("nvidia-smi")
    if not exe:
        return None
    out = subprocess.run(
        [
            exe,
            f"--query-gpu={query}",
            "--format=csv,noheader,nounits",
            "-i",
            str(index),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip() or None if out.returncode == 0 else None


def driver_used_bytes(index: int = 0) -> "int | None":
    """Memory in use on GPU ``index`` as the driver reports it (all processes, contexts included)."""
    try:
        import pynvml

        pynvml.nvmlInit()
        return int(
            pynvml.nvmlDeviceGetMemoryInfo(
                pynvml.nvmlDeviceGetHandleByIndex(index)
            ).used
        )
    except Exception:  # noqa: BLE001 - pynvml absent or failing: fall back to nvidia-smi
        mib = _nvidia_smi("memory.used", index)
        return int(mib) * 2**20 if mib else None


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# ---- one run -------------------------------------------------------------------------------------


def _fill(model, torch, seed: int = 0) -> None:
    """Give every parameter small pseudo-random values by tiling one seeded block (fast; weights were
    allocated uninitialised). Values do not change the memory, only whether the forward is finite."""
    g = torch.Generator().manual_seed(seed)
    block = (torch.rand(1 << 20, generator=g) - 0.5) * 0.04
    with torch.no_grad():
        for p in model.parameters():
            b = block.to(device=p.device, dtype=p.dtype)
            flat = p.view(-1)
            for i in range(0, flat.numel(), b.numel()):
                part = flat[i : i + b.numel()]
                part.copy_(b[: part.numel()])


def kv_bytes(cache) -> int:
    """Bytes held by a transformers Cache: its layers' key and value tensors."""
    return sum(
        t.numel() * t.element_size()
        for layer in cache.layers
        for t in (getattr(layer, "keys", None), getattr(layer, "values", None))
        if t is not None
    )


def measure(
    model: "str | dict",
    dtype: str,
    tokens: int,
    batch: int,
    decode_steps: int,
    layers: "int | None" = None,
    experts: "int | None" = None,
    device: str = "cpu",
) -> dict:
    """Run one configuration and return its CSV row (a dict keyed by ``COLUMNS``). ``model`` is a
    catalogue name or a config dict (with ``model_type``; recorded as ``config:<model_type>``)."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    for arg, value, low in (
        ("tokens", tokens, 1),
        ("batch", batch, 1),
        ("decode_steps", decode_steps, 0),
    ):
        if not isinstance(value, int) or value < low:
            raise ValueError(f"{arg} must be an integer >= {low}, got {value!r}")
    started = time.monotonic()
    row = dict.fromkeys(COLUMNS, "")
    cuda = device == "cuda"
    if cuda:  # before torch touches the GPU: what the driver reports without this process's context
        row["baseline_driver_used_bytes"] = driver_used_bytes()
    import torch
    import transformers
    from transformers import AutoConfig, AutoModelForCausalLM
    from transformers.initialization import no_init_weights

    transformers.logging.set_verbosity_error()
    red = reduced_config(model, layers, experts)
    cfg = red["config"]
    label = (
        catalogue_entry(model)["id"]
        if isinstance(model, str)
        else f"config:{cfg['model_type']}"
    )
    row.update(
        date_utc=_dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        device=device,
        torch_version=torch.__version__,
        transformers_version=transformers.__version__,
        python_version=platform.python_version(),
        threads=torch.get_num_threads(),
        model=label,
        model_type=cfg["model_type"],
        dtype=dtype,
        tokens=tokens,
        batch=batch,
        decode_steps=decode_steps,
        kv_tokens=tokens + decode_steps,
        layers_measured=cfg["num_hidden_layers"],
        layers_full=red["layers_full"],
        experts_measured=next((cfg[k] for k in EXPERT_KEYS if cfg.get(k)), 0),
        experts_full=red["experts_full"],
    )
    row.update(predict(cfg, dtype, tokens, batch, decode_steps))
    if cuda:
        if not torch.cuda.is_available():
            raise RuntimeError("device 'cuda' asked for, but torch sees no CUDA device")
        torch.zeros(1, device="cuda")
        torch.cuda.synchronize()
        row["context_driver_used_bytes"] = driver_used_bytes()
        if (
            row["baseline_driver_used_bytes"] is not None
            and row["context_driver_used_bytes"] is not None
        ):
            row["cuda_context_bytes_measured"] = (
                row["context_driver_used_bytes"] - row["baseline_driver_used_bytes"]
            )
        row.update(
            device_name=torch.cuda.get_device_name(0),
            cuda_version=torch.version.cuda,
            driver_version=_nvidia_smi("driver_version", 0) or "",
        )
    else:
        row["device_name"] = _cpu_name()
    row["baseline_rss_bytes"] = _proc_status_bytes("VmRSS")

    def record(phase: str) -> None:
        if cuda:
            torch.cuda.synchronize()
            row[f"{phase}_allocated_bytes"] = torch.cuda.memory_allocated()
            row[f"{phase}_max_allocated_bytes"] = torch.cuda.max_memory_allocated()
            row[f"{phase}_reserved_bytes"] = torch.cuda.memory_reserved()
            row[f"{phase}_driver_used_bytes"] = driver_used_bytes()
            torch.cuda.reset_peak_memory_stats()
        row.update({f"{phase}_{k}": v for k, v in _rss().items()})
        _reset_peak_rss()

    _reset_peak_rss()
    hf_cfg = AutoConfig.for_model(
        cfg["model_type"], **{k: v for k, v in cfg.items() if k != "model_type"}
    )
    with torch.device(device), no_init_weights():
        net = AutoModelForCausalLM.from_config(
            hf_cfg, dtype=getattr(torch, DTYPES[dtype])
        )
    net.tie_weights()  # no_init_weights skips init_weights, which is also where transformers ties them
    net.eval()
    _fill(net, torch)
    params = list(net.parameters())  # tied weights appear once
    row["params_measured"] = sum(p.numel() for p in params)
    row["weights_bytes_measured"] = sum(p.numel() * p.element_size() for p in params)
    row["buffers_bytes_measured"] = sum(
        b.numel() * b.element_size() for b in net.buffers()
    )
    row["attn_implementation"] = net.config._attn_implementation
    record("load")
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, cfg["vocab_size"], (batch, tokens), generator=g).to(device)
    with torch.inference_mode():
        out = net(input_ids=ids, use_cache=True, logits_to_keep=1)
        cache, nxt = out.past_key_values, out.logits[:, -1:].argmax(-1)
        del out, ids
        row["kv_prefill_bytes_measured"] = kv_bytes(cache)
        record("prefill")
        for _ in range(decode_steps):
            out = net(
                input_ids=nxt, past_key_values=cache, use_cache=True, logits_to_keep=1
            )
            cache, nxt = out.past_key_values, out.logits[:, -1:].argmax(-1)
            del out
        row["kv_bytes_measured"] = kv_bytes(cache)
        record("decode")
    row["wall_s"] = round(time.monotonic() - started, 1)
    return row


# ---- the CSV -------------------------------------------------------------------------------------


def append_row(path: "str | os.PathLike", row: dict) -> None:
    """Append ``row`` to the CSV at ``path``, writing the header first if the file is new. An existing
    file whose header differs from ``COLUMNS`` is refused rather than mixed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.stat().st_size:
        with path.open(newline="") as f:
            header = next(csv.reader(f))
        if header != COLUMNS:
            raise ValueError(
                f"{path} has different columns from this harness; write to a new file"
            )
        new = False
    else:
        new = True
    with path.open("a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        if new:
            w.writeheader()
        w.writerow({k: "" if row.get(k) is None else row.get(k) for k in COLUMNS})


def _done(path: Path) -> set:
    if not path.exists():
        return set()
    with path.open(newline="") as f:
        return {
            (
                r["model"],
                r["dtype"],
                int(r["tokens"]),
                int(r["batch"]),
                int(r["decode_steps"]),
                int(r["layers_measured"]),
                int(r["experts_measured"]),
            )
            for r in csv.DictReader(f)
        }


def run_grid(
    name: str,
    out: Path,
    device: str,
    models: "list[str] | None",
    dtypes: "list[str] | None",
) -> int:
    """Run every configuration of grid ``name`` not already in ``out``, each in a fresh process (so
    peak counters and the CUDA context start clean). Returns the number of failures."""
    failures = 0
    for m, d, t, b, steps, layers, experts in GRIDS[name]:
        if (models and not any(s.lower() in m.lower() for s in models)) or (
            dtypes and d not in dtypes
        ):
            continue
        red = reduced_config(m, layers, experts)
        key = (
            m,
            d,
            t,
            b,
            steps,
            red["config"]["num_hidden_layers"],
            next((red["config"][k] for k in EXPERT_KEYS if red["config"].get(k)), 0),
        )
        if key in _done(out):
            print(f"done already: {key}", flush=True)
            continue
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--model",
            m,
            "--dtype",
            d,
            "--tokens",
            str(t),
            "--batch",
            str(b),
            "--decode-steps",
            str(steps),
            "--device",
            device,
            "--out",
            str(out),
        ]
        cmd += ["--layers", str(layers)] if layers else []
        cmd += ["--experts", str(experts)] if experts else []
        print("run:", " ".join(cmd[2:]), flush=True)
        if subprocess.run(cmd, check=False).returncode:
            failures += 1
            print(f"FAILED: {key}", flush=True)
    return failures


def main(argv: "list[str] | None" = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", help="catalogue name (vramlib.models.model_names())")
    p.add_argument(
        "--config", help="instead of --model: a config.json (with model_type) to build"
    )
    p.add_argument("--dtype", choices=list(DTYPES), default="bf16")
    p.add_argument(
        "--tokens", type=int, default=512, help="prompt tokens per sequence (prefill)"
    )
    p.add_argument("--batch", type=int, default=1, help="sequences")
    p.add_argument(
        "--decode-steps",
        type=int,
        default=8,
        help="greedy decode steps after the prefill",
    )
    p.add_argument(
        "--layers", type=int, help="keep only this many layers (default: all)"
    )
    p.add_argument(
        "--experts",
        type=int,
        help="keep only this many routed experts (MoE; default: all)",
    )
    p.add_argument(
        "--device",
        choices=["cpu", "cuda"],
        default=None,
        help="default: cuda for --grid gpu, else cpu",
    )
    p.add_argument(
        "--out",
        help="CSV to append to (default vramlib/data/measurements/<device>.csv)",
    )
    p.add_argument(
        "--grid",
        choices=sorted(GRIDS),
        help="run a preset list of configurations instead",
    )
    p.add_argument(
        "--only-models",
        help="with --grid: comma-separated substrings of model names to keep",
    )
    p.add_argument("--only-dtypes", help="with --grid: comma-separated dtypes to keep")
    a = p.parse_args(argv)
    if a.grid:
        device = a.device or ("cuda" if a.grid == "gpu" else "cpu")
        out = Path(a.out or ROOT / DEFAULT_OUT[a.grid])
        models = a.only_models.split(",") if a.only_models else None
        dtypes = a.only_dtypes.split(",") if a.only_dtypes else None
        return 1 if run_grid(a.grid, out, device, models, dtypes) else 0
    if bool(a.model) == bool(a.config):
        p.error("give one of --model and --config (or --grid)")
    device = a.device or "cpu"
    model = a.model or json.loads(Path(a.config).read_text(encoding="utf-8"))
    row = measure(
        model, a.dtype, a.tokens, a.batch, a.decode_steps, a.layers, a.experts, device
    )
    out = Path(a.out or ROOT / f"vramlib/data/measurements/{device}.csv")
    append_row(out, row)
    print(
        json.dumps(
            {
                k: row[k]
                for k in (
                    "model",
                    "dtype",
                    "tokens",
                    "batch",
                    "weights_bytes_measured",
                    "pred_weights_bytes",
                    "kv_bytes_measured",
                    "pred_kv_bytes",
                    "wall_s",
                )
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
