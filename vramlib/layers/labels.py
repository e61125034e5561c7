"""Names a reader understands for each kind of layer (the book's words, not transformers')."""
from __future__ import annotations

_LABELS = {
    "LatentAttention": "latent attention",
    "CompressedAttention": "compressed attention",
    "Mamba2": "Mamba-2",
    "Mamba1": "Mamba",
    "ParallelHybrid": "attention + Mamba-2",
    "GatedDeltaNet": "gated DeltaNet",
    "KimiDeltaAttention": "Kimi delta attention",
    "ShortConv": "short convolution",
}


def mixer_label(mixer: object) -> str:
    """A short name for a token mixer: ``"full attention"``, ``"sliding attention (128)"``,
    ``"shared-KV attention"``, ``"latent attention + indexer"``, ``"Mamba-2"``…

    transformers calls Mamba and DeltaNet layers alike ``linear_attention``; the label keeps
    them apart, since what they keep differs.
    """
    name = type(mixer).__name__
    if name == "Attention":
        if getattr(mixer, "shares_kv", False):
            return "shared-KV attention"
        span = mixer.span if mixer.window is None else f"{mixer.span} ({mixer.window:,})"
        return f"{span} attention"
    if name == "LatentAttention" and getattr(mixer, "index_head_dim", None):
        return "latent attention + indexer"
    if name == "NoMixer":
        return "no mixer"
    return _LABELS.get(name, name)
