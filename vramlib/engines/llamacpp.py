r"""llama.cpp: model buffers per device, the KV buffer, the compute buffer, and -ngl.

llama.cpp places a GGUF model tensor by tensor (``src/llama-model.cpp``,
``load_tensors``): the token embeddings always stay on the host; of the :math:`L`
repeating layers, layer :math:`i` goes to the GPU when :math:`i \ge L - n_{gl}`; the
output layer (final norm and LM head) goes to the GPU when :math:`n_{gl} > L`.
``--n-cpu-moe k`` keeps the expert tensors of the first :math:`k` layers on the host.
Each tensor is stored as the file stores it: 2-D weights in the file's type (legacy
types put ``output.weight`` in q6_K), 1-D tensors (norms, biases) and the MoE router in
f32, all whole ggml blocks:

.. math::  \text{bytes}(W_{r \times c}) = r \cdot \lceil c / B \rceil \cdot s_B

for a type of :math:`B` values in :math:`s_B` bytes (q4_0: 32 in 18). Buffers pad each
tensor to the backend's alignment (128 bytes on CUDA, 32 in a mapped file).

The KV buffer holds :math:`n_{ctx}` cells (padded to 32, or 256 with flash attention) of
:math:`n_{kv} d_h` K and V elements per attention layer, in the cache types (f16, q8_0,
q4_0...); a sliding-window layer holds :math:`\min(n_{ctx}, W n_{seq} + n_{ub})` cells
padded to 256. The compute buffer is a stated model (:func:`compute_buffer_bytes`).

Decode reads every weight on the path once per token, so with weights :math:`W_g` on the
GPU and :math:`W_h` on the host, :math:`\text{tok/s} \le 1 / (W_g/B_g + W_h/B_h)`
(active experts only for MoE).

Constants and sources: ``vramlib/data/engines.json`` (``llamacpp``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .. import _check
from ..formats import get_format
from ..gpus import GPU
from ..layers.attention import Attention, LatentAttention
from ..layers.ssm import ParallelHybrid
from ..models import ModelSpec
from ..units import GB, MIB
from ._common import cdiv, constants, gpu_of, mib_text, spec_of

KV_TYPES = ("f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1")


def _c() -> dict:
    return constants()["llamacpp"]


def _blocks() -> dict[str, tuple[int, int]]:
    return {k: tuple(v) for k, v in constants()["ggml_block"]["types"].items()}


def ggml_type(name: str) -> str:
    """The canonical ggml type name for ``name`` (``"Q4_0"`` -> ``"q4_0"``,
    ``"fp16"`` -> ``"f16"``); unknown names are refused with the accepted ones."""
    _check.text("type", name)
    key = _check.normalise(name).replace("fp", "f")
    table = {_check.normalise(k): k for k in _blocks()}
    if key not in table:
        raise _check.unknown("type", name, list(_blocks()), what="ggml type")
    return table[key]


def row_bytes(type_name: str, n: int) -> int:
    """Bytes of a row of ``n`` values in a ggml type: whole blocks."""
    elems, size = _blocks()[ggml_type(type_name)]
    return cdiv(n, elems) * size


def _pad(n: int, align: int) -> int:
    return cdiv(n, align) * align


@dataclass(frozen=True)
class FileType:
    """How a GGUF file stores each kind of tensor: ``linear`` the 2-D weights,
    ``output`` the LM head, ``embedding`` the token embeddings (ggml type names), or,
    for a mix llama.cpp chooses per tensor (Q4_K_M...), ``bits`` per parameter group
    from :mod:`vramlib.formats` (then sizes are averages: ``exact`` is False)."""

    name: str
    linear: str | None
    output: str | None
    embedding: str | None
    bits: tuple[tuple[str, float], ...] = ()

    @property
    def exact(self) -> bool:
        return self.linear is not None


_LEGACY = ("f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q6_K")


def file_type(name: str) -> FileType:
    """A GGUF file type by name. Uniform types are exact (``llama-quant.cpp``: every 2-D
    weight in the type, ``output.weight`` in q6_K unless the type is q6_K, q8_0 or
    wider);
    per-tensor mixes (``Q4_K_M``...) use :mod:`vramlib.formats`' group averages."""
    _check.text("precision", name)
    try:
        t = ggml_type(name)
    except ValueError:
        t = None
    if t in _LEGACY:
        out = t if t in ("f32", "f16", "bf16", "q8_0", "q6_K") else "q6_K"
        return FileType(t, t, out, t)
    fmt = get_format(name)
    bits = tuple((g, float(b)) for g, b in fmt.group_bits)
    return FileType(fmt.name, None, None, None, bits)


def _tensor_bytes(ft: FileType, group: str, rows: int, cols: int, role: str) -> int:
    if not ft.exact:
        return math.ceil(rows * cols * dict(ft.bits)[group] / 8)
    kind = {"linear": ft.linear, "output": ft.output, "embedding": ft.embedding}[role]
    return rows * row_bytes(kind, cols)


@dataclass(frozen=True)
class Tensor:
    """One tensor as llama.cpp places it: ``layer`` (-1 input, ``L`` output), ``role``
    (``"expert"`` tensors move with ``--n-cpu-moe``), ``bytes`` as stored, ``active``
    the bytes one token reads (a k/E share of expert tensors)."""

    name: str
    layer: int
    role: str
    bytes: int
    active: int


def tensors(model: "ModelSpec | str", precision: str = "f16") -> list[Tensor]:
    """Every tensor of ``model`` stored as ``precision`` (a GGUF file type)."""
    spec = spec_of(model)
    ft = file_type(precision)
    h, v = spec.hidden_size, spec.vocab_size
    out: list[Tensor] = []
    emb = _tensor_bytes(ft, "embedding", v, h, "embedding")
    # one embedding row per token: too small to count in the decode bound
    out.append(Tensor("token_embd", -1, "input", emb, 0))
    for i, layer in enumerate(spec.layers):
        params = layer.params()
        small = 4 * (params.get("norm", 0) + params.get("bias", 0))
        out.append(Tensor(f"blk.{i}.f32", i, "layer", small, small))
        linears = layer.mixer.linears() + layer.ffn.linears()
        k = getattr(layer.ffn, "top_k", 0)
        e = getattr(layer.ffn, "experts", 0)
        for lin in linears:
            group = {"mixer": "attention", "expert": "mlp", "shared_expert": "mlp"}.get(
                lin.kind, lin.kind
            )
            if lin.kind == "router":
                n = 4 * lin.in_features * lin.out_features * lin.count
            else:
                n = lin.count * _tensor_bytes(
                    ft, group, lin.out_features, lin.in_features, "linear"
                )
            role = "expert" if lin.kind == "expert" else "layer"
            active = n * k // e if lin.kind == "expert" and e else n
            out.append(Tensor(f"blk.{i}.{lin.name}", i, role, n, active))
    norm = 4 * h * (2 if spec.norm_bias else 1)
    # with tied embeddings llama.cpp loads the embedding matrix again as the output
    head = (
        emb
        if spec.tie_word_embeddings
        else _tensor_bytes(ft, "lm_head", v, h, "output")
    )
    out.append(
        Tensor("output", spec.num_hidden_layers, "output", head + norm, head + norm)
    )
    return out


def _on_gpu(t: Tensor, n_layer: int, ngl: int, n_cpu_moe: int) -> bool:
    if t.layer < 0:
        return False
    if t.layer >= n_layer:
        return ngl > n_layer
    if t.role == "expert" and t.layer < n_cpu_moe:
        return False
    return t.layer >= n_layer - ngl


def kv_cells(n_ctx: int, *, flash_attn: bool = False) -> int:
    """Cells of the KV cache: ``n_ctx`` padded to 256 with flash attention, else 32
    (``llama_kv_cache::get_padding``)."""
    n = _check.integer("n_ctx", n_ctx, minimum=1)
    return _pad(n, 256 if flash_attn else 32)


def kv_layer_bytes(
    model: "ModelSpec | str",
    n_ctx: int,
    *,
    cache_type_k: str = "f16",
    cache_type_v: str = "f16",
    flash_attn: bool = False,
    n_seq: int = 1,
    n_ubatch: int = 512,
    swa_full: bool = False,
) -> list[tuple[int, int]]:
    """(K bytes, V bytes) per layer, in layer order (0 for layers without a cache).
    MLA caches its latent in K (and nothing in V); sliding layers keep the SWA cells."""
    spec = spec_of(model)
    tk, tv = ggml_type(cache_type_k), ggml_type(cache_type_v)
    for name, t in (("cache_type_k", tk), ("cache_type_v", tv)):
        if t not in KV_TYPES:
            raise _check.unknown(name, t, KV_TYPES, what="KV cache type")
    cells = kv_cells(n_ctx, flash_attn=flash_attn)
    out = []
    for layer in spec.layers:
        m = (
            layer.mixer.attention
            if isinstance(layer.mixer, ParallelHybrid)
            else layer.mixer
        )
        if isinstance(m, LatentAttention):
            out.append((cells * row_bytes(tk, m.kv_lora_rank + m.qk_rope_head_dim), 0))
        elif isinstance(m, Attention) and not m.shares_kv:
            n = cells
            if m.window is not None and not swa_full:
                n = min(cells, _pad(m.window * n_seq + n_ubatch, 256))
            row = m.kv_heads * m.head_dim
            out.append((n * row_bytes(tk, row), n * row_bytes(tv, row)))
        else:
            out.append((0, 0))
    return out


def compute_buffer_bytes(
    model: "ModelSpec | str",
    n_ctx: int,
    *,
    n_ubatch: int = 512,
    flash_attn: bool = False,
    output_on_gpu: bool = True,
) -> int:
    r"""The main device's compute buffer, a stated model (f32 activations of one ubatch
    of :math:`u` tokens, the largest stage):

    .. math::  4u \max\bigl(n_h n_{kv}[\text{no FA}] + 3H,\; I_a + 3H,\; V + H\bigr)

    attention (scores only without flash attention), feed-forward, output logits (when
    the output layer is on the GPU). Its error against llama.cpp's printed buffers is in
    ``tests/test_engine_logs.py``.
    """
    spec = spec_of(model)
    u = _check.integer("n_ubatch", n_ubatch, minimum=1)
    cells = kv_cells(n_ctx, flash_attn=flash_attn)
    extra = _c()["compute_model"]["stage_extra_hidden"] * spec.hidden_size
    from .vllm import active_mlp_width

    attn = (0 if flash_attn else spec.num_attention_heads * cells) + extra
    ffn = active_mlp_width(spec) + extra
    logits = spec.vocab_size + spec.hidden_size if output_on_gpu else 0
    return 4 * u * max(attn, ffn, logits)


def host_compute_buffer_bytes(
    model: "ModelSpec | str",
    n_ctx: int,
    *,
    n_ubatch: int = 512,
    flash_attn: bool = False,
) -> int:
    r"""The host (``CUDA_Host``) compute buffer, a stated model: the ubatch's input
    embeddings and its attention mask, :math:`4u (H + n_{kv})`."""
    spec = spec_of(model)
    u = _check.integer("n_ubatch", n_ubatch, minimum=1)
    return 4 * u * (spec.hidden_size + kv_cells(n_ctx, flash_attn=flash_attn))


@dataclass(frozen=True)
class LlamaCppPrediction:
    """Where llama.cpp puts everything, in bytes, and the decode-speed bound."""

    version: str
    model: str
    precision: str
    exact: bool
    n_layer: int
    n_gpu_layers: int
    n_cpu_moe: int
    n_ctx: int
    kv_cells: int
    gpu_model_bytes: int
    host_model_bytes: int
    gpu_kv_bytes: int
    host_kv_bytes: int
    k_bytes: int
    v_bytes: int
    compute_buffer_bytes: int
    host_compute_buffer_bytes: int
    gpu_read_bytes: int
    host_read_bytes: int
    cache_type_k: str
    cache_type_v: str

    @property
    def kv_bytes(self) -> int:
        return self.k_bytes + self.v_bytes

    @property
    def gpu_bytes(self) -> int:
        """Everything on the GPU: model buffer, KV buffer, compute buffer."""
        return self.gpu_model_bytes + self.gpu_kv_bytes + self.compute_buffer_bytes

    @property
    def host_bytes(self) -> int:
        """Everything in host memory: model buffer, KV buffer, host compute buffer."""
        return (
            self.host_model_bytes + self.host_kv_bytes + self.host_compute_buffer_bytes
        )

    def decode_tokens_per_s_bound(
        self,
        gpu_bandwidth_bytes_per_s: int,
        host_bandwidth_bytes_per_s: int | None = None,
    ) -> float:
        r"""Upper bound on decode speed: every weight on the path read once per token,
        :math:`1 / (W_g/B_g + W_h/B_h)`. A host share needs ``host_bandwidth``."""
        bg = _check.integer("gpu_bandwidth_bytes_per_s", gpu_bandwidth_bytes_per_s)
        seconds = self.gpu_read_bytes / bg
        if self.host_read_bytes:
            if host_bandwidth_bytes_per_s is None:
                raise ValueError(
                    f"host_bandwidth_bytes_per_s is needed: "
                    f"{self.host_read_bytes:,} bytes of weights are read from "
                    f"host memory per token"
                )
            seconds += self.host_read_bytes / _check.integer(
                "host_bandwidth_bytes_per_s", host_bandwidth_bytes_per_s
            )
        return 1 / seconds

    def log_lines(self) -> list[str]:
        k, v = self.cache_type_k, self.cache_type_v
        lines = [
            f"CUDA0 model buffer size = {mib_text(self.gpu_model_bytes):>8} MiB",
            f"CPU_Mapped model buffer size = {mib_text(self.host_model_bytes):>8} MiB",
            f"llama_kv_cache: size = {mib_text(self.kv_bytes):>8} MiB "
            f"({self.kv_cells:>6} cells, {self.n_layer:>3} layers, 1/1 seqs), "
            f"K ({k}): {mib_text(self.k_bytes):>8} MiB, V ({v}): "
            f"{mib_text(self.v_bytes):>8} MiB",
            f"CUDA0 compute buffer size = {mib_text(self.compute_buffer_bytes):>8} MiB",
            f"CUDA_Host compute buffer size = "
            f"{mib_text(self.host_compute_buffer_bytes):>8} MiB",
        ]
        return lines

    def to_dict(self) -> dict:
        return {
            "engine": "llama.cpp",
            "version": self.version,
            "model": self.model,
            "precision": self.precision,
            "exact": self.exact,
            "n_layer": self.n_layer,
            "n_gpu_layers": self.n_gpu_layers,
            "n_cpu_moe": self.n_cpu_moe,
            "n_ctx": self.n_ctx,
            "kv_cells": self.kv_cells,
            "gpu_bytes": self.gpu_bytes,
            "host_bytes": self.host_bytes,
            "gpu_model_bytes": self.gpu_model_bytes,
            "host_model_bytes": self.host_model_bytes,
            "kv_bytes": self.kv_bytes,
            "gpu_kv_bytes": self.gpu_kv_bytes,
            "host_kv_bytes": self.host_kv_bytes,
            "compute_buffer_bytes": self.compute_buffer_bytes,
            "host_compute_buffer_bytes": self.host_compute_buffer_bytes,
            "gpu_read_bytes_per_token": self.gpu_read_bytes,
            "host_read_bytes_per_token": self.host_read_bytes,
            "log_lines": self.log_lines(),
        }


def predict(
    model: "ModelSpec | str",
    *,
    precision: str = "Q4_K_M",
    n_ctx: int = 4096,
    n_gpu_layers: int | None = None,
    n_cpu_moe: int = 0,
    n_ubatch: int = 512,
    flash_attn: bool = False,
    cache_type_k: str = "f16",
    cache_type_v: str = "f16",
    n_seq: int = 1,
    swa_full: bool = False,
    context_read: int = 0,
) -> LlamaCppPrediction:
    """Predict llama.cpp's buffers for ``model`` stored as ``precision`` (a GGUF type).

    ``n_gpu_layers`` (``-ngl``) defaults to all layers and the output (L + 1);
    ``n_cpu_moe`` keeps the experts of the first layers on the host; ``context_read`` is
    the context length at which the decode bound counts the KV cache read per token.
    """
    spec = spec_of(model)
    n_layer = spec.num_hidden_layers
    ngl = (
        n_layer + 1
        if n_gpu_layers is None
        else _check.integer("n_gpu_layers", n_gpu_layers, minimum=0)
    )
    ngl = min(ngl, n_layer + 1)
    moe = _check.integer("n_cpu_moe", n_cpu_moe, minimum=0)
    for flag in ("flash_attn", "swa_full"):
        if not isinstance(locals()[flag], bool):
            raise TypeError(f"{flag} must be True or False")
    ft = file_type(precision)
    c = _c()
    g_align, h_align = c["gpu_tensor_alignment"], c["host_tensor_alignment"]
    gpu = host = gpu_read = host_read = 0
    for t in tensors(spec, precision):
        if _on_gpu(t, n_layer, ngl, moe):
            gpu += _pad(t.bytes, g_align)
            gpu_read += t.active
        else:
            host += _pad(t.bytes, h_align)
            host_read += t.active
    kv = kv_layer_bytes(
        spec,
        n_ctx,
        cache_type_k=cache_type_k,
        cache_type_v=cache_type_v,
        flash_attn=flash_attn,
        n_seq=n_seq,
        n_ubatch=n_ubatch,
        swa_full=swa_full,
    )
    gpu_kv = host_kv = 0
    for i, (k, v) in enumerate(kv):
        if i >= n_layer - ngl:
            gpu_kv += k + v
        else:
            host_kv += k + v
    cells = kv_cells(n_ctx, flash_attn=flash_attn)
    read = _check.integer("context_read", context_read, minimum=0)
    if read:
        per_token = [(k + v) // cells for k, v in kv]
        for i, b in enumerate(per_token):
            if i >= n_layer - ngl:
                gpu_read += b * min(read, cells)
            else:
                host_read += b * min(read, cells)
    offloaded = ngl > 0
    return LlamaCppPrediction(
        version=c["version"],
        model=spec.name or spec.model_type,
        precision=ft.name,
        exact=ft.exact,
        n_layer=n_layer,
        n_gpu_layers=ngl,
        n_cpu_moe=moe,
        n_ctx=n_ctx,
        kv_cells=cells,
        gpu_model_bytes=gpu,
        host_model_bytes=host,
        gpu_kv_bytes=gpu_kv,
        host_kv_bytes=host_kv,
        k_bytes=sum(k for k, _ in kv),
        v_bytes=sum(v for _, v in kv),
        compute_buffer_bytes=compute_buffer_bytes(
            spec,
            n_ctx,
            n_ubatch=n_ubatch,
            flash_attn=flash_attn,
            output_on_gpu=ngl > n_layer,
        )
        if offloaded
        else 0,
        host_compute_buffer_bytes=host_compute_buffer_bytes(
            spec, n_ctx, n_ubatch=n_ubatch, flash_attn=flash_attn
        ),
        gpu_read_bytes=gpu_read,
        host_read_bytes=host_read,
        cache_type_k=ggml_type(cache_type_k),
        cache_type_v=ggml_type(cache_type_v),
    )


def free_gpu_bytes(gpu: "GPU | str") -> int:
    """What llama.cpp sees free on an idle card: nvidia-smi's total (or the capacity as
    built) less the CUDA context (engines.json ``cuda_context_mib``)."""
    card = gpu_of(gpu)
    return card.capacity_bytes - _c()["cuda_context_mib"]["value"] * MIB


def max_gpu_layers(model: "ModelSpec | str", gpu: "GPU | str", **settings) -> int:
    """The highest ``-ngl`` whose GPU share (model, KV and compute buffers) fits the
    card's free memory; -1 when not even ``-ngl 0`` fits. ``settings`` as for
    :func:`predict`."""
    spec = spec_of(model)
    free = free_gpu_bytes(gpu)
    settings.pop("n_gpu_layers", None)
    for ngl in range(spec.num_hidden_layers + 1, -1, -1):
        if predict(spec, n_gpu_layers=ngl, **settings).gpu_bytes <= free:
            return ngl
    return -1


def min_cpu_moe(model: "ModelSpec | str", gpu: "GPU | str", **settings) -> int | None:
    """The fewest ``--n-cpu-moe`` layers (experts on the host) with which every layer
    offloaded fits the card; ``None`` if even all experts on the host do not fit."""
    spec = spec_of(model)
    if not spec.is_moe:
        raise ValueError(
            f"{spec.name or spec.model_type} has no experts: use max_gpu_layers instead"
        )
    free = free_gpu_bytes(gpu)
    settings.pop("n_cpu_moe", None)
    for k in range(0, spec.num_hidden_layers + 1):
        if predict(spec, n_cpu_moe=k, **settings).gpu_bytes <= free:
            return k
    return None


def bandwidth_bound(
    prediction: LlamaCppPrediction,
    gpu: "GPU | str",
    host_bandwidth_gb_s: float | None = None,
) -> float:
    """Decode tokens/s bound with the catalogue GPU's bandwidth and a host bandwidth in
    GB/s (10^9 bytes per second)."""
    card = gpu_of(gpu)
    host = (
        None
        if host_bandwidth_gb_s is None
        else round(_check.number("host_bandwidth_gb_s", host_bandwidth_gb_s) * GB)
    )
    return prediction.decode_tokens_per_s_bound(card.bandwidth_bytes_per_s, host)


__all__ = [
    "FileType",
    "KV_TYPES",
    "LlamaCppPrediction",
    "Tensor",
    "bandwidth_bound",
    "compute_buffer_bytes",
    "file_type",
    "free_gpu_bytes",
    "ggml_type",
    "host_compute_buffer_bytes",
    "kv_cells",
    "kv_layer_bytes",
    "max_gpu_layers",
    "min_cpu_moe",
    "predict",
    "row_bytes",
    "tensors",
]
