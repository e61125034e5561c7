r"""vLLM: the KV-cache budget, blocks, tokens and concurrency it prints at start-up.

vLLM does not ask how much KV cache a request needs; it hands the KV cache whatever is
left of its share of the card after a profiling pass (V1 engine, as read in
``vllm/v1/worker/gpu_worker.py`` ``Worker.determine_available_memory``):

.. math::  M_{KV} = u \cdot M_{total} - \bigl(W_{gpu} + A_{peak} + N_{torch}\bigr)

with :math:`u` ``gpu_memory_utilization`` (0.9 by default), :math:`M_{total}` the card's
memory as ``torch.cuda.mem_get_info`` reports it (nvidia-smi's total less what the
driver keeps), :math:`W_{gpu}` the weights one GPU holds as loaded (tensor-parallel
split, vocab padded to 64 per rank, the rotary cos/sin cache), :math:`A_{peak}` the
torch peak of a forward pass over ``max_num_batched_tokens`` tokens and a dummy sampler
over ``max_num_seqs`` rows (a stated model: :func:`activation_peak_bytes`), and
:math:`N_{torch}` the non-torch memory that appeared while loading and profiling.

The pool is then cut into pages (``vllm/v1/core/kv_cache_utils.py``): one page holds
``block_size`` tokens (16) of one layer, :math:`16 \cdot 2 n_{kv}/t \cdot d_h \cdot b`
bytes for ordinary attention. With :math:`L` alike layers,

.. math::  N_{blocks} = \lfloor M_{KV} / \text{page} / L \rfloor, \qquad
           \text{tokens} = N_{blocks} \cdot 16, \qquad
           \text{concurrency}(\ell) = N_{blocks} / \lceil \ell / 16 \rceil .

Layers of different kinds (sliding windows, Mamba or linear-attention states) share one
page size: vLLM groups them, and for hybrid models raises the attention block size until
one attention page is at least one state page, then pads the state page to match
(:func:`kv_layout`). A state layer needs one page per request however long it is, an
attention layer one page per 16·k tokens; so for hybrid models the token count printed
is not a capacity, and the concurrency is what to read.

``accounting="v0"`` gives the older V0 worker (vLLM 0.6.4-0.7): the budget subtracts all
non-torch memory (CUDA context, NCCL at TP >= 2), blocks hold every layer, and the
concurrency is blocks x 16 / max_model_len.

Constants and sources: ``vramlib/data/engines.json`` (``vllm``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .. import _check
from ..estimate import tensor_parallel_problem
from ..formats import WeightFormat, is_as_published
from ..gpus import GPU
from ..layers.attention import Attention, LatentAttention
from ..layers.ssm import Mamba1, Mamba2, NoMixer, ParallelHybrid
from ..models import ModelSpec
from ..precisions import Precision, get_precision
from ..checkpoint.dtypes import SAFETENSORS_BYTES
from ..units import MIB
from ._common import (
    as_published,
    cdiv,
    constants,
    format_of,
    fraction,
    gib_text,
    gpu_of,
    kv_precision,
    spec_of,
)

ACCOUNTINGS = ("v1", "v0")
_SPLIT = ("embedding", "lm_head", "attention", "mlp", "bias")


def _c() -> dict:
    return constants()["vllm"]


# ---- the card and the weights --------------------------------------------------------


def torch_total_bytes(gpu: "GPU | str") -> int:
    """Memory ``torch.cuda.mem_get_info`` reports as the card's total: nvidia-smi's
    ``memory.total`` (the catalogue's ``reported_mib``) less what the driver keeps
    (``driver_reserved_mib``, 434 MiB, derived from two logs; see engines.json). A card
    without a reported total uses its built capacity less the same reservation."""
    card = gpu_of(gpu)
    reserved = _c()["driver_reserved_mib"]["value"] * MIB
    base = (
        card.reported_mib * MIB if card.reported_mib is not None else card.memory_bytes
    )
    return base - reserved


def _padded_vocab(vocab: int) -> int:
    pad = _c()["vocab_padding"]
    return cdiv(vocab, pad) * pad


def rotary_cache_bytes(spec: ModelSpec, dtype_bytes: int = 2) -> int:
    r"""The cos/sin cache vLLM's rotary embedding registers as a buffer:
    :math:`P_{max} \cdot d_{rot}` elements of the model dtype (:math:`d_{rot}` the head
    size, or the rotary part of MLA's keys). 32 MiB for Llama 3.1 (131,072 positions x
    128)."""
    positions = spec.max_position_embeddings or 0
    rot = spec.qk_rope_head_dim if spec.uses_mla else spec.head_dim
    return positions * rot * dtype_bytes


def weights_bytes_per_gpu(
    model: "ModelSpec | str",
    precision: "str | WeightFormat | None" = "bf16",
    tensor_parallel: int = 1,
) -> int:
    r"""Bytes of weights one GPU holds as vLLM loads them.

    Each parameter group at the format's bits; embedding and LM head padded to a vocab
    multiple of 64 and, with attention and MLP matrices and biases, split over
    :math:`t` ranks; norms and routers replicated on every rank; plus the rotary cache.
    For Llama 3.1 8B in bf16 on one GPU: 16,060,522,496 + 33,554,432 bytes, the
    "14.9888 GB" (GiB) vLLM prints. ``precision`` ``None``: the checkpoint as
    published (its quantization_config, every module as stored), else bf16.
    """
    spec = spec_of(model)
    published, fmt = as_published(spec) if is_as_published(precision) else (None, None)
    fmt = fmt or format_of(precision)
    t = _check.integer("tensor_parallel", tensor_parallel, minimum=1)
    problem = tensor_parallel_problem(spec, t)
    if problem:
        raise ValueError(problem)
    groups = dict(spec.param_groups())
    extra_rows = _padded_vocab(spec.vocab_size) - spec.vocab_size
    for group in ("embedding", "lm_head"):
        if groups.get(group):
            groups[group] += extra_rows * spec.hidden_size
    by_group = {
        group: math.ceil(count * fmt.bits_for(group) / 8)
        for group, count in groups.items()
    }
    if published is not None:  # every module as the checkpoint stores it
        by_group = published.group_bytes()
        pad = extra_rows * spec.hidden_size * SAFETENSORS_BYTES[published.dtype]
        for group in ("embedding", "lm_head"):
            if by_group.get(group):
                by_group[group] += pad
    split = kept = 0
    for group, n in by_group.items():
        if group in _SPLIT:
            split += n
        else:
            kept += n
    dtype_bytes = 4 if fmt.name in ("fp32", "tf32") else 2
    return cdiv(split, t) + kept + rotary_cache_bytes(spec, dtype_bytes)


def active_mlp_width(spec: ModelSpec) -> int:
    """The widest MLP a token passes through: the dense width, or k routed experts plus
    the shared expert for a mixture of experts."""
    width = spec.intermediate_size if "dense" in spec.mlp_layer_types else 0
    if spec.is_moe:
        moe = (
            spec.experts_per_token * spec.moe_intermediate_size
            + spec.shared_expert_intermediate_size
        )
        width = max(width, moe)
    return width


def activation_peak_bytes(
    model: "ModelSpec | str",
    tokens: int,
    *,
    max_num_seqs: int = 256,
    dtype_bytes: int = 2,
) -> int:
    r"""The profiling pass's torch peak increase, a stated model (engines.json
    ``activation_model``):

    .. math::  A = T\,a\,(3 I_a + 2H) + 2 \cdot 4 \cdot S\,V

    :math:`T` tokens of the dummy prefill (``max_num_batched_tokens``), :math:`a` bytes
    per activation, :math:`I_a` the active MLP width (:func:`active_mlp_width`), and
    :math:`S = \min(\text{max\_num\_seqs}, T)` rows of fp32 logits twice over. Tensor
    parallelism is not divided out: vLLM printed the same 1.26 GiB peak for
    Meta-Llama-3-8B at TP 1 and TP 2 (vllm-project/vllm#10511). Its error against vLLM's
    printed peaks is in ``tests/test_engine_logs.py``: a model, not a measurement.
    """
    spec = spec_of(model)
    t = _check.integer("tokens", tokens, minimum=1)
    seqs = min(_check.integer("max_num_seqs", max_num_seqs, minimum=1), t)
    m = _c()["activation_model"]
    forward = (
        t
        * dtype_bytes
        * (
            m["intermediate_copies"] * active_mlp_width(spec)
            + m["hidden_copies"] * spec.hidden_size
        )
    )
    sampler = m["logit_buffers_fp32"] * 4 * seqs * spec.vocab_size
    return forward + sampler


# ---- pages and groups ----------------------------------------------------------------


@dataclass(frozen=True)
class PageSpec:
    """What one layer keeps per block: ``kind`` ``"full"``, ``"sliding"`` or
    ``"mamba"``; ``page_bytes`` the bytes of one page of ``block_size`` tokens (a state
    layer's page is its whole state); ``window`` a sliding window's span."""

    kind: str
    page_bytes: int
    block_size: int
    window: int | None = None

    def max_request_bytes(self, max_model_len: int, max_num_batched_tokens: int) -> int:
        """Pages one request of ``max_model_len`` tokens may hold, in bytes (vLLM's
        ``max_memory_usage_bytes``): full attention :math:`\\lceil \\ell / b \\rceil`
        pages, a sliding window
        :math:`\\lceil \\min(W - 1 + T_b, \\ell) / b \\rceil + 1`,
        a state one page."""
        if self.kind == "mamba":
            return self.page_bytes
        if self.kind == "sliding":
            span = min(self.window - 1 + max_num_batched_tokens, max_model_len)
            return (cdiv(span, self.block_size) + 1) * self.page_bytes
        return cdiv(max_model_len, self.block_size) * self.page_bytes


@dataclass(frozen=True)
class KVLayout:
    """How vLLM lays out one GPU's KV pool: ``groups`` as (page spec, layers) pairs,
    ``group_size`` layers sharing each pool tensor, one ``page_bytes`` for every group
    (the sum of the layers' pages when ``uniform_type``: alike layers of different
    widths), and the attention ``block_size`` after hybrid alignment (``mamba_padding``:
    bytes added to each state page)."""

    groups: tuple[tuple[PageSpec, int], ...]
    group_size: int
    page_bytes: int
    block_size: int
    uniform_type: bool = False
    mamba_padding: int = 0

    def num_blocks(self, available_bytes: int) -> int:
        """Blocks the budget buys: :math:`\\lfloor M / \\text{page} / \\text{group size}
        \\rfloor` (``get_num_blocks``)."""
        if available_bytes <= 0:
            return 0
        return int(available_bytes // self.page_bytes // self.group_size)

    def tokens(self, num_blocks: int) -> int:
        """The "GPU KV cache size: N tokens" line: blocks // groups x the smallest
        block size."""
        smallest = min(s.block_size for s, _ in self.groups)
        return num_blocks // len(self.groups) * smallest

    def request_blocks(self, max_model_len: int, max_num_batched_tokens: int) -> int:
        """Blocks one request of ``max_model_len`` tokens may take (every group)."""
        total = sum(
            s.max_request_bytes(max_model_len, max_num_batched_tokens)
            for s, _ in self.groups
        )
        return cdiv(total, self.page_bytes)

    def concurrency(
        self, num_blocks: int, max_model_len: int, max_num_batched_tokens: int
    ) -> float:
        """The "Maximum concurrency for L tokens per request" line: blocks over blocks
        per request
        (``get_max_concurrency_for_kv_cache_config``)."""
        return num_blocks / self.request_blocks(max_model_len, max_num_batched_tokens)

    def request_bytes(self, max_model_len: int, max_num_batched_tokens: int) -> int:
        """Pool bytes one request of ``max_model_len`` tokens needs
        (``_max_memory_usage_bytes_from_groups``)."""
        pages = sum(
            cdiv(
                s.max_request_bytes(max_model_len, max_num_batched_tokens),
                self.page_bytes,
            )
            for s, _ in self.groups
        )
        return self.group_size * self.page_bytes * pages

    def max_model_len(
        self, available_bytes: int, upper: int, max_num_batched_tokens: int
    ) -> int:
        """The longest ``max_model_len`` (up to ``upper``) one request fits into the
        pool,
        by vLLM's bisection (``_estimate_max_model_len_from_groups``); 0 if none."""
        lo, hi, best = 1, upper, 0
        while lo <= hi:
            mid = (lo + hi) // 2
            if self.request_bytes(mid, max_num_batched_tokens) <= available_bytes:
                best, lo = mid, mid + 1
            else:
                hi = mid - 1
        return best


def _attention_page_1(mixer, kv: Precision, t: int) -> int:
    """Bytes one token of one attention layer takes on one of ``t`` ranks."""
    if isinstance(mixer, LatentAttention):
        return kv.bytes_for(mixer.kv_lora_rank + mixer.qk_rope_head_dim)
    heads = max(1, mixer.kv_heads // t)
    return 2 * kv.bytes_for(heads * mixer.head_dim)


def _state_bytes(mixer, state: Precision, conv: Precision, t: int) -> int:
    """A Mamba layer's state on one rank, as vLLM keeps it: K - 1 conv columns."""
    if isinstance(mixer, Mamba2):
        channels = mixer.conv_channels // t
        ssm = mixer.heads // t * mixer.head_dim * mixer.state_size
    elif isinstance(mixer, Mamba1):
        channels = mixer.inner // t
        ssm = channels * mixer.state_size
    else:
        raise ValueError(
            f"layer kind {type(mixer).__name__} has no vLLM page model yet "
            f"(supported: attention, latent attention, Mamba1, Mamba2)"
        )
    return conv.bytes_for(channels * (mixer.conv_kernel - 1)) + state.bytes_for(ssm)


def _layer_pages(
    spec: ModelSpec, kv: Precision, state: Precision, conv: Precision, t: int
) -> list[tuple[str, int, int | None]]:
    """Per layer: (kind, bytes per token or per state, window) for each cache the layer
    keeps; layers that keep none are left out."""
    out: list[tuple[str, int, int | None]] = []
    for layer in spec.layers:
        mixers = (
            [layer.mixer.attention, layer.mixer.ssm]
            if isinstance(layer.mixer, ParallelHybrid)
            else [layer.mixer]
        )
        for m in mixers:
            if isinstance(m, NoMixer):
                continue
            if isinstance(m, Attention):
                if m.shares_kv:
                    continue
                kind = "full" if m.window is None else "sliding"
                out.append((kind, _attention_page_1(m, kv, t), m.window))
            elif isinstance(m, LatentAttention):
                out.append(("full", _attention_page_1(m, kv, t), None))
            else:
                out.append(("mamba", _state_bytes(m, state, conv, t), None))
    return out


def kv_layout(
    model: "ModelSpec | str",
    *,
    kv_cache_dtype: "str | None" = None,
    tensor_parallel: int = 1,
    block_size: int | None = None,
    hybrid_kv_manager: bool = True,
    mamba_ssm_dtype: "str | None" = None,
    model_dtype: str = "bf16",
) -> KVLayout:
    r"""The KV layout vLLM's V1 engine builds for one GPU.

    * All layers alike: one group of :math:`L` layers, page = ``block_size`` tokens.
    * Alike in kind but not in width: one group whose page is the sum of the layers'.
    * Mixed kinds (sliding windows, state layers): with a state layer present, the
      attention block size becomes :math:`16 \lceil S / (16\,p_1) \rceil` (:math:`S` the
      state page, :math:`p_1` an attention token) and the state page is padded to the
      attention page; pages of different sizes are unified by scaling block sizes;
      layers are grouped by kind into groups of ``group_size`` (the fewest layers of a
      kind, or the most when that is under 1.5 times the fewest).

    ``hybrid_kv_manager=False`` (``--disable-hybrid-kv-cache-manager``) treats sliding
    windows as full attention. ``kv_cache_dtype`` ``"auto"``/``None`` is the model
    dtype; ``"fp8"`` one byte. ``mamba_ssm_dtype`` is the SSM state's (default: model
    dtype).
    """
    spec = spec_of(model)
    t = _check.integer("tensor_parallel", tensor_parallel, minimum=1)
    c = _c()
    bs = (
        c["block_size"]
        if block_size is None
        else _check.integer("block_size", block_size)
    )
    if not isinstance(hybrid_kv_manager, bool):
        raise TypeError(
            f"hybrid_kv_manager must be True or False, got {hybrid_kv_manager!r}"
        )
    kv = kv_precision(kv_cache_dtype, model_dtype)
    conv = get_precision(model_dtype)
    state = conv if mamba_ssm_dtype is None else get_precision(mamba_ssm_dtype)
    per_layer = _layer_pages(spec, kv, state, conv, t)
    if not per_layer:
        raise ValueError(
            f"{spec.name or spec.model_type} keeps no KV cache or state: "
            f"vLLM allocates no pool for it"
        )
    if not hybrid_kv_manager:
        per_layer = [
            ("full" if k == "sliding" else k, b, None if k == "sliding" else w)
            for k, b, w in per_layer
        ]
    attn_1 = [b for k, b, _ in per_layer if k != "mamba"]
    states = [b for k, b, _ in per_layer if k == "mamba"]
    padding = 0
    if states and attn_1:
        align = max(c["kernel_block_alignment"], bs)
        p1, s = max(attn_1), max(states)
        needed = align * cdiv(s, align * p1)
        if bs < needed:
            bs = needed
        padding = bs * p1 - s
        if padding < 0:
            raise ValueError(
                "attention page smaller than the state page after alignment"
            )
    pages: list[PageSpec] = []
    for kind, b, window in per_layer:
        if kind == "mamba":
            page = bs * max(attn_1) if attn_1 else b
            pages.append(PageSpec("mamba", page, bs))
        else:
            pages.append(PageSpec(kind, bs * b, bs, window))
    if len(set(pages)) == 1:
        return KVLayout(
            ((pages[0], len(pages)),),
            len(pages),
            pages[0].page_bytes,
            bs,
            mamba_padding=padding,
        )
    if all(p.kind == "full" for p in pages):
        total = sum(p.page_bytes for p in pages)
        merged = PageSpec("full", total, bs)
        return KVLayout(
            ((merged, 1),), 1, total, bs, uniform_type=True, mamba_padding=padding
        )
    return _grouped(pages, bs, padding)


def _grouped(pages: list[PageSpec], bs: int, padding: int) -> KVLayout:
    biggest = max(p.page_bytes for p in pages)
    unified = []
    for p in pages:
        if p.page_bytes != biggest:
            if biggest % p.page_bytes:
                raise ValueError(
                    "vLLM cannot unify these page sizes (the largest is not "
                    "a multiple of the others)"
                )
            ratio = biggest // p.page_bytes
            p = PageSpec(p.kind, biggest, p.block_size * ratio, p.window)
        unified.append(p)
    by_kind: dict[PageSpec, int] = {}
    for p in unified:
        by_kind[p] = by_kind.get(p, 0) + 1
    fewest, most = min(by_kind.values()), max(by_kind.values())
    size = most if most < fewest * 1.5 else fewest
    groups: list[tuple[PageSpec, int]] = []
    for p, n in by_kind.items():
        k = cdiv(n, size)
        groups += [(p, len(range(i, n, k))) for i in range(k)]
    return KVLayout(
        tuple(groups),
        size,
        biggest,
        min(p.block_size for p in unified),
        mamba_padding=padding,
    )


def v0_block_bytes(
    model: "ModelSpec | str",
    *,
    kv_cache_dtype: "str | None" = None,
    tensor_parallel: int = 1,
    block_size: int | None = None,
    model_dtype: str = "bf16",
) -> int:
    r"""V0's ``cache_block_size``: one block of ``block_size`` tokens across every
    attention layer, :math:`b \sum_\ell 2 (n_{kv}/t) d_h\,\text{bytes}` (sliding windows
    counted in full; V0 has no state layers)."""
    spec = spec_of(model)
    t = _check.integer("tensor_parallel", tensor_parallel, minimum=1)
    bs = (
        _c()["block_size"]
        if block_size is None
        else _check.integer("block_size", block_size)
    )
    kv = kv_precision(kv_cache_dtype, model_dtype)
    per_layer = _layer_pages(
        spec, kv, get_precision(model_dtype), get_precision(model_dtype), t
    )
    if any(k == "mamba" for k, _, _ in per_layer):
        raise ValueError(
            "accounting='v0' has no state (Mamba) layers; use accounting='v1'"
        )
    return bs * sum(b for _, b, _ in per_layer)


# ---- the whole prediction ------------------------------------------------------------


@dataclass(frozen=True)
class VllmPrediction:
    """What vLLM would print and allocate on each GPU. Bytes everywhere."""

    version: str
    accounting: str
    model: str
    gpu: str
    tensor_parallel: int
    gpu_memory_utilization: float
    max_model_len: int
    max_num_batched_tokens: int
    max_num_seqs: int
    kv_cache_dtype: str
    total_bytes: int
    requested_bytes: int
    weights_bytes_per_gpu: int
    activation_bytes: int
    non_torch_bytes: int
    cuda_graph_bytes: int
    kv_pool_bytes: int
    page_bytes: int
    block_size: int
    num_blocks: int
    kv_cache_tokens: int
    max_concurrency: float
    largest_max_model_len: int
    groups: tuple[tuple[str, int, int], ...] = field(default=())

    @property
    def fits(self) -> bool:
        """vLLM starts: the pool holds one request of ``max_model_len`` tokens."""
        return self.max_concurrency >= 1.0

    def log_lines(self) -> list[str]:
        """The start-up lines vLLM prints for these settings, as predicted."""
        w = gib_text(self.weights_bytes_per_gpu, 4)
        lines = [
            f"Loading model weights took {w} GB"
            if self.accounting == "v0"
            else f"Model loading took {gib_text(self.weights_bytes_per_gpu)} GiB"
        ]
        if self.accounting == "v0":
            lines += [
                f"# GPU blocks: {self.num_blocks}",
                f"Maximum concurrency for {self.max_model_len} tokens per request: "
                f"{self.max_concurrency:.2f}x",
            ]
        else:
            lines += [
                f"Available KV cache memory: {gib_text(self.kv_pool_bytes)} GiB",
                f"GPU KV cache size: {self.kv_cache_tokens:,} tokens",
                f"Maximum concurrency for {self.max_model_len:,} tokens per request: "
                f"{self.max_concurrency:.2f}x",
            ]
        return lines

    def waterfall(self) -> list[tuple[str, int]]:
        """The budget step by step, for a waterfall chart: the card, what the engine may
        not touch, then each deduction, ending at the KV pool."""
        return [
            ("card (torch total)", self.total_bytes),
            ("outside gpu_memory_utilization", self.requested_bytes - self.total_bytes),
            ("weights", -self.weights_bytes_per_gpu),
            ("activation peak", -self.activation_bytes),
            ("non-torch", -self.non_torch_bytes),
            ("KV pool", self.kv_pool_bytes),
        ]

    def to_dict(self) -> dict:
        """Plain data (for JSON), every figure in bytes, with the engine version."""
        return {
            "engine": "vllm",
            "version": self.version,
            "accounting": self.accounting,
            "model": self.model,
            "gpu": self.gpu,
            "tensor_parallel": self.tensor_parallel,
            "gpu_memory_utilization": self.gpu_memory_utilization,
            "max_model_len": self.max_model_len,
            "max_num_batched_tokens": self.max_num_batched_tokens,
            "max_num_seqs": self.max_num_seqs,
            "kv_cache_dtype": self.kv_cache_dtype,
            "total_bytes": self.total_bytes,
            "requested_bytes": self.requested_bytes,
            "weights_bytes_per_gpu": self.weights_bytes_per_gpu,
            "activation_bytes": self.activation_bytes,
            "non_torch_bytes": self.non_torch_bytes,
            "cuda_graph_bytes": self.cuda_graph_bytes,
            "kv_pool_bytes": self.kv_pool_bytes,
            "page_bytes": self.page_bytes,
            "block_size": self.block_size,
            "num_blocks": self.num_blocks,
            "kv_cache_tokens": self.kv_cache_tokens,
            "max_concurrency": round(self.max_concurrency, 4),
            "largest_max_model_len": self.largest_max_model_len,
            "groups": [
                {"kind": k, "layers": n, "block_size": b} for k, n, b in self.groups
            ],
            "log_lines": self.log_lines(),
        }


def predict(
    model: "ModelSpec | str",
    gpu: "GPU | str",
    *,
    precision: "str | WeightFormat | None" = "bf16",
    tensor_parallel: int = 1,
    gpu_memory_utilization: float = 0.9,
    max_model_len: int | None = None,
    max_num_batched_tokens: int | None = None,
    max_num_seqs: int = 256,
    kv_cache_dtype: "str | None" = None,
    block_size: int | None = None,
    accounting: str = "v1",
    hybrid_kv_manager: bool = True,
    mamba_ssm_dtype: "str | None" = None,
    non_torch_bytes: int | None = None,
    total_bytes: int | None = None,
) -> VllmPrediction:
    """Predict vLLM's start-up figures for ``model`` on ``tensor_parallel`` x ``gpu``.

    ``max_model_len`` defaults to the model's ``max_position_embeddings``;
    ``max_num_batched_tokens`` to 8192 (V1; set it to your server's value) or
    max(max_model_len, 2048) (V0, chunked prefill off). ``non_torch_bytes`` and
    ``total_bytes`` override the constants (engines.json) when you know your card's.
    """
    spec = spec_of(model)
    card = gpu_of(gpu)
    fmt = as_published(spec)[1] if is_as_published(precision) else format_of(precision)
    if accounting not in ACCOUNTINGS:
        raise _check.unknown(
            "accounting", accounting, ACCOUNTINGS, what="vLLM accounting"
        )
    t = _check.integer("tensor_parallel", tensor_parallel, minimum=1)
    util = fraction("gpu_memory_utilization", gpu_memory_utilization)
    if max_model_len is None:
        if spec.max_position_embeddings is None:
            raise ValueError(
                "max_model_len is needed: the config declares no "
                "max_position_embeddings"
            )
        max_model_len = spec.max_position_embeddings
    length = _check.integer("max_model_len", max_model_len, minimum=1)
    if max_num_batched_tokens is None:
        batched = 8192 if accounting == "v1" else max(length, 2048)
    else:
        batched = _check.integer("max_num_batched_tokens", max_num_batched_tokens)
    seqs = _check.integer("max_num_seqs", max_num_seqs, minimum=1)
    c = _c()
    total = (
        torch_total_bytes(card)
        if total_bytes is None
        else _check.integer("total_bytes", total_bytes)
    )
    weights = weights_bytes_per_gpu(
        spec, None if is_as_published(precision) else fmt, t
    )
    act_bytes = 4 if fmt.name in ("fp32", "tf32") else 2
    activation = activation_peak_bytes(
        spec, batched, max_num_seqs=seqs, dtype_bytes=act_bytes
    )
    nt = c["non_torch"]
    if non_torch_bytes is None:
        if accounting == "v1":
            non_torch = nt["v1_increase_bytes"]
        else:
            non_torch = nt["v0_bytes"] + (nt["nccl_bytes_per_gpu_tp"] if t > 1 else 0)
    else:
        non_torch = _check.integer("non_torch_bytes", non_torch_bytes, minimum=0)
    requested = total * util
    pool = max(int(requested - (weights + activation + non_torch)), 0)
    kv_name = kv_precision(kv_cache_dtype).name
    if accounting == "v0":
        block = v0_block_bytes(
            spec,
            kv_cache_dtype=kv_cache_dtype,
            tensor_parallel=t,
            block_size=block_size,
        )
        bs = c["block_size"] if block_size is None else block_size
        blocks = pool // block
        tokens = blocks * bs
        conc = tokens / length
        largest = min(blocks * bs, spec.max_position_embeddings or blocks * bs)
        groups: tuple = (("full", len(spec.layers), bs),)
        page = block
    else:
        layout = kv_layout(
            spec,
            kv_cache_dtype=kv_cache_dtype,
            tensor_parallel=t,
            block_size=block_size,
            hybrid_kv_manager=hybrid_kv_manager,
            mamba_ssm_dtype=mamba_ssm_dtype,
        )
        blocks = layout.num_blocks(pool)
        tokens = layout.tokens(blocks)
        conc = layout.concurrency(blocks, length, batched)
        upper = spec.max_position_embeddings or max(length, tokens)
        largest = layout.max_model_len(pool, upper, batched)
        groups = tuple((s.kind, n, s.block_size) for s, n in layout.groups)
        bs, page = layout.block_size, layout.page_bytes
    return VllmPrediction(
        version=c["version"],
        accounting=accounting,
        model=spec.name or spec.model_type,
        gpu=card.name,
        tensor_parallel=t,
        gpu_memory_utilization=util,
        max_model_len=length,
        max_num_batched_tokens=batched,
        max_num_seqs=seqs,
        kv_cache_dtype=kv_name,
        total_bytes=total,
        requested_bytes=int(requested),
        weights_bytes_per_gpu=weights,
        activation_bytes=activation,
        non_torch_bytes=non_torch,
        cuda_graph_bytes=0,
        kv_pool_bytes=pool,
        page_bytes=page,
        block_size=bs,
        num_blocks=blocks,
        kv_cache_tokens=tokens,
        max_concurrency=conc,
        largest_max_model_len=largest,
        groups=groups,
    )


def concurrency_at(
    prediction: VllmPrediction,
    model: "ModelSpec | str",
    length: int,
    *,
    kv_cache_dtype: "str | None" = None,
    hybrid_kv_manager: bool = True,
    mamba_ssm_dtype: "str | None" = None,
) -> float:
    """How many requests of ``length`` tokens the predicted pool holds at once."""
    n = _check.integer("length", length, minimum=1)
    if prediction.accounting == "v0":
        return prediction.num_blocks * prediction.block_size / n
    layout = kv_layout(
        model,
        kv_cache_dtype=kv_cache_dtype,
        tensor_parallel=prediction.tensor_parallel,
        hybrid_kv_manager=hybrid_kv_manager,
        mamba_ssm_dtype=mamba_ssm_dtype,
    )
    return layout.concurrency(
        prediction.num_blocks, n, prediction.max_num_batched_tokens
    )


__all__ = [
    "ACCOUNTINGS",
    "KVLayout",
    "PageSpec",
    "VllmPrediction",
    "activation_peak_bytes",
    "active_mlp_width",
    "concurrency_at",
    "kv_layout",
    "predict",
    "rotary_cache_bytes",
    "torch_total_bytes",
    "v0_block_bytes",
    "weights_bytes_per_gpu",
]
