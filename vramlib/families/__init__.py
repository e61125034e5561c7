"""Readers for the model families of 2025–2026, one module per group of families.

Each module defines ``DEFAULTS`` (class defaults of transformers' configuration classes, by
model_type), ``READERS`` (model_type -> reader), and optionally ``RENAMED`` and ``WRAPPERS``, in
the form of :mod:`vramlib._arch`, whose helpers they use. A reader returns the flat
:class:`~vramlib.models.ModelSpec` fields plus ``layers``, the stack of
:mod:`vramlib.layers` units.

A module is imported when a config of one of its types is read (:data:`INDEX` says which
module holds which types; a test holds it to the modules' own ``READERS``), so that
sizing a Llama does not load the readers and layer kinds of every other family.
"""

#: module name -> the model types its ``READERS`` read, in the modules' order
INDEX: dict[str, tuple[str, ...]] = {
    "linear": ("qwen3_next", "qwen3_5_text", "qwen3_5_moe_text", "kimi_linear", "lfm2"),
    "hybrid": ("mamba2", "nemotron_h", "granitemoehybrid", "falcon_h1", "jamba"),
    "attention": ("gpt_oss", "llama4_text", "gemma4_text", "cohere2", "exaone4"),
    "moe": (
        "olmo3",
        "smollm3",
        "seed_oss",
        "ministral3",
        "apertus",
        "glm4_moe",
        "minimax_m2",
        "ernie4_5_moe",
        "hunyuan_v1_moe",
    ),
    "latent": ("deepseek_v32", "glm_moe_dsa", "deepseek_v4"),
}

#: model type -> the module that reads it
MODULE_OF = {t: module for module, types in INDEX.items() for t in types}
