r"""DeepSeek-V4's attention: a window over recent tokens plus compressed entries.

Every DeepSeek-V4 layer is multi-query attention with one shared key/value head of
:math:`d` (``head_dim``) elements, used as both key and value (K = V), over the last
:math:`W` (``sliding_window``) tokens. Two kinds of layer add *compressed entries*: a
learned, gated pooling of every :math:`m` tokens into one entry of :math:`d` elements,
concatenated onto the window's keys.

* ``"heavily_compressed_attention"`` (HCA): one entry per :math:`m'` tokens (128 in the
  published models), all attended to.
* ``"compressed_sparse_attention"`` (CSA): one entry per :math:`m` tokens (4), pooled
  over two overlapping windows, of which a lightning indexer (:math:`n_I` heads of
  :math:`c` elements, with its own compressed keys of :math:`c` elements per entry)
  picks ``index_topk``.
* ``"sliding_attention"``: the window only.

Per sequence of :math:`T` tokens a layer keeps (:class:`CompressedAttention`, part names
in brackets): the window's keys, :math:`\min(T, W)\,d` elements (``keys``); the
compressed entries, :math:`\lfloor T/m \rfloor d` (``compressed_keys``); for CSA the
indexer's compressed keys, :math:`\lfloor T/m \rfloor c` (``indexer_keys``); and the
compressor's working state (``compressor_state``): the :math:`r = T \bmod m` tokens
waiting for their window to close, kept as projected values and gate logits, and, for
CSA, the last closed window's half kept for the overlap. So the long-context growth is
:math:`(d + c)/m` elements per token for a CSA layer and :math:`d/m'` for an HCA layer,
against :math:`r_{kv} + d_{rope}` for MLA.

Symbols as in the DeepSeek-V4 paper and transformers 5.24's ``modeling_deepseek_v4.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import _check
from ..precisions import Precision, get_precision
from .base import Linear

KINDS = (
    "sliding_attention",
    "compressed_sparse_attention",
    "heavily_compressed_attention",
)


@dataclass(frozen=True)
class CompressedAttention:
    r"""One DeepSeek-V4 attention layer on hidden size :math:`H`: :math:`n_h` query
    heads of :math:`d` elements, one shared K = V head, a window of :math:`W` tokens,
    and (``kind``) no compression, heavy compression or sparse compression at rate
    :math:`m` (``compress_rate``).

    Parameters (``attention``): q_a :math:`H r_q`, q_b :math:`r_q n_h d`, kv :math:`H
    d`, the grouped output projection o_a (:math:`g` groups, each :math:`n_h d / g \to
    r_o`: :math:`n_h d\, r_o` weights) and o_b :math:`g r_o H`; the compressor's kv and
    gate projections, :math:`2 H d` (HCA) or :math:`2 \cdot 2Hd` (CSA, two overlapping
    series); and CSA's indexer: kv and gate :math:`2 \cdot 2Hc`, q_b :math:`r_q n_I c`,
    weights :math:`H n_I`. Small vectors (``norm``): the q-latent and kv norms
    :math:`r_q + d`, one attention sink per head :math:`n_h`, the compressor's position
    bias :math:`m d_c` (:math:`d_c = d`, or :math:`2d` for CSA) and norm :math:`d`, the
    indexer's position bias :math:`2mc` and norm :math:`c`.

    Cache per sequence of :math:`T` tokens, with :math:`q = \lfloor T/m \rfloor`,
    :math:`r = T \bmod m` and :math:`b` bytes per element:

    * ``keys``: :math:`\min(T, W)\, d\, b` (K = V: one tensor);
    * ``compressed_keys``: :math:`q\, d\, b`; ``indexer_keys`` (CSA): :math:`q\, c\, b`;
    * ``compressor_state``, in the ``state`` precision: the waiting tokens' values and
      gate logits, :math:`2 r d_c` elements (CSA adds :math:`2 r \cdot 2c` for its
      indexer), and for CSA once :math:`T \ge m` the overlap: :math:`m d` values and
      :math:`m c` indexer values, plus their :math:`m (d + c)` gate logits, which
      transformers keeps in fp32 whatever the model's dtype (they are offset by the fp32
      position bias).

    What transformers 5.24 keeps differs in two named ways, both checked in the tests:
    its window caches hold :math:`\min(T, W - 1)` tokens between steps (as every
    ``DynamicSlidingWindowLayer``: the library counts the window the next token reads),
    and a plain ``"sliding_attention"`` layer goes through the generic sliding cache,
    which stores the shared K = V tensor twice (as keys and as values); the compressed
    layers' caches store it once. What a serving engine keeps for DeepSeek-V4 is not
    checked here.
    """

    hidden: int
    heads: int
    head_dim: int
    q_lora_rank: int
    o_groups: int
    o_lora_rank: int
    window: int
    kind: str = "sliding_attention"
    compress_rate: int = 0
    index_n_heads: int = 0
    index_head_dim: int = 0
    index_topk: int = 0

    def __post_init__(self) -> None:
        for field in (
            "hidden",
            "heads",
            "head_dim",
            "q_lora_rank",
            "o_groups",
            "o_lora_rank",
            "window",
        ):
            _check.integer(field, getattr(self, field), minimum=1)
        if self.kind not in KINDS:
            raise _check.unknown(
                "kind", self.kind, KINDS, what="DeepSeek-V4 layer kind"
            )
        if (self.heads * self.head_dim) % self.o_groups:
            raise ValueError(
                f"o_groups ({self.o_groups}) must divide heads x head_dim "
                f"({self.heads} x {self.head_dim})"
            )
        compressed = self.kind != "sliding_attention"
        sparse = self.kind == "compressed_sparse_attention"
        _check.integer(
            "compress_rate", self.compress_rate, minimum=1 if compressed else 0
        )
        for field in ("index_n_heads", "index_head_dim", "index_topk"):
            _check.integer(field, getattr(self, field), minimum=1 if sparse else 0)
        if not compressed and self.compress_rate:
            raise ValueError(
                "a sliding_attention layer has no compressor: compress_rate must be 0"
            )
        if not sparse and (
            self.index_n_heads or self.index_head_dim or self.index_topk
        ):
            raise ValueError(
                f"only a compressed_sparse_attention layer has an indexer, not "
                f"{self.kind}"
            )

    @property
    def layer_type(self) -> str:
        return self.kind

    @property
    def _sparse(self) -> bool:
        return self.kind == "compressed_sparse_attention"

    @property
    def _compressor_width(self) -> int:
        """Width of the compressor's projections: one series, or two (CSA)."""
        return (2 if self._sparse else 1) * self.head_dim

    def params(self) -> dict[str, int]:
        d, c, m = self.head_dim, self.index_head_dim, self.compress_rate
        norm = self.q_lora_rank + d + self.heads
        if self.kind != "sliding_attention":
            norm += m * self._compressor_width + d
        if self._sparse:
            norm += m * 2 * c + c
        return {"attention": sum(lin.params for lin in self.linears()), "norm": norm}

    def cache_bytes(
        self,
        tokens: int,
        kv: Precision,
        state: Precision,
        *,
        mla_expanded: bool = False,
    ) -> dict[str, int]:
        t, d, c = tokens, self.head_dim, self.index_head_dim
        parts = {"keys": min(t, self.window) * kv.bytes_for(d)}
        if self.kind == "sliding_attention":
            return parts
        m = self.compress_rate
        entries, waiting = divmod(t, m)
        parts["compressed_keys"] = entries * kv.bytes_for(d)
        held = 2 * waiting * state.bytes_for(self._compressor_width)
        if self._sparse:
            parts["indexer_keys"] = entries * kv.bytes_for(c)
            held += 2 * waiting * state.bytes_for(2 * c)
            if entries:
                fp32 = get_precision("fp32")
                held += m * (state.bytes_for(d) + state.bytes_for(c))
                held += m * (fp32.bytes_for(d) + fp32.bytes_for(c))
        parts["compressor_state"] = held
        return parts

    def bytes_per_token(self, kv: Precision, *, mla_expanded: bool = False) -> int:
        """The window's row, :math:`d\\,b`: what one more token adds while the window
        fills. Compressed entries come once every :math:`m` tokens (use the cache for
        long contexts)."""
        return kv.bytes_for(self.head_dim)

    def linears(self) -> tuple[Linear, ...]:
        h, n, d, r = self.hidden, self.heads, self.head_dim, self.q_lora_rank
        g, ro = self.o_groups, self.o_lora_rank
        out = [
            Linear("q_a_proj", h, r),
            Linear("q_b_proj", r, n * d),
            Linear("kv_proj", h, d),
            Linear("o_a_proj", n * d // g, g * ro),
            Linear("o_b_proj", g * ro, h),
        ]
        if self.kind != "sliding_attention":
            w = self._compressor_width
            out += [
                Linear("kv_proj", h, w, parent="compressor"),
                Linear("gate_proj", h, w, parent="compressor"),
            ]
        if self._sparse:
            c, ni = self.index_head_dim, self.index_n_heads
            out += [
                Linear("kv_proj", h, 2 * c, parent="compressor.indexer"),
                Linear("gate_proj", h, 2 * c, parent="compressor.indexer"),
                Linear("q_b_proj", r, ni * c, parent="compressor.indexer"),
                Linear("weights_proj", h, ni, parent="compressor.indexer.scorer"),
            ]
        return tuple(out)
