"""Serving engines: what vLLM, SGLang and llama.cpp will actually give you.

A formula says how many bytes a model needs; an engine decides how many it hands out.
One module per engine predicts the figures the engine prints at start-up, from the same
model specs the rest of vramlib uses:

* :mod:`vramlib.engines.vllm`: weights per GPU as loaded, the profiling pass's
  activation peak, the KV pool, its pages, blocks and tokens, and the maximum
  concurrency for a request length (V1 engine; ``accounting="v0"`` for the older V0
  worker).
* :mod:`vramlib.engines.sglang`: the token pool ``mem_fraction_static`` buys.
* :mod:`vramlib.engines.llamacpp`: model buffers per device and host for a ``-ngl`` or
  ``--n-cpu-moe`` placement, the KV buffer, the compute buffer, a decode-speed bound,
  and the highest ``-ngl`` that fits.

Every constant lives in ``vramlib/data/engines.json`` with its source; every model is
held against public engine logs in ``tests/test_engine_logs.py``.
"""

from __future__ import annotations

from . import llamacpp, sglang, vllm

ENGINES = ("vllm", "sglang", "llama.cpp")


def engine_version(engine: str) -> str:
    """The engine version each model follows, as stated in engines.json."""
    from .. import _check
    from ._common import constants

    key = {"vllm": "vllm", "sglang": "sglang", "llama.cpp": "llamacpp"}.get(engine)
    if key is None:
        raise _check.unknown("engine", engine, ENGINES, what="engine")
    return constants()[key]["version"]


__all__ = ["ENGINES", "engine_version", "llamacpp", "sglang", "vllm"]
