"""A model argument as a user gives it: a folder, a config.json, a .safetensors or .gguf
file, or a Hub id; and what its checkpoint stores.

:func:`load` turns any of them into a :class:`~vramlib.models.ModelSpec` whose
``checkpoint`` (a :class:`Checkpoint`) keeps the ``quantization_config`` and dtype as
published, and, when the tensors could be read (safetensors headers, a GGUF header),
their exact bytes. :func:`published_for` is what an estimate calls for its default
precision, "as published".
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import safetensors as st
from .dtypes import VRAMLIB_NAME, model_dtype
from .quant import ModuleBytes, WeightsBreakdown, published_weights


@dataclass(frozen=True)
class Checkpoint:
    """What a published checkpoint says beyond the architecture.

    ``quantization_json``: its ``quantization_config`` as JSON text (``None`` when
    plain); ``dtype``: the safetensors name of its unquantized tensors; ``where``: the
    file, folder, catalogue entry or Hub URL it was read from; ``stored_bytes``: every
    tensor's bytes as the file headers state them (``None`` when no header was read);
    ``index_total_size``: the safetensors index's ``metadata.total_size``; ``by_dtype``:
    stored bytes by dtype
    (or by ggml type for GGUF); ``gguf``: the GGUF breakdown when read from a GGUF
    file."""

    dtype: str = "BF16"
    quantization_json: str | None = None
    where: str = ""
    stored_bytes: int | None = None
    index_total_size: int | None = None
    by_dtype: tuple[tuple[str, int], ...] = ()
    gguf: WeightsBreakdown | None = field(default=None, compare=False)

    @property
    def quantization_config(self) -> dict | None:
        return (
            None
            if self.quantization_json is None
            else json.loads(self.quantization_json)
        )

    @classmethod
    def from_config(cls, cfg: dict, where: str = "") -> "Checkpoint":
        q = cfg.get("quantization_config")
        if q is None and isinstance(cfg.get("text_config"), dict):
            q = cfg["text_config"].get("quantization_config")
        if q is not None and not isinstance(q, dict):
            raise ValueError(
                f"config key 'quantization_config' must be an object, got "
                f"{type(q).__name__}"
            )
        return cls(
            model_dtype(cfg),
            None if q is None else json.dumps(q, sort_keys=True),
            where,
        )


def with_checkpoint(spec: Any, ck: Checkpoint) -> Any:
    """``spec`` carrying ``ck`` (the ModelSpec ``checkpoint`` hook)."""
    return dataclasses.replace(spec, checkpoint=ck)


def published_for(spec: Any) -> WeightsBreakdown | None:
    """The weights as ``spec``'s checkpoint stores them, or ``None`` when it is a plain
    bf16 checkpoint (then the estimate's bf16 default is the same answer). A plain fp16
    or fp32 checkpoint is counted in its own dtype; a GGUF file's own tensors are
    returned as they are."""
    ck = getattr(spec, "checkpoint", None)
    if ck is None:
        return None
    if ck.gguf is not None:
        return ck.gguf
    if ck.quantization_json is None and ck.dtype == "BF16":
        return None
    cached = spec.__dict__.get("_published_weights")  # a spec is immutable: count once
    if cached is None:
        cached = published_weights(
            spec, ck.quantization_config, dtype=ck.dtype, source=ck.where
        )
        spec.__dict__["_published_weights"] = cached
    return cached


# ---- reading what the user points at
# ----------------------------------------------------


def looks_like_path(text: str) -> bool:
    return text.endswith((".gguf", ".safetensors", ".json")) or os.path.exists(text)


def load(arg: str, *, revision: str | None = None) -> Any:
    """The ModelSpec for ``arg``: an existing folder or file, else a Hub id
    (``org/name`` or ``org/name@revision``)."""
    from ..models import ModelSpec
    from . import hub

    path = Path(arg).expanduser()
    if path.exists():
        if path.is_dir():
            return _folder(path)
        if path.suffix == ".gguf":
            return _gguf(path)
        if path.suffix == ".safetensors":
            return _safetensors_file(path)
        if path.name.endswith(".json"):
            return _folder(path.parent, config=path)
        raise ValueError(
            f"model {arg!r} is a file vramlib does not read: give a folder with "
            f"config.json, a config.json, a .safetensors or a .gguf file"
        )
    if arg.endswith((".gguf", ".safetensors", ".json")):
        raise FileNotFoundError(f"model file {arg!r} does not exist")
    if not hub.is_repo_id(arg):
        raise ValueError(
            f"model {arg!r} is neither a file, a folder, a catalogue name nor a "
            f"Hub repository id (org/name)"
        )
    repo, _, rev = arg.partition("@")
    got = hub.fetch(repo, revision or rev or "main")
    spec = ModelSpec.from_hf_config(got.config, name=repo)
    ck = Checkpoint.from_config(got.config, got.url)
    ck = dataclasses.replace(ck, index_total_size=got.index_total_size)
    if got.tensors is not None:
        ck = _with_tensors(ck, got.tensors)
    return with_checkpoint(dataclasses.replace(spec, source=got.url), ck)


def _with_tensors(ck: Checkpoint, header: st.Header) -> Checkpoint:
    return dataclasses.replace(
        ck,
        stored_bytes=header.total_bytes,
        by_dtype=tuple(sorted(header.by_dtype().items())),
    )


def _folder(folder: Path, config: Path | None = None) -> Any:
    from ..models import ModelSpec

    whole_folder = config is None
    config = config or folder / "config.json"
    if not config.is_file():
        raise FileNotFoundError(f"folder {str(folder)!r} holds no config.json")
    cfg = json.loads(config.read_text(encoding="utf-8"))
    if whole_folder:
        _no_side_quantization(folder, cfg)
    spec = ModelSpec.from_hf_config(config)
    ck = Checkpoint.from_config(cfg, str(folder))
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        wmap, total = st.read_index(index)
        ck = dataclasses.replace(ck, index_total_size=total)
        shards = sorted(set(wmap.values()))
        if shards and all((folder / s).is_file() for s in shards):
            ck = _with_tensors(ck, st.merge(st.read_header(folder / s) for s in shards))
    else:
        files = sorted(folder.glob("*.safetensors"))
        if files:
            ck = _with_tensors(ck, st.merge(st.read_header(f) for f in files))
    return with_checkpoint(spec, ck)


#: files some quantizers write their settings to instead of config.json
SIDE_QUANTIZATION_FILES = (
    "quantize_config.json",
    "quant_config.json",
    "hf_quant_config.json",
)


def _no_side_quantization(folder: Path, cfg: dict) -> None:
    """A folder whose quantization settings sit in a file of their own (AutoGPTQ's
    quantize_config.json, AutoAWQ's quant_config.json, ModelOpt's hf_quant_config.json)
    while its config.json names none is refused: transformers reads only
    config.json's ``quantization_config``, and sizing the files as 16-bit would be a
    silent 2-4x error."""
    if isinstance(cfg, dict) and cfg.get("quantization_config") is not None:
        return
    found = [n for n in SIDE_QUANTIZATION_FILES if (folder / n).is_file()]
    if found:
        raise ValueError(
            f"folder {str(folder)!r} keeps quantization settings in {found[0]}, but its "
            f"config.json has no 'quantization_config'; vramlib refuses rather than size "
            f"a quantized checkpoint as 16-bit. Copy the settings into config.json as "
            f"'quantization_config' (with its 'quant_method'), or give config.json "
            f"itself to size the architecture at a --precision"
        )


def _safetensors_file(path: Path) -> Any:
    header = st.read_header(path)
    config = path.parent / "config.json"
    if not config.is_file():
        raise FileNotFoundError(
            f"{path}: a safetensors file does not name its architecture; "
            f"vramlib reads it from config.json beside it, and "
            f"{str(config)!r} does not exist"
        )
    spec = _folder(path.parent)
    return with_checkpoint(spec, _with_tensors(spec.checkpoint, header))


_GGUF_GROUPS = (
    ("token_embd.", "embedding"),
    ("output.", "lm_head"),
    ("ffn_gate_inp", "router"),
    ("norm", "norm"),
    ("attn_", "attention"),
    ("ffn_", "mlp"),
)


def _gguf(path: Path) -> Any:
    from ..models import ModelSpec
    from . import gguf

    h = gguf.read_header(path)
    cfg = gguf.hf_config(h)
    spec = ModelSpec.from_hf_config(
        cfg, name=h.metadata.get("general.name") or path.name
    )
    groups: dict[str, list[int]] = {}
    for t in h.tensors:
        group = "norm"
        tail = t.name.split(".", 2)[-1] if t.name.startswith("blk.") else t.name
        for prefix, g in _GGUF_GROUPS:
            if tail.startswith(prefix) or prefix in tail:
                group = g
                break
        acc = groups.setdefault(group, [0, 0])
        acc[0] += t.elements
        acc[1] += t.nbytes
    ftype = "/".join(
        f"{k}" for k in sorted(h.by_type(), key=lambda k: -h.by_type()[k])[:3]
    )
    breakdown = WeightsBreakdown(
        "gguf",
        f"GGUF ({ftype})",
        "F32",
        (),
        tuple((g, n, b) for g, (n, b) in groups.items()),
        None,
        str(path),
    )
    ck = Checkpoint(
        "F32",
        None,
        str(path),
        h.total_bytes,
        None,
        tuple(sorted(h.by_type().items())),
        breakdown,
    )
    return with_checkpoint(dataclasses.replace(spec, source=str(path)), ck)


def describe(spec: Any) -> str:
    """One line for an answer: which precision the weights are counted at, and from
    where."""
    ck = getattr(spec, "checkpoint", None)
    if ck is None:
        return ""
    w = published_for(spec)
    lines = [
        f"as published: {w.label if w else VRAMLIB_NAME.get(ck.dtype, ck.dtype)}"
        f" ({ck.where})"
    ]
    counted = counted_bytes(spec)
    for what, stated in (
        ("tensors in the files", ck.stored_bytes),
        ("index total_size", ck.index_total_size),
    ):
        if stated is not None:
            lines.append(f"{what}: {stated:,} bytes ({_agreement(counted, stated)})")
    return "; ".join(lines)


def counted_bytes(spec: Any) -> int:
    """The bytes vramlib counts for the weights ``spec``'s checkpoint stores: every
    parameter and persistent buffer as its quantization config (or its dtype) says."""
    w = published_for(spec)
    if w is not None:
        return w.total_bytes
    return published_weights(spec, None, dtype=spec.checkpoint.dtype).total_bytes


def _agreement(counted: int, stated: int) -> str:
    if counted == stated:
        return "the weights counted, exactly"
    diff = stated - counted
    return (
        f"{abs(diff):,} bytes {'more' if diff > 0 else 'less'} than the {counted:,} "
        f"counted: the files hold tensors the model does not load, or a dtype other "
        f"than the config's"
    )


__all__ = [
    "Checkpoint",
    "ModuleBytes",
    "counted_bytes",
    "describe",
    "load",
    "looks_like_path",
    "published_for",
    "with_checkpoint",
]
