r"""A model is a stack of layers: one small unit per kind of token mixer and feed-forward block.

Each layer (:class:`Layer`) is a **token mixer** followed by a **feed-forward block**, with its own
hidden-sized norms. Every kind of mixer knows two things about itself, in the book's symbols:

* its parameters, by group (:meth:`params`: ``attention`` for its projection matrices, ``norm`` for
  its norms and other small per-channel vectors, ``bias`` for biases of its linear layers);
* what it keeps for each sequence while generating (:meth:`cache_bytes`), split into parts that grow
  with the context (keys, values, latents, indexer keys: bytes per token, capped by a window or a
  chunk) and parts that do not (convolution and recurrent states: bytes per sequence).

The mixer kinds:

======================  =========================================================================
:class:`Attention`      multi-head / grouped-query / multi-query attention over the full context, a
                        sliding window or a chunk; optional attention sinks; optional reuse of an
                        earlier layer's keys and values (no cache of its own)
:class:`LatentAttention`  multi-head latent attention (DeepSeek-V3): a compressed latent is cached
======================  =========================================================================

The feed-forward kinds: :class:`DenseMLP` (gated or plain), :class:`MoE` (routed and shared experts),
:class:`NoFFN`.

Every mixer and feed-forward block also lists its linear layers by transformers' module names
(:meth:`linears`), which is what LoRA targets by name.

Chapter {ref}`kv-cache` derives the attention cache; the chapter on what each layer keeps derives
the others.
"""
from .base import Linear, Mixer, FeedForward
from .attention import Attention, LatentAttention
from .ffn import DenseMLP, MoE, NoFFN
from .layer import Layer

__all__ = ["Attention", "DenseMLP", "FeedForward", "LatentAttention", "Layer", "Linear", "Mixer",
           "MoE", "NoFFN"]
