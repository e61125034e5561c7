"""Readers for the model families of 2025–2026, one module per group of families.

Each module defines ``DEFAULTS`` (class defaults of transformers' configuration classes, by
model_type), ``READERS`` (model_type -> reader), and optionally ``RENAMED`` and ``WRAPPERS``, in
the form of :mod:`vramlib._arch`, whose helpers they use. A reader returns the flat
:class:`~vramlib.models.ModelSpec` fields plus ``layers``, the stack of
:mod:`vramlib.layers` units.
"""

from . import attention, hybrid, latent, linear, moe

FAMILIES = (linear, hybrid, attention, moe, latent)
