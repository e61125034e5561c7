"""Checkpoints as they are published: quantization configs, safetensors and GGUF
headers, the Hugging Face Hub by id.

Nothing here runs at ``import vramlib``: the CLI and :func:`vramlib.get_model` import
these modules only when a model argument is a file, a folder or a Hub id, or when a spec
carries a ``quantization_config``.
"""

from .quant import METHODS, ModuleBytes, Stored, WeightsBreakdown, published_weights

__all__ = ["METHODS", "ModuleBytes", "Stored", "WeightsBreakdown", "published_weights"]
