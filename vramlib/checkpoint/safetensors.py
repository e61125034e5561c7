r"""safetensors headers: every tensor's dtype and shape, hence exact bytes, without the
weights.

A ``.safetensors`` file begins with 8 bytes, a little-endian unsigned length :math:`n`,
then :math:`n` bytes of JSON: one entry per tensor, ``{"dtype": "BF16", "shape": [4096,
4096], "data_offsets": [begin, end]}``, and an optional ``__metadata__`` of strings. The
weights follow. (Format: https://github.com/huggingface/safetensors, "Format" in its
README.) A tensor's bytes are the product of its shape times its dtype's size, which
must equal ``end - begin``; this reader checks that and refuses a header it cannot
trust.

A sharded checkpoint lists its tensors in ``model.safetensors.index.json``:
``weight_map`` (tensor name -> shard file) and ``metadata.total_size`` (bytes of all
tensors).
"""

from __future__ import annotations

import json
import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable

from .dtypes import SAFETENSORS_BYTES, nbytes

# : refuse headers longer than this (the largest published shards have headers of a few
# MB)
MAX_HEADER_BYTES = 100 * 2**20
#: refuse more tensors than this in one header
MAX_TENSORS = 1_000_000


@dataclass(frozen=True)
class TensorInfo:
    """One tensor of a checkpoint: name, safetensors dtype, shape; ``nbytes`` exact."""

    name: str
    dtype: str
    shape: tuple[int, ...]

    @property
    def elements(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return nbytes(self.dtype, self.elements)


@dataclass(frozen=True)
class Header:
    """A parsed safetensors header: its tensors and its ``__metadata__``;
    ``header_bytes``
    is the JSON's length (the file is 8 + header_bytes + the tensors' bytes)."""

    tensors: tuple[TensorInfo, ...]
    metadata: tuple[tuple[str, str], ...] = ()
    header_bytes: int = 0

    @property
    def total_bytes(self) -> int:
        """Bytes of all tensors (what an index's ``metadata.total_size`` adds up)."""
        return sum(t.nbytes for t in self.tensors)

    def by_dtype(self) -> dict[str, int]:
        """Bytes of tensors by dtype."""
        out: dict[str, int] = {}
        for t in self.tensors:
            out[t.dtype] = out.get(t.dtype, 0) + t.nbytes
        return out


def header_length(first8: bytes, where: str = "safetensors file") -> int:
    """The JSON header's length from a file's first 8 bytes, bounded by
    MAX_HEADER_BYTES."""
    if len(first8) < 8:
        raise ValueError(
            f"{where}: shorter than the 8-byte header length; not safetensors"
        )
    (n,) = struct.unpack("<Q", first8[:8])
    if n < 2 or n > MAX_HEADER_BYTES:
        raise ValueError(
            f"{where}: header length {n:,} bytes is outside 2..{MAX_HEADER_BYTES:,};"
            f" not a safetensors file vramlib will read"
        )
    return n


def parse_header(
    raw: bytes, where: str = "safetensors file", data_bytes: int | None = None
) -> Header:
    """Parse the JSON header ``raw`` (the bytes after the length). ``data_bytes``, when
    known (file size less 8 and the header), is checked against the offsets."""
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{where}: header is not valid UTF-8 JSON ({err})") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{where}: header must be a JSON object")
    if len(doc) > MAX_TENSORS:
        raise ValueError(f"{where}: more than {MAX_TENSORS:,} tensors in one header")
    meta = doc.pop("__metadata__", None) or {}
    if not isinstance(meta, dict):
        raise ValueError(f"{where}: __metadata__ must be an object of strings")
    tensors = []
    end_max = 0
    for name, info in doc.items():
        if not isinstance(info, dict):
            raise ValueError(f"{where}: tensor {name!r} has no dtype/shape object")
        dtype, shape, offsets = (
            info.get("dtype"),
            info.get("shape"),
            info.get("data_offsets"),
        )
        if dtype not in SAFETENSORS_BYTES:
            raise ValueError(
                f"{where}: tensor {name!r} has dtype {dtype!r}; known: "
                f"{', '.join(sorted(SAFETENSORS_BYTES))}"
            )
        if (
            not isinstance(shape, list)
            or len(shape) > 8
            or not all(
                isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 2**53
                for d in shape
            )
        ):
            raise ValueError(f"{where}: tensor {name!r} has a bad shape {shape!r}")
        t = TensorInfo(name, dtype, tuple(shape))
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(o, int) and o >= 0 for o in offsets)
            or offsets[1] < offsets[0]
        ):
            raise ValueError(
                f"{where}: tensor {name!r} has bad data_offsets {offsets!r}"
            )
        if offsets[1] - offsets[0] != t.nbytes:
            raise ValueError(
                f"{where}: tensor {name!r} ({dtype} {shape}) should take "
                f"{t.nbytes:,} bytes but its offsets span "
                f"{offsets[1] - offsets[0]:,}"
            )
        end_max = max(end_max, offsets[1])
        tensors.append(t)
    if data_bytes is not None and end_max > data_bytes:
        raise ValueError(
            f"{where}: tensors end at byte {end_max:,} of a data section of "
            f"{data_bytes:,}; the file is truncated"
        )
    return Header(
        tuple(tensors), tuple((str(k), str(v)) for k, v in meta.items()), len(raw)
    )


def read_header(source: "str | os.PathLike | BinaryIO") -> Header:
    """The header of a ``.safetensors`` file (a path or an open binary file), reading
    only
    the first 8 + n bytes."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"safetensors file {str(path)!r} does not exist")
        with open(path, "rb") as f:
            return _read(f, str(path), path.stat().st_size)
    return _read(source, "safetensors stream", None)


def _read(f: BinaryIO, where: str, size: int | None) -> Header:
    n = header_length(f.read(8), where)
    if size is not None and 8 + n > size:
        raise ValueError(
            f"{where}: header of {n:,} bytes runs past the end of the file"
        )
    raw = f.read(n)
    if len(raw) != n:
        raise ValueError(f"{where}: file ends inside its header")
    return parse_header(raw, where, None if size is None else size - 8 - n)


def merge(headers: Iterable[Header]) -> Header:
    """One header for a sharded checkpoint (tensor names must not repeat)."""
    seen: dict[str, TensorInfo] = {}
    for h in headers:
        for t in h.tensors:
            if t.name in seen:
                raise ValueError(f"tensor {t.name!r} appears in more than one shard")
            seen[t.name] = t
    return Header(tuple(seen.values()))


def read_index(source: "str | os.PathLike | dict") -> tuple[dict[str, str], int | None]:
    """``weight_map`` and ``metadata.total_size`` (or ``None``) of a safetensors
    index."""
    if isinstance(source, dict):
        doc, where = source, "model.safetensors.index.json"
    else:
        where = str(source)
        try:
            doc = json.loads(Path(source).read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ValueError(f"{where}: not valid JSON ({err.msg})") from None
    wmap = doc.get("weight_map") if isinstance(doc, dict) else None
    if not isinstance(wmap, dict) or not all(isinstance(v, str) for v in wmap.values()):
        raise ValueError(f"{where}: 'weight_map' must map tensor names to shard files")
    total = (doc.get("metadata") or {}).get("total_size")
    if total is not None:
        if isinstance(total, str) and total.isdigit():
            total = int(total)
        if not isinstance(total, int) or isinstance(total, bool) or total < 0:
            raise ValueError(
                f"{where}: metadata.total_size must be a byte count, got {total!r}"
            )
    for shard in wmap.values():
        if "/" in shard or "\\" in shard or shard.startswith("."):
            raise ValueError(f"{where}: shard name {shard!r} is not a plain file name")
    return wmap, total
