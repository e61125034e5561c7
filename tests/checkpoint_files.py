"""Writers for small checkpoint files, by hand (struct and json), for the checkpoint
tests."""

import json
import struct

ST_SIZES = {"BF16": 2, "F16": 2, "F32": 4, "F8_E4M3": 1, "I32": 4, "U8": 1, "I64": 8}


def safetensors_bytes(tensors, metadata=None):
    """A .safetensors file: {name: (dtype, shape)}; data is zeros."""
    header, offset = {}, 0
    for name, (dtype, shape) in tensors.items():
        n = ST_SIZES[dtype]
        for d in shape:
            n *= d
        header[name] = {
            "dtype": dtype,
            "shape": list(shape),
            "data_offsets": [offset, offset + n],
        }
        offset += n
    if metadata:
        header["__metadata__"] = metadata
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + bytes(offset)


def _gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def _gguf_value(v):
    if isinstance(v, str):
        return struct.pack("<I", 8) + _gguf_string(v)
    if isinstance(v, bool):
        return struct.pack("<I?", 7, v)
    if isinstance(v, int):
        return struct.pack("<II", 4, v)
    if isinstance(v, float):
        return struct.pack("<If", 6, v)
    if isinstance(v, list):  # arrays of strings or uint32
        if all(isinstance(x, str) for x in v):
            return struct.pack("<IIQ", 9, 8, len(v)) + b"".join(
                _gguf_string(x) for x in v
            )
        return struct.pack("<IIQ", 9, 4, len(v)) + b"".join(
            struct.pack("<I", x) for x in v
        )
    raise TypeError(v)


# ggml type id and (block elements, block bytes) for the types these tests write
GGML = {
    "F32": (0, 1, 4),
    "F16": (1, 1, 2),
    "Q8_0": (8, 32, 34),
    "Q4_K": (12, 256, 144),
    "Q6_K": (14, 256, 210),
}


def gguf_bytes(metadata, tensors, version=3):
    """A GGUF file: metadata {key: value}, tensors [(name, type, dims)] (data zeros)."""
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(metadata))
    for k, v in metadata.items():
        out += _gguf_string(k) + _gguf_value(v)
    offset, sizes = 0, []
    for name, typ, dims in tensors:
        tid, be, bb = GGML[typ]
        n = 1
        for d in dims:
            n *= d
        size = n // be * bb
        out += _gguf_string(name) + struct.pack("<I", len(dims))
        out += b"".join(struct.pack("<Q", d) for d in dims) + struct.pack(
            "<IQ", tid, offset
        )
        offset += size + (-size % 32)
        sizes.append(size)
    out += bytes(-len(out) % 32)
    return out + bytes(offset), sizes


def tiny_llama_gguf(vocab=320, hidden=256, layers=2, ff=512, heads=4, kv=1):
    """A llama-architecture GGUF with Q4_K/Q6_K/F32 tensors, as llama.cpp names them."""
    meta = {
        "general.architecture": "llama",
        "general.name": "tiny",
        "llama.block_count": layers,
        "llama.context_length": 2048,
        "llama.embedding_length": hidden,
        "llama.feed_forward_length": ff,
        "llama.attention.head_count": heads,
        "llama.attention.head_count_kv": kv,
        "llama.attention.layer_norm_rms_epsilon": 1e-5,
        "tokenizer.ggml.tokens": [f"t{i}" for i in range(vocab)],
    }
    hd = hidden // heads
    t = [
        ("token_embd.weight", "Q6_K", (hidden, vocab)),
        ("output_norm.weight", "F32", (hidden,)),
        ("output.weight", "Q6_K", (hidden, vocab)),
    ]
    for i in range(layers):
        p = f"blk.{i}."
        t += [
            (p + "attn_norm.weight", "F32", (hidden,)),
            (p + "ffn_norm.weight", "F32", (hidden,)),
            (p + "attn_q.weight", "Q4_K", (hidden, hidden)),
            (p + "attn_k.weight", "Q4_K", (hidden, kv * hd)),
            (p + "attn_v.weight", "Q6_K", (hidden, kv * hd)),
            (p + "attn_output.weight", "Q4_K", (hidden, hidden)),
            (p + "ffn_gate.weight", "Q4_K", (hidden, ff)),
            (p + "ffn_up.weight", "Q4_K", (hidden, ff)),
            (p + "ffn_down.weight", "Q6_K", (ff, hidden)),
        ]
    return meta, t
