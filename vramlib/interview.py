r"""Interview practice: a bank of questions whose worked answers are computed by vramlib.

The bank lives in ``vramlib/data/questions.json``. Each question has an ``id``, a ``level``
(``warm-up``, ``core``, ``senior``), a ``topic``, the ``question`` and a ``hint``, the ``inputs`` it
is about, the name of a ``compute`` function (:data:`COMPUTE`), and an ``answer`` *template* with
named placeholders (``"{weights_gb:,.1f} GB"``). :func:`answer` runs the computation on the inputs
and fills the template, so no number in a worked answer is typed by hand: the question text shows
the inputs, the answer shows what vramlib computes from them.

:class:`Deck` is a flashcard deck over the same bank (filter, shuffle with a seed, next, reveal),
as an immutable value: every move returns a new deck, which is what a widget or a test drives.
"""
from __future__ import annotations

import dataclasses
import math
import random
import re
import string
from dataclasses import dataclass
from typing import Callable

from . import _check, _data
from .estimate import estimate, valid_tensor_parallel_sizes
from .fit import fit, gpus_needed, max_batch, max_context
from .formats import get_format
from .gpus import get_gpu
from .kv import kv_bytes_per_token, kv_cache_bytes, kv_row_elements
from .models import catalogue_entry, get_model
from .precisions import get_precision
from .rule import rule_of_thumb_bytes
from .sizing import model_max_context
from .speed import bytes_read_per_step, decode_tokens_per_s_bound, weights_read_bytes
from .training import KORTHIKANTI, training_bytes
from .units import GB, GIB, KIB, MIB, TB, TIB

LEVELS = ("warm-up", "core", "senior")


@dataclass(frozen=True)
class Question:
    """One question of the bank. ``text`` is the question with its inputs filled in."""

    id: str
    level: str
    topic: str
    question: str
    hint: str
    answer_template: str
    compute: str
    inputs: tuple[tuple[str, object], ...]

    @property
    def inputs_dict(self) -> dict:
        return dict(self.inputs)

    @property
    def text(self) -> str:
        """The question with its inputs filled in (lists joined with commas)."""
        shown = {k: ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else v
                 for k, v in self.inputs}
        return self.question.format_map(shown)


@dataclass(frozen=True)
class Answer:
    """A worked answer: the ``values`` vramlib computed (inputs included) and the rendered ``text``."""

    question_id: str
    values: dict
    text: str


# ---- the computations ------------------------------------------------------------------------

def _gb(n: float) -> float:
    return n / GB


def _gib(n: float) -> float:
    return n / GIB


def _rule_of_thumb(params_b: float, bits: int, overhead: float = 1.2) -> dict:
    params = round(params_b * 10**9)
    weights = rule_of_thumb_bytes(params, bits, overhead=1.0)
    total = rule_of_thumb_bytes(params, bits, overhead=overhead)
    return {"bytes_per_param": float(get_precision(bits).bits / 8), "weights_gb": _gb(weights),
            "total_gb": _gb(total), "allowance_gb": _gb(total - weights),
            "allowance_pct": (overhead - 1) * 100, "overhead": overhead}


def _rule_hides(model: str, precision: str, context: int, batch: int) -> dict:
    flat = estimate(model, precision=precision, context=context, batch=batch, overhead="flat")
    real = estimate(model, precision=precision, context=context, batch=batch)
    rest = real.kv_cache_bytes + real.activation_bytes + real.overhead_bytes
    return {"weights_gb": _gb(real.weights_bytes), "allowance_gb": _gb(flat.overhead_bytes),
            "kv_gb": _gb(real.kv_cache_bytes), "activations_gb": _gb(real.activation_bytes),
            "overhead_gb": _gb(real.overhead_bytes), "rest_gb": _gb(rest),
            "ratio": rest / flat.overhead_bytes, "flat_factor": flat.flat_factor}


def _gib_factor() -> dict:
    return {"gib_bytes": GIB, "gb_bytes": GB, "ratio": GIB / GB, "gap_pct": (GIB / GB - 1) * 100,
            "tera_gap_pct": (TIB / TB - 1) * 100}


def _gpu_capacity(gpu: str) -> dict:
    g = get_gpu(gpu)
    return {"gpu_name": g.name, "sold": g.memory_sold, "sold_unit": g.memory_sold_unit,
            "built_gib": _gib(g.memory_bytes), "built_gb": _gb(g.memory_bytes),
            "reported_mib": g.capacity_bytes // MIB, "reported_gib": g.capacity_gib,
            "reported_gb": g.capacity_gb, "reserved_mib": (g.memory_bytes - g.capacity_bytes) / MIB}


def _weights(model: str, precisions: list) -> dict:
    spec = get_model(model)
    rows = []
    for p in precisions:
        e = estimate(spec, precision=p, context=1)
        rows.append(f"{get_format(p).name}: {_gb(e.weights_bytes):,.1f} GB")
    first = estimate(spec, precision=precisions[0], context=1)
    return {"params_b": spec.param_count() / 1e9, "listing": "; ".join(rows), "first": first.format.name,
            "first_gb": _gb(first.weights_bytes),
            "first_bytes_per_param": first.weights_bytes / spec.param_count()}


def _kv_per_token(model: str, dtype: str = "bf16") -> dict:
    spec = get_model(model)
    k, v = kv_row_elements(spec)
    per_token = kv_bytes_per_token(spec, dtype)
    return {"layers": spec.num_hidden_layers, "kv_heads": spec.num_key_value_heads,
            "head_dim": spec.head_dim, "elem_bytes": float(get_precision(dtype).bits / 8),
            "row_elems": k, "per_token_bytes": per_token, "per_token_kib": per_token / KIB,
            "per_token_mib": per_token / MIB, "kv_factor": 2}


def _kv_total(model: str, context: int, batch: int, dtype: str = "bf16") -> dict:
    spec = get_model(model)
    kv = kv_cache_bytes(spec, tokens=context, batch=batch, dtype=dtype)
    weights = estimate(spec, precision="bf16", context=1).weights_bytes
    return {"kv_gib": _gib(kv), "kv_gb": _gb(kv), "per_token_kib": kv_bytes_per_token(spec, dtype) / KIB,
            "weights_gib": _gib(weights), "ratio": kv / weights, "tokens": context * batch}


def _kv_dtype(model: str, context: int, batch: int, dtypes: list) -> dict:
    spec = get_model(model)
    sizes = [kv_cache_bytes(spec, tokens=context, batch=batch, dtype=d) for d in dtypes]
    return {"first_dtype": get_precision(dtypes[0]).name, "second_dtype": get_precision(dtypes[1]).name,
            "first_gib": _gib(sizes[0]), "second_gib": _gib(sizes[1]), "saved_gib": _gib(sizes[0] - sizes[1]),
            "ratio": sizes[0] / sizes[1]}


def _gqa(model: str, dtype: str = "bf16") -> dict:
    spec = get_model(model)
    per = {name: kv_bytes_per_token(dataclasses.replace(spec, num_key_value_heads=n), dtype)
           for name, n in (("mha", spec.num_attention_heads), ("gqa", spec.num_key_value_heads), ("mqa", 1))}
    return {"heads": spec.num_attention_heads, "kv_heads": spec.num_key_value_heads,
            "factor": spec.num_attention_heads // spec.num_key_value_heads,
            "mha_kib": per["mha"] / KIB, "gqa_kib": per["gqa"] / KIB, "mqa_kib": per["mqa"] / KIB,
            "mqa_factor": per["mha"] / per["mqa"]}


def _mla(model: str, context: int, dtype: str = "bf16") -> dict:
    spec = get_model(model)
    latent, _ = kv_row_elements(spec)
    ek, ev = kv_row_elements(spec, mla_expanded=True)
    kv = kv_cache_bytes(spec, tokens=context, dtype=dtype)
    expanded = kv_cache_bytes(spec, tokens=context, dtype=dtype, mla_expanded=True)
    return {"rank": spec.kv_lora_rank, "rope": spec.qk_rope_head_dim, "latent_elems": latent,
            "expanded_elems": ek + ev, "factor": (ek + ev) / latent, "heads": spec.num_attention_heads,
            "kv_gib": _gib(kv), "expanded_gib": _gib(expanded), "layers": spec.num_hidden_layers}


def _moe(model: str, precision: str) -> dict:
    spec = get_model(model)
    total, active = spec.param_count(), spec.active_param_count()
    weights = estimate(spec, precision=precision, context=1).weights_bytes
    return {"total_b": total / 1e9, "active_b": active / 1e9, "active_pct": active / total * 100,
            "experts": spec.num_experts, "per_token": spec.experts_per_token,
            "weights_gb": _gb(weights), "active_gb": _gb(weights_read_bytes(spec, precision))}


def _sliding(model: str, context: int, dtype: str = "bf16") -> dict:
    spec = get_model(model)
    full = dataclasses.replace(spec, layer_types=("full_attention",) * spec.num_hidden_layers)
    kv = kv_cache_bytes(spec, tokens=context, dtype=dtype)
    kv_full = kv_cache_bytes(full, tokens=context, dtype=dtype)
    return {"window": spec.sliding_window, "sliding_layers": spec.sliding_layers,
            "layers": spec.num_hidden_layers, "kv_gib": _gib(kv), "kv_full_gib": _gib(kv_full),
            "saving_pct": (1 - kv / kv_full) * 100}


def _gpus_needed(model: str, precision: str, gpu: str, context: int, batch: int) -> dict:
    e = estimate(model, precision=precision, context=context, batch=batch)
    n = gpus_needed(e, gpu)
    f = fit(e, gpu, n)
    return {"total_gib": _gib(e.total_bytes), "n": n, "per_gpu_gib": _gib(f.per_gpu_bytes),
            "capacity_gib": _gib(f.usable_bytes), "naive": math.ceil(e.total_bytes / f.usable_bytes),
            "gpu_name": f.gpu.name}


def _tensor_parallel(model: str, tp: int) -> dict:
    spec = get_model(model)
    sizes = valid_tensor_parallel_sizes(spec, 2 * tp)
    return {"heads": spec.num_attention_heads, "kv_heads": spec.num_key_value_heads, "up_to": 2 * tp,
            "heads_per_gpu": spec.num_attention_heads / tp, "valid": ", ".join(map(str, sizes)),
            "below": max(s for s in sizes if s < tp), "above": min((s for s in sizes if s > tp), default=tp)}


def _max_batch(model: str, precision: str, gpu: str, n_gpus: int, context: int) -> dict:
    spec = get_model(model)
    b = max_batch(spec, gpu, n_gpus, context=context, precision=precision)
    one = estimate(spec, precision=precision, context=context, batch=1)
    f = fit(one, gpu, n_gpus)
    per_seq = kv_cache_bytes(spec, tokens=context)
    return {"batch": b, "per_seq_gib": _gib(per_seq), "headroom_gib": _gib(f.headroom_bytes) * n_gpus,
            "weights_gib": _gib(one.weights_bytes), "capacity_gib": _gib(f.usable_bytes) * n_gpus}


def _max_context(model: str, precision: str, gpu: str, n_gpus: int, batch: int) -> dict:
    spec = get_model(model)
    t = max_context(spec, gpu, n_gpus, batch=batch, precision=precision)
    trained = model_max_context(spec, catalogue_entry(model)["config"])
    return {"context": t, "context_k": t / 1024, "per_token_kib": kv_bytes_per_token(spec) / KIB,
            "trained": trained, "servable": min(t, trained) if trained else t,
            "weights_gib": _gib(estimate(spec, precision=precision, context=1).weights_bytes)}


def _quant_bits(model: str, formats: list) -> dict:
    spec = get_model(model)
    params = spec.param_count()
    rows = []
    for name in formats:
        f = get_format(name)
        w = f.weights_bytes(spec.param_groups())
        rows.append(f"{f.name}: {float(f.linear_bits):.3g} bits in its linear layers, "
                    f"{w * 8 / params:.2f} bits per weight over the model ({_gb(w):,.1f} GB)")
    return {"listing": "; ".join(rows), "params_b": params / 1e9}


def _block_format(precision: str, element_bits: int) -> dict:
    p = get_precision(precision)
    return {"name": p.name, "block_elems": p.block_elems, "block_bytes": p.block_bytes,
            "element_bits": element_bits, "scale_bits": p.block_bytes * 8 - p.block_elems * element_bits,
            "bits": float(p.bits), "extra_pct": float(p.bits / element_bits - 1) * 100}


def _decode(model: str, precision: str, gpu: str, context: int, batch: int = 1, n_gpus: int = 1) -> dict:
    g = get_gpu(gpu)
    read = bytes_read_per_step(model, precision=precision, context=context, batch=batch)
    tps = decode_tokens_per_s_bound(model, g, precision=precision, context=context, batch=batch,
                                    n_gpus=n_gpus)
    return {"gpu_name": g.name, "bandwidth_gb_s": g.bandwidth_gb_s, "weights_read_gb": _gb(read["weights"]),
            "kv_read_gb": _gb(read["kv_cache"]), "read_gb": _gb(read["total"]),
            "step_ms": batch / tps * 1000, "tps": tps, "tps_per_seq": tps / batch}


def _decode_moe(model: str, precision: str, gpu: str, context: int) -> dict:
    values = _decode(model, precision, gpu, context)
    spec = get_model(model)
    all_weights = estimate(spec, precision=precision, context=1).weights_bytes
    kv = kv_cache_bytes(spec, tokens=context)
    dense_tps = get_gpu(gpu).bandwidth_bytes_per_s / (all_weights + kv)
    return {**values, "all_weights_gb": _gb(all_weights), "dense_tps": dense_tps,
            "speedup": values["tps"] / dense_tps}


def _decode_batch(model: str, precision: str, gpu: str, context: int, batches: list) -> dict:
    lo, hi = (_decode(model, precision, gpu, context, b) for b in batches)
    return {"small": batches[0], "large": batches[1], "tps_small": lo["tps"], "tps_large": hi["tps"],
            "per_seq_large": hi["tps_per_seq"], "gain": hi["tps"] / lo["tps"],
            "kv_read_large_gb": hi["kv_read_gb"], "weights_read_gb": lo["weights_read_gb"]}


def _training(model: str, optimizer: str = "adam", precision: str = "mixed") -> dict:
    t = training_bytes(model, optimizer=optimizer, precision=precision)
    inference = estimate(model, precision="bf16", context=1).weights_bytes
    per = {k: v // t.params for k, v in t.parts().items()}
    return {"params_b": t.params / 1e9, "bytes_per_param": t.bytes_per_param,
            "w": per["weights"], "g": per["gradients"], "m": per["master_weights"],
            "o": per["optimizer_states"], "states_gb": _gb(t.model_state_bytes),
            "inference_gb": _gb(inference), "ratio": t.model_state_bytes / inference}


def _training_zero(model: str, gpu: str, stage: int) -> dict:
    t = training_bytes(model)
    g = get_gpu(gpu)
    n = next(n for n in range(1, 1 << 16) if t.zero_per_gpu_bytes(n, stage) <= g.capacity_bytes)
    return {"params_b": t.params / 1e9, "states_gb": _gb(t.model_state_bytes), "n": n,
            "per_gpu_gib": _gib(t.zero_per_gpu_bytes(n, stage)), "capacity_gib": g.capacity_gib,
            "gpu_name": g.name, "plain_gib": _gib(t.zero_per_gpu_bytes(n, 0))}


def _training_activations(model: str, seq_len: int, micro_batch: int) -> dict:
    spec = get_model(model)
    out = {"h": spec.hidden_size, "a": spec.num_attention_heads, "layers": spec.num_hidden_layers,
           **{f"c_{k}": v for k, v in KORTHIKANTI.items()}}
    for how in ("none", "selective", "full"):
        t = training_bytes(spec, seq_len=seq_len, micro_batch=micro_batch, recompute=how)
        out[f"{how}_gib"] = _gib(t.activation_bytes)
    out["states_gib"] = _gib(training_bytes(spec).model_state_bytes)
    return out


def _fits(model: str, precision: str, gpu: str, context: int) -> dict:
    e = estimate(model, precision=precision, context=context)
    f = fit(e, gpu)
    return {"verdict": f.verdict(), "weights_gib": _gib(e.weights_bytes), "kv_gib": _gib(e.kv_cache_bytes),
            "total_gib": _gib(e.total_bytes), "capacity_gib": _gib(f.usable_bytes),
            "fits_word": "fits" if f.fits else "does not fit"}


def _parts(model: str, precision: str, context: int, batch: int) -> dict:
    e = estimate(model, precision=precision, context=context, batch=batch)
    p = {k: _gib(v) for k, v in e.parts().items()}
    return {"weights_gib": p["weights"], "kv_gib": p["kv_cache"], "activations_gib": p["activations"],
            "overhead_gib": p["overhead"], "total_gib": _gib(e.total_bytes),
            "prefill_tokens": e.prefill_tokens * e.batch}


def _kv_equals_weights(model: str, precision: str, dtype: str = "bf16") -> dict:
    spec = get_model(model)
    weights = estimate(spec, precision=precision, context=1).weights_bytes
    per = kv_bytes_per_token(spec, dtype)
    return {"weights_gib": _gib(weights), "per_token_kib": per / KIB, "tokens": math.ceil(weights / per)}


COMPUTE: dict[str, Callable[..., dict]] = {
    "rule_of_thumb": _rule_of_thumb, "rule_hides": _rule_hides, "gib_factor": _gib_factor,
    "gpu_capacity": _gpu_capacity, "weights": _weights, "kv_per_token": _kv_per_token,
    "kv_total": _kv_total, "kv_dtype": _kv_dtype, "gqa": _gqa, "mla": _mla, "moe": _moe,
    "sliding": _sliding, "gpus_needed": _gpus_needed, "tensor_parallel": _tensor_parallel,
    "max_batch": _max_batch, "max_context": _max_context, "quant_bits": _quant_bits,
    "block_format": _block_format,
    "decode": _decode, "decode_moe": _decode_moe, "decode_batch": _decode_batch,
    "training": _training, "training_zero": _training_zero,
    "training_activations": _training_activations, "fits": _fits, "parts": _parts,
    "kv_equals_weights": _kv_equals_weights,
}
"""The computations answers are filled from: name → function(**inputs) → dict of values."""


# ---- the bank ---------------------------------------------------------------------------------

def _bank() -> dict:
    return _data.load("questions.json")


def topics() -> list[str]:
    """The bank's topics, in the order the data file lists them."""
    return list(_bank()["topics"])


def _question(entry: dict) -> Question:
    return Question(entry["id"], entry["level"], entry["topic"], entry["question"], entry["hint"],
                    entry["answer"], entry["compute"], tuple(entry.get("inputs", {}).items()))


def questions(topic: "str | None" = None, level: "str | None" = None) -> list[Question]:
    """The questions, warm-up first, optionally only one ``topic`` and/or ``level``."""
    if topic is not None and topic not in topics():
        raise _check.unknown("topic", topic, topics(), what="topic")
    if level is not None and level not in LEVELS:
        raise _check.unknown("level", level, LEVELS, what="level")
    found = [_question(e) for e in _bank()["questions"]
             if (topic is None or e["topic"] == topic) and (level is None or e["level"] == level)]
    return sorted(found, key=lambda q: LEVELS.index(q.level))


def get_question(question_id: str) -> Question:
    """One question by id; an unknown id raises ``ValueError`` with the closest ids."""
    _check.text("question_id", question_id)
    by_id = {e["id"]: e for e in _bank()["questions"]}
    if question_id not in by_id:
        raise _check.unknown("question_id", question_id, by_id, what="question id")
    return _question(by_id[question_id])


def placeholders(template: str) -> list[str]:
    """The field names a template uses (``"{x:.1f} of {y}"`` → ``["x", "y"]``)."""
    return [f for _, f, _, _ in string.Formatter().parse(template) if f]


def answer(question_id: str) -> Answer:
    """Compute a question's values with vramlib and fill its answer template."""
    q = get_question(question_id)
    if q.compute not in COMPUTE:
        raise _check.unknown("compute", q.compute, COMPUTE, what="computation")
    values = {**q.inputs_dict, **COMPUTE[q.compute](**q.inputs_dict)}
    return Answer(q.id, values, q.answer_template.format_map(values))


# ---- rendering -------------------------------------------------------------------------------

def _details(summary: str, body: str, cls: str) -> str:
    # Raw HTML around Markdown: blank lines let the Markdown inside render (CommonMark HTML blocks).
    return f'<details class="{cls}">\n<summary>{summary}</summary>\n\n{body}\n\n</details>\n'


def question_markdown(q: Question, number: "int | None" = None) -> str:
    """One question as Markdown: the question, then the hint and the worked answer as toggles."""
    label = f"**Q{number}.** " if number is not None else ""
    head = f"{label}*{q.level} · {q.topic}*  \n{q.text}\n"
    return "\n".join([head, _details("Hint", q.hint, "interview-hint"),
                      _details("Worked answer", answer(q.id).text, "interview-answer")])


def bank_markdown(topic: "str | None" = None, level: "str | None" = None, *, start: int = 1) -> str:
    """The bank (or part of it) as Markdown, one question after another, numbered from ``start``.

    Hints and answers are HTML ``<details>`` toggles, which render in JupyterLab, Colab and the book
    (myst-nb renders Markdown outputs as CommonMark, where raw HTML passes through)."""
    first = _check.integer("start", start, minimum=1)
    return "\n---\n\n".join(question_markdown(q, i)
                              for i, q in enumerate(questions(topic, level), first))


# ---- flashcards --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Deck:
    """A flashcard deck over the bank. Every method returns a new deck.

    ``ids`` is the order of the cards after filtering (and shuffling with ``seed``); ``position``
    the current card; ``revealed`` whether its answer is showing.
    """

    ids: tuple[str, ...]
    position: int = 0
    revealed: bool = False
    topic: "str | None" = None
    level: "str | None" = None
    seed: "int | None" = None

    @classmethod
    def build(cls, topic: "str | None" = None, level: "str | None" = None,
              seed: "int | None" = None) -> "Deck":
        """The cards of ``topic``/``level`` (``None``: all), in bank order or shuffled by ``seed``."""
        ids = [q.id for q in questions(topic, level)]
        if seed is not None:
            random.Random(_check.integer("seed", seed, minimum=0)).shuffle(ids)
        return cls(tuple(ids), 0, False, topic, level, seed)

    def __len__(self) -> int:
        return len(self.ids)

    def filter(self, topic: "str | None" = None, level: "str | None" = None) -> "Deck":
        return Deck.build(topic, level, self.seed)

    def shuffle(self, seed: "int | None") -> "Deck":
        """The same cards reshuffled with ``seed`` (``None``: back to bank order)."""
        return Deck.build(self.topic, self.level, seed)

    def next(self) -> "Deck":
        """The next card (wrapping round), answer hidden."""
        return dataclasses.replace(self, position=(self.position + 1) % max(len(self), 1), revealed=False)

    def previous(self) -> "Deck":
        return dataclasses.replace(self, position=(self.position - 1) % max(len(self), 1), revealed=False)

    def reveal(self) -> "Deck":
        return dataclasses.replace(self, revealed=True)

    @property
    def current(self) -> "Question | None":
        return get_question(self.ids[self.position]) if self.ids else None

    def front(self) -> str:
        """The card's front (plain text): where we are, and the question."""
        q = self.current
        if q is None:
            return "No question matches this topic and level: choose another filter."
        return f"Card {self.position + 1} of {len(self)} · {q.level} · {q.topic}\n\n{q.text}"

    def back(self) -> str:
        """The card's back (plain text): the worked answer when revealed, else the hint."""
        q = self.current
        if q is None:
            return ""
        return answer(q.id).text if self.revealed else f"Hint: {q.hint}"


_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def typed_numbers(template: str) -> list[str]:
    """Digits in a template outside its placeholders: numbers typed by hand (should be none)."""
    return re.findall(r"\d+(?:\.\d+)?", _PLACEHOLDER.sub("", template))
