r"""GGUF headers: the architecture and every tensor's ggml type, hence exact bytes.

A GGUF file (llama.cpp's format, versions 2 and 3; https://github.com/ggml-org/ggml,
``docs/gguf.md``) is little-endian: the magic ``GGUF``, a uint32 version, a uint64
tensor count and a uint64 count of metadata key/value pairs; then the pairs (a string
key, a uint32 value type, the value); then one record per tensor (string name, uint32
dimension count, uint64 dimensions, uint32 ggml type, uint64 offset); then the data. A
string is a uint64 length and UTF-8 bytes; an array a uint32 element type, a uint64
count and the elements.

A tensor of :math:`n` elements of a ggml type storing :math:`b` elements in :math:`s`
bytes takes :math:`n / b \cdot s` bytes (rows are whole blocks): Q4_K stores 256 weights
in 144 bytes.

Every count and length is bounded before anything is allocated, so a hostile or
truncated file is refused quickly instead of exhausting memory; large arrays (the
tokenizer's vocabulary) are skipped over and only their length is kept.
"""

from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

#: ggml type id -> (name, elements per block, bytes per block); gguf-py 0.19.0,
#: ``gguf/constants.py`` GGML_QUANT_SIZES (from ggml/src/ggml-common.h's block structs)
GGML_TYPES: dict[int, tuple[str, int, int]] = {
    0: ("F32", 1, 4),
    1: ("F16", 1, 2),
    2: ("Q4_0", 32, 18),
    3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24),
    8: ("Q8_0", 32, 34),
    9: ("Q8_1", 32, 40),
    10: ("Q2_K", 256, 84),
    11: ("Q3_K", 256, 110),
    12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176),
    14: ("Q6_K", 256, 210),
    15: ("Q8_K", 256, 292),
    16: ("IQ2_XXS", 256, 66),
    17: ("IQ2_XS", 256, 74),
    18: ("IQ3_XXS", 256, 98),
    19: ("IQ1_S", 256, 50),
    20: ("IQ4_NL", 32, 18),
    21: ("IQ3_S", 256, 110),
    22: ("IQ2_S", 256, 82),
    23: ("IQ4_XS", 256, 136),
    24: ("I8", 1, 1),
    25: ("I16", 1, 2),
    26: ("I32", 1, 4),
    27: ("I64", 1, 8),
    28: ("F64", 1, 8),
    29: ("IQ1_M", 256, 56),
    30: ("BF16", 1, 2),
    34: ("TQ1_0", 256, 54),
    35: ("TQ2_0", 256, 66),
    39: ("MXFP4", 32, 17),
    40: ("NVFP4", 64, 36),
    41: ("Q1_0", 128, 18),
}

MAX_TENSORS = 1_000_000
MAX_KV = 100_000
MAX_STRING = 16 * 2**20
MAX_ARRAY = 50_000_000
MAX_DIMS = 8
#: arrays longer than this are skipped over; only their length is kept
KEEP_ARRAY = 4096

_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}


@dataclass(frozen=True)
class GGUFTensor:
    """One tensor: name, ggml type name, dimensions (ggml order: fastest first)."""

    name: str
    type: str
    dims: tuple[int, ...]
    block_elems: int
    block_bytes: int

    @property
    def elements(self) -> int:
        return math.prod(self.dims)

    @property
    def nbytes(self) -> int:
        return self.elements // self.block_elems * self.block_bytes


@dataclass(frozen=True)
class GGUFHeader:
    """A parsed GGUF header. ``metadata`` holds scalars and short arrays; a long array
    is
    replaced by ``ArrayLength(n)``."""

    version: int
    metadata: dict
    tensors: tuple[GGUFTensor, ...]

    @property
    def architecture(self) -> str | None:
        return self.metadata.get("general.architecture")

    @property
    def total_bytes(self) -> int:
        return sum(t.nbytes for t in self.tensors)

    def by_type(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.tensors:
            out[t.type] = out.get(t.type, 0) + t.nbytes
        return out

    def __hash__(self) -> int:  # metadata is a dict; identity is enough
        return id(self)


@dataclass(frozen=True)
class ArrayLength:
    """Stands for an array that was skipped: its element count."""

    length: int


class _Reader:
    def __init__(self, f: BinaryIO, where: str, size: int | None):
        self.f, self.where, self.size, self.pos = f, where, size, 0

    def bytes(self, n: int) -> bytes:
        if self.size is not None and self.pos + n > self.size:
            raise ValueError(
                f"{self.where}: truncated (wanted {n:,} bytes at offset "
                f"{self.pos:,} of {self.size:,})"
            )
        data = self.f.read(n)
        if len(data) != n:
            raise ValueError(f"{self.where}: truncated at offset {self.pos:,}")
        self.pos += n
        return data

    def skip(self, n: int) -> None:
        if self.size is not None and self.pos + n > self.size:
            raise ValueError(f"{self.where}: truncated (an array runs past the end)")
        if hasattr(self.f, "seek"):
            self.f.seek(n, os.SEEK_CUR)
            self.pos += n
        else:
            self.bytes(n)

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.bytes(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        n = self.unpack("<Q")
        if n > MAX_STRING:
            raise ValueError(
                f"{self.where}: a string of {n:,} bytes at offset {self.pos:,} "
                f"exceeds {MAX_STRING:,}"
            )
        try:
            return self.bytes(n).decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(
                f"{self.where}: a string at offset {self.pos:,} is not UTF-8"
            ) from None

    def value(self, vtype: int, depth: int = 0) -> Any:
        if vtype in _SCALARS:
            return self.unpack(_SCALARS[vtype])
        if vtype == 8:
            return self.string()
        if vtype == 9:
            if depth > 2:
                raise ValueError(f"{self.where}: arrays nested too deeply")
            etype = self.unpack("<I")
            n = self.unpack("<Q")
            if n > MAX_ARRAY:
                raise ValueError(
                    f"{self.where}: an array of {n:,} elements exceeds {MAX_ARRAY:,}"
                )
            if n > KEEP_ARRAY:
                if etype in _SCALARS:
                    self.skip(n * struct.calcsize(_SCALARS[etype]))
                else:
                    for _ in range(n):
                        self.value(etype, depth + 1)
                return ArrayLength(n)
            return [self.value(etype, depth + 1) for _ in range(n)]
        raise ValueError(
            f"{self.where}: unknown metadata value type {vtype} at offset {self.pos:,}"
        )


def read_header(source: "str | os.PathLike | BinaryIO") -> GGUFHeader:
    """Parse a GGUF file's header (a path or an open binary file); the weights are not
    read."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"GGUF file {str(path)!r} does not exist")
        with open(path, "rb") as f:
            return _parse(_Reader(f, str(path), path.stat().st_size))
    return _parse(_Reader(source, "GGUF stream", None))


def _parse(r: _Reader) -> GGUFHeader:
    if r.bytes(4) != b"GGUF":
        raise ValueError(
            f"{r.where}: does not start with the GGUF magic; not a GGUF file"
        )
    version = r.unpack("<I")
    if version not in (2, 3):
        raise ValueError(
            f"{r.where}: GGUF version {version}; vramlib reads versions 2 and 3"
        )
    n_tensors, n_kv = r.unpack("<Q"), r.unpack("<Q")
    if n_tensors > MAX_TENSORS or n_kv > MAX_KV:
        raise ValueError(
            f"{r.where}: {n_tensors:,} tensors and {n_kv:,} metadata keys "
            f"exceed the bounds ({MAX_TENSORS:,}, {MAX_KV:,})"
        )
    meta: dict[str, Any] = {}
    for _ in range(n_kv):
        key = r.string()
        meta[key] = r.value(r.unpack("<I"))
    tensors = []
    for _ in range(n_tensors):
        name = r.string()
        nd = r.unpack("<I")
        if nd < 1 or nd > MAX_DIMS:
            raise ValueError(f"{r.where}: tensor {name!r} has {nd} dimensions")
        dims = tuple(r.unpack("<Q") for _ in range(nd))
        tid = r.unpack("<I")
        r.unpack("<Q")  # offset into the data section
        if tid not in GGML_TYPES:
            raise ValueError(
                f"{r.where}: tensor {name!r} has ggml type {tid}, which vramlib "
                f"does not know (known: {', '.join(v[0] for v in GGML_TYPES.values())})"
            )
        tname, be, bb = GGML_TYPES[tid]
        if dims[0] % be:
            raise ValueError(
                f"{r.where}: tensor {name!r} rows of {dims[0]} are not whole "
                f"{tname} blocks of {be}"
            )
        if any(d > 2**48 for d in dims):
            raise ValueError(f"{r.where}: tensor {name!r} has an impossible dimension")
        tensors.append(GGUFTensor(name, tname, dims, be, bb))
    return GGUFHeader(version, meta, tuple(tensors))


# ---- the architecture, as a Hugging Face config
# ----------------------------------------

#: GGUF architecture -> Hugging Face model_type, for the llama-like families whose
#: llama.cpp keys map one to one (llama.cpp's convert_hf_to_gguf.py writes them)
ARCHITECTURES = {
    "llama": "llama",
    "qwen2": "qwen2",
    "qwen3": "qwen3",
    "qwen3moe": "qwen3_moe",
    "qwen2moe": "qwen2_moe",
}


def hf_config(h: GGUFHeader) -> dict:
    """A config.json-like dict for the header's architecture, from llama.cpp's keys:
    ``{arch}.block_count`` (layers), ``embedding_length`` (hidden),
    ``feed_forward_length``, ``attention.head_count`` / ``head_count_kv`` /
    ``key_length``, ``context_length``, expert counts; the vocabulary from
    ``token_embd.weight``; tied embeddings when the file has no ``output.weight``. Other
    architectures are refused (their weights can still be
    summed: :attr:`GGUFHeader.total_bytes`)."""
    arch = h.architecture
    if arch not in ARCHITECTURES:
        raise ValueError(
            f"GGUF general.architecture is {arch!r}; vramlib maps "
            f"{', '.join(ARCHITECTURES)} to a model (the file's tensors can "
            f"still be summed)"
        )
    m = h.metadata

    def key(name: str, required: bool = True) -> Any:
        value = m.get(f"{arch}.{name}")
        if isinstance(value, list):  # per-layer arrays: all equal for these families
            if len(set(value)) != 1:
                raise ValueError(
                    f"GGUF key {arch}.{name} varies by layer; vramlib sizes "
                    f"uniform layers only for {arch}"
                )
            value = value[0]
        if value is None and required:
            raise ValueError(f"GGUF key {arch}.{name} is required and is missing")
        return value

    names = {t.name: t for t in h.tensors}
    embd = names.get("token_embd.weight")
    if embd is None or len(embd.dims) != 2:
        raise ValueError(
            "GGUF file has no 2-D token_embd.weight; cannot read the vocabulary"
        )
    hidden = key("embedding_length")
    heads = key("attention.head_count")
    cfg = {
        "model_type": ARCHITECTURES[arch],
        "vocab_size": embd.dims[1],
        "hidden_size": hidden,
        "num_hidden_layers": key("block_count"),
        "num_attention_heads": heads,
        "num_key_value_heads": key("attention.head_count_kv", False) or heads,
        "intermediate_size": key("feed_forward_length"),
        "max_position_embeddings": key("context_length", False),
        "tie_word_embeddings": "output.weight" not in names,
        "head_dim": key("attention.key_length", False) or hidden // heads,
        "rms_norm_eps": key("attention.layer_norm_rms_epsilon", False),
    }
    if arch in ("qwen3moe", "qwen2moe"):
        cfg.update(
            num_experts=key("expert_count"),
            num_experts_per_tok=key("expert_used_count"),
            moe_intermediate_size=key("expert_feed_forward_length"),
        )
        if arch == "qwen2moe":
            cfg["shared_expert_intermediate_size"] = key(
                "expert_shared_feed_forward_length"
            )
    elif arch == "llama" and key("expert_count", False):
        cfg.update(
            model_type="mixtral",
            num_local_experts=key("expert_count"),
            num_experts_per_tok=key("expert_used_count"),
            sliding_window=None,
        )
    if arch == "qwen2":
        cfg["use_sliding_window"] = False
    return {k: v for k, v in cfg.items() if v is not None}
