"""The ``--train`` part of the command line: fine-tuning memory by part, and what fits.

``cli.py`` calls :func:`add_arguments` on its parser and, when ``--train`` is given,
:func:`run` with the parsed arguments and the model's spec; it prints the text or the JSON.
"""
from __future__ import annotations

import argparse

from . import training
from .gpus import get_gpu
from .models import ModelSpec
from .tables import text_table
from .units import GB, GIB


class TrainUsageError(ValueError):
    """A mistake in a --train flag; the message names the flag."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("fine-tuning (--train)")
    g.add_argument("--train", choices=training.METHODS, default=None,
                   help="size fine-tuning instead of serving: full, lora or qlora")
    g.add_argument("--lora-rank", default="16", help="LoRA rank r (default 16)")
    g.add_argument("--lora-targets", default="all-linear",
                   help="modules LoRA adapts: names (q_proj,v_proj) or all-linear, attention, "
                        "mlp, experts (default all-linear)")
    g.add_argument("--optimizer", default="adamw",
                   help="adamw, adamw8bit, adafactor, sgd, sgd_momentum (default adamw)")
    g.add_argument("--train-precision", default=None,
                   help="mixed, bf16 or fp32 for the trained weights (default: mixed for full, "
                        "bf16 for adapters)")
    g.add_argument("--base-dtype", default="bf16",
                   help="LoRA's frozen base: bf16, fp16, fp32, fp8 (default bf16)")
    g.add_argument("--seq-len", default="2048", help="tokens per sequence (default 2048)")
    g.add_argument("--micro-batch", default="1", help="sequences per step per GPU (default 1)")
    g.add_argument("--grad-accum", default="1", help="gradient accumulation steps (default 1)")
    g.add_argument("--checkpointing", default="none", help="none or layer (default none)")
    g.add_argument("--zero", default="0", help="ZeRO stage 0-3 or fsdp (default 0)")
    g.add_argument("--offload", default="none", help="none, optimizer or all (default none)")


def _int(flag: str, text: str) -> int:
    try:
        value = int(str(text).replace("_", "").replace(",", ""))
    except ValueError:
        raise TrainUsageError(f"{flag} must be a whole number, got {text!r}") from None
    if value < 1:
        raise TrainUsageError(f"{flag} must be at least 1, got {value}")
    return value


_FLAGS = {"method": "--train", "optimizer": "--optimizer", "precision": "--train-precision",
          "base_dtype": "--base-dtype", "targets": "--lora-targets",
          "checkpointing": "--checkpointing", "zero": "--zero", "offload": "--offload",
          "n_gpus": "--gpus"}


def _call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except (ValueError, TypeError) as err:
        text = str(err)
        for name, flag in _FLAGS.items():
            text = text.replace(f" for {name}.", f" for {flag}.")
            if text.startswith(f"{name} ") or text.startswith(f"{name}="):
                text = flag + text[len(name):]
        raise TrainUsageError(text) from None


def run(args: argparse.Namespace, spec: ModelSpec) -> tuple[str, dict]:
    """The text table and the JSON dict (``{"train": ...}``) for ``--train``."""
    gpus = _int("--gpus", args.gpus) if getattr(args, "gpus", None) else 1
    kwargs = dict(method=args.train, optimizer=args.optimizer,
                  precision=args.train_precision, base_dtype=args.base_dtype,
                  lora_rank=_int("--lora-rank", args.lora_rank),
                  lora_targets=args.lora_targets,
                  micro_batch=_int("--micro-batch", args.micro_batch),
                  grad_accum=_int("--grad-accum", args.grad_accum),
                  checkpointing=args.checkpointing, zero=args.zero, n_gpus=gpus,
                  offload=args.offload)
    seq = _int("--seq-len", args.seq_len)
    t = _call(training.fine_tuning_bytes, spec, seq_len=seq, **kwargs)
    out = t.to_dict()
    out.update(seq_len=seq, micro_batch=kwargs["micro_batch"],
               grad_accum=kwargs["grad_accum"], checkpointing=args.checkpointing,
               lora_rank=kwargs["lora_rank"] if args.train != "full" else None,
               lora_targets=args.lora_targets if args.train != "full" else None,
               global_batch_sequences=kwargs["micro_batch"] * kwargs["grad_accum"] * gpus)
    rows = [(part, f"{b / GB:,.2f}", f"{b / GIB:,.2f}") for part, b in t.parts().items()]
    rows.append(("total", f"{t.total_bytes / GB:,.2f}", f"{t.total_bytes / GIB:,.2f}"))
    label = spec.name or spec.model_type
    lines = [f"{label}: {args.train} fine-tuning, {t.optimizer}, {t.precision}, "
             f"sequence {seq:,} x micro-batch {kwargs['micro_batch']}, checkpointing "
             f"{args.checkpointing}" + (f", ZeRO {t.zero} over {gpus} GPUs" if gpus > 1 or
                                         t.zero != "0" else ""),
             f"trainable parameters: {t.trainable_params:,} of {t.params:,}",
             text_table(["part (per GPU)", "GB (10^9 B)", "GiB (2^30 B)"], rows)]
    if t.cpu_bytes:
        lines.append(f"offloaded to CPU memory: {t.cpu_bytes / GB:,.2f} GB")
    if args.gpu:
        gpu = _call(get_gpu, args.gpu)
        cap = gpu.capacity_bytes
        fits = t.total_bytes <= cap
        rest = {k: v for k, v in kwargs.items() if k != "micro_batch"}
        most_b = training.max_micro_batch(spec, cap, seq_len=seq, **rest)
        rest_s = {k: v for k, v in kwargs.items() if k != "micro_batch"}
        longest = training.max_seq_len(spec, cap, micro_batch=kwargs["micro_batch"], **rest_s)
        out.update(gpu=gpu.name, capacity_bytes=cap, fits=fits, max_micro_batch=most_b,
                   max_seq_len=longest)
        word = "fits" if fits else "does not fit"
        lines += ["", f"{word} on {gpu.name} ({cap / GIB:,.2f} GiB), before the CUDA context "
                      f"and allocator slack",
                  f"largest micro-batch at sequence {seq:,}: {most_b:,}",
                  f"longest sequence at micro-batch {kwargs['micro_batch']}: {longest:,} tokens"]
    return "\n".join(lines), {"train": out}
