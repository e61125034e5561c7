r"""A model is a stack of layers: one small unit per kind of token mixer and feed-forward block.

Each layer (:class:`Layer`) is a **token mixer** followed by a **feed-forward block**, with its own
hidden-sized norms. Every kind of mixer knows two things about itself, in the book's symbols:

* its parameters, by group (:meth:`params`: ``attention`` for its projection matrices, ``norm`` for
  its norms and other small per-channel vectors, ``bias`` for biases of its linear layers);
* what it keeps for each sequence while generating (:meth:`cache_bytes`), split into parts that grow
  with the context (keys, values, latents, indexer keys: bytes per token, capped by a window or a
  chunk) and parts that do not (convolution and recurrent states: bytes per sequence).

The mixer kinds:

* :class:`Attention`: multi-head / grouped-query / multi-query attention over the full context, a
  sliding window or a chunk; optional attention sinks; optional reuse of an earlier layer's keys
  and values (no cache of its own).
* :class:`LatentAttention`: multi-head latent attention (DeepSeek-V3), which caches a compressed
  latent, with the sparse-attention indexer's keys beside it (DeepSeek-V3.2, GLM-5).
* :class:`CompressedAttention`: DeepSeek-V4's sliding window plus compressed entries.
* :class:`Mamba2` (and :class:`Mamba1`, Jamba's): a state-space layer with a convolution state and
  a recurrent state per sequence, the same at any context length.
* :class:`GatedDeltaNet` (Qwen3-Next, Qwen3.5) and :class:`KimiDeltaAttention` (Kimi Linear):
  linear attention, a recurrent matrix per head and a convolution state per sequence.
* :class:`ShortConv`: LFM2's short convolution, a few columns of state per sequence.
* :class:`ParallelHybrid`: Falcon-H1's attention and Mamba-2 block side by side in one layer.
* :class:`NoMixer`: no token mixer (Nemotron-H's MLP-only and expert-only layers).

The feed-forward kinds: :class:`DenseMLP` (gated or plain), :class:`MoE` (routed and shared experts),
:class:`NoFFN`, and :class:`Gemma4FeedForward` (Gemma 4's dense MLP with experts beside it).

Every mixer and feed-forward block also lists its linear layers by transformers' module names
(:meth:`linears`), which is what LoRA targets by name.

The chapter :ref:`ch-kv-cache` derives the attention cache.
"""

from .base import Linear, Mixer, FeedForward
from .attention import Attention, LatentAttention
from .ffn import DenseMLP, MoE, NoFFN
from .labels import mixer_label
from .layer import Layer

# The kinds only some families use are imported on first use (PEP 562).
_LAZY = {
    "ShortConv": "conv",
    "Gemma4FeedForward": "gemma4",
    "CompressedAttention": "latent",
    "GatedDeltaNet": "linear",
    "KimiDeltaAttention": "linear",
    "Mamba1": "ssm",
    "Mamba2": "ssm",
    "NoMixer": "ssm",
    "ParallelHybrid": "ssm",
}


from .._lazy import lazy_names  # noqa: E402

__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())


__all__ = [
    "Attention",
    "CompressedAttention",
    "DenseMLP",
    "FeedForward",
    "GatedDeltaNet",
    "Gemma4FeedForward",
    "KimiDeltaAttention",
    "LatentAttention",
    "ShortConv",
    "Layer",
    "Linear",
    "Mamba1",
    "Mamba2",
    "Mixer",
    "MoE",
    "NoFFN",
    "NoMixer",
    "ParallelHybrid",
    "mixer_label",
]
