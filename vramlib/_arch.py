"""Reading a Hugging Face ``config.json`` into the fields of a :class:`~vramlib.models.ModelSpec`.

One reader per ``model_type``. Each mirrors the configuration class of that type in transformers
5.17 (``transformers/models/<type>/configuration_<type>.py``) and the modelling code that builds the
layers (``modeling_<type>.py``): a key absent from the file takes the class default, ``null`` takes
what the class's ``__post_init__`` does with ``None``, and renamed keys (the classes'
``attribute_map``) are accepted under either name. Nothing is executed and nothing is imported from
transformers; the defaults below were read from its source and are checked against it by
``tests/validate``.

Three keys are required although transformers has defaults for them: ``hidden_size``,
``num_hidden_layers`` and ``num_attention_heads``. A file without them describes no real model, and
silently sizing the class's default model would mislead.
"""
from __future__ import annotations

from typing import Any, Callable

from . import _check

_MISSING = object()

# Class defaults in transformers 5.17, for the keys that shape the parameters or the KV cache.
_DEFAULTS: dict[str, dict[str, Any]] = {
    "llama": dict(vocab_size=32000, intermediate_size=11008, num_key_value_heads=None, head_dim=None,
                  tie_word_embeddings=False, attention_bias=False, mlp_bias=False),
    "mistral": dict(vocab_size=32000, intermediate_size=14336, num_key_value_heads=8, head_dim=None,
                    tie_word_embeddings=False, sliding_window=4096),
    "mixtral": dict(vocab_size=32000, intermediate_size=14336, num_key_value_heads=8, head_dim=None,
                    tie_word_embeddings=False, sliding_window=None, num_local_experts=8,
                    num_experts_per_tok=2),
    "qwen2": dict(vocab_size=151936, intermediate_size=22016, num_key_value_heads=32,
                  tie_word_embeddings=False, use_sliding_window=False, sliding_window=4096,
                  max_window_layers=28, layer_types=None),
    "qwen2_moe": dict(vocab_size=151936, intermediate_size=5632, num_key_value_heads=16,
                      tie_word_embeddings=False, use_sliding_window=False, sliding_window=4096,
                      max_window_layers=28, layer_types=None, decoder_sparse_step=1,
                      moe_intermediate_size=1408, shared_expert_intermediate_size=5632,
                      num_experts_per_tok=4, num_experts=60, mlp_only_layers=None, qkv_bias=True),
    "qwen3": dict(vocab_size=151936, intermediate_size=22016, num_key_value_heads=32, head_dim=128,
                  tie_word_embeddings=False, attention_bias=False, use_sliding_window=False,
                  sliding_window=4096, max_window_layers=28, layer_types=None),
    "qwen3_moe": dict(vocab_size=151936, intermediate_size=6144, num_key_value_heads=4,
                      tie_word_embeddings=False, attention_bias=False, use_sliding_window=False,
                      sliding_window=4096, decoder_sparse_step=1, moe_intermediate_size=768,
                      num_experts_per_tok=8, num_experts=128, mlp_only_layers=None),
    "gemma": dict(vocab_size=256000, intermediate_size=24576, num_key_value_heads=16, head_dim=256,
                  tie_word_embeddings=True, attention_bias=False),
    "gemma2": dict(vocab_size=256000, intermediate_size=9216, num_key_value_heads=4, head_dim=256,
                   tie_word_embeddings=True, attention_bias=False, sliding_window=4096,
                   layer_types=None),
    "gemma3_text": dict(vocab_size=262208, intermediate_size=9216, num_key_value_heads=4, head_dim=256,
                        tie_word_embeddings=True, attention_bias=False, sliding_window=4096,
                        layer_types=None, sliding_window_pattern=6, use_bidirectional_attention=False),
    "phi3": dict(vocab_size=32064, intermediate_size=8192, num_key_value_heads=None,
                 tie_word_embeddings=False, sliding_window=None),
    "olmo2": dict(vocab_size=50304, intermediate_size=11008, num_key_value_heads=None,
                  tie_word_embeddings=False, attention_bias=False),
    "granite": dict(vocab_size=32000, intermediate_size=11008, num_key_value_heads=None,
                    tie_word_embeddings=False, attention_bias=False, mlp_bias=False),
    "cohere": dict(vocab_size=256000, intermediate_size=22528, num_key_value_heads=None,
                   tie_word_embeddings=True, attention_bias=False, use_qk_norm=False),
    "starcoder2": dict(vocab_size=49152, intermediate_size=12288, num_key_value_heads=2,
                       tie_word_embeddings=True, use_bias=True, sliding_window=None),
    "gpt_neox": dict(vocab_size=50432, intermediate_size=24576, tie_word_embeddings=False,
                     attention_bias=True),
    "falcon": dict(vocab_size=65024, num_kv_heads=None, new_decoder_architecture=False, multi_query=True,
                   parallel_attn=True, bias=False, ffn_hidden_size=None, num_ln_in_parallel_attn=None,
                   tie_word_embeddings=True),
    "deepseek_v3": dict(vocab_size=129280, intermediate_size=18432, moe_intermediate_size=2048,
                        num_key_value_heads=128, n_shared_experts=1, n_routed_experts=256,
                        kv_lora_rank=512, q_lora_rank=1536, qk_rope_head_dim=64, v_head_dim=128,
                        qk_nope_head_dim=128, num_experts_per_tok=8, first_k_dense_replace=3,
                        tie_word_embeddings=False, attention_bias=False, num_nextn_predict_layers=1),
}

# attribute_map of the configuration classes: other name in a file -> the name read here.
_RENAMED: dict[str, dict[str, str]] = {
    "mixtral": {"num_experts": "num_local_experts"},
    "qwen3_moe": {"num_local_experts": "num_experts"},
    "deepseek_v3": {"num_local_experts": "n_routed_experts", "num_mtp_layers": "num_nextn_predict_layers"},
    "falcon": {"n_embed": "hidden_size"},  # FalconConfig.__post_init__ lets n_embed override hidden_size
}

# Multimodal wrappers whose language model is sized: wrapper type -> (key, text model type).
WRAPPERS: dict[str, tuple[str, str]] = {"gemma3": ("text_config", "gemma3_text")}

SUPPORTED: tuple[str, ...] = tuple(_DEFAULTS)
_REQUIRED = ("hidden_size", "num_hidden_layers", "num_attention_heads")
#: a bound on layers, so that a mistyped config cannot make per-layer tuples exhaust memory
MAX_LAYERS = 100_000
_LAYER_TYPES = ("full_attention", "sliding_attention")


class _Reader:
    """Typed access to one config dict: the file's value, else the class default, else an error."""

    def __init__(self, cfg: dict, model_type: str):
        self.model_type = model_type
        self.cfg = dict(cfg)
        for other, name in _RENAMED.get(model_type, {}).items():
            if other in self.cfg:
                if name in self.cfg and self.cfg[name] != self.cfg[other] and other != "n_embed":
                    raise ValueError(f"config keys {other!r} and {name!r} name the same setting of a "
                                     f"{model_type} model but disagree ({self.cfg[other]!r} vs "
                                     f"{self.cfg[name]!r})")
                self.cfg[name] = self.cfg.pop(other)
        self.defaults = _DEFAULTS[model_type]

    def has(self, key: str) -> bool:
        return self.cfg.get(key) is not None

    def raw(self, key: str) -> Any:
        if key in self.cfg:
            return self.cfg[key]
        if key in self.defaults:
            return self.defaults[key]
        if key in _REQUIRED:
            raise ValueError(f"config key {key!r} is required for a {self.model_type} model and is missing")
        return _MISSING

    def int(self, key: str, *, minimum: int = 1, null: Any = _MISSING) -> Any:
        """An integer key; ``null`` is what ``None`` (or absence with a ``None`` default) becomes."""
        value = self.raw(key)
        if value is None or value is _MISSING:
            if null is _MISSING:
                raise ValueError(f"config key {key!r} must be an integer >= {minimum}, got null")
            return null
        result = _check.integer(f"config key {key!r}", value, minimum=minimum)
        if key == "num_hidden_layers" and result > MAX_LAYERS:
            raise ValueError(f"config key 'num_hidden_layers' must be at most {MAX_LAYERS:,} "
                             f"(no real model comes near), got {result:,}")
        return result

    def flag(self, key: str) -> bool:
        """A boolean key; ``null`` counts as false, as the modelling code's ``if config.x`` does."""
        value = self.raw(key)
        if value is None or value is _MISSING:
            return False
        if not isinstance(value, bool):
            raise TypeError(f"config key {key!r} must be true or false, got "
                            f"{type(value).__name__} {value!r}")
        return value

    def int_list(self, key: str) -> list[int]:
        value = self.raw(key)
        if value is None or value is _MISSING:
            return []
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"config key {key!r} must be a list of layer indices, got "
                            f"{type(value).__name__} {value!r}")
        return [_check.integer(f"config key {key!r} item", v, minimum=0) for v in value]


def _heads(r: _Reader, n_heads: int) -> int:
    kv = r.int("num_key_value_heads", null=n_heads)
    if n_heads % kv:
        raise ValueError(f"config key 'num_attention_heads' ({n_heads}) must be a multiple of "
                         f"'num_key_value_heads' ({kv})")
    return kv


def _split_head_dim(r: _Reader, hidden: int, n_heads: int) -> int:
    if hidden % n_heads:
        raise ValueError(f"config key 'hidden_size' ({hidden}) is not divisible by "
                         f"'num_attention_heads' ({n_heads}), and no 'head_dim' is given")
    return hidden // n_heads


def _head_dim(r: _Reader, hidden: int, n_heads: int) -> int:
    """``head_dim`` from the file, else the class default, else hidden_size / num_attention_heads."""
    if r.has("head_dim") or r.defaults.get("head_dim") is not None:
        return r.int("head_dim")
    return _split_head_dim(r, hidden, n_heads)


def _layer_types(r: _Reader, n_layers: int, window: int | None,
                 default: Callable[[int], bool]) -> tuple[str, ...]:
    """Per-layer attention kind: the file's ``layer_types``, else ``default(i)`` (True = sliding).

    A layer marked sliding while no window is set attends to everything, so it counts as full.
    """
    given = r.raw("layer_types")
    if given is None or given is _MISSING:
        kinds = ["sliding_attention" if default(i) else "full_attention" for i in range(n_layers)]
    else:
        if not isinstance(given, (list, tuple)) or len(given) != n_layers:
            raise ValueError(f"config key 'layer_types' must be a list of {n_layers} entries (one per "
                             f"layer, num_hidden_layers = {n_layers}), got {given!r}")
        for kind in given:
            if kind not in _LAYER_TYPES:
                raise _check.unknown("config key 'layer_types'", kind, _LAYER_TYPES, what="layer type")
        kinds = list(given)
    if window is None:
        kinds = ["full_attention"] * n_layers
    return tuple(kinds)


def _common(r: _Reader) -> dict:
    hidden = r.int("hidden_size")
    n_heads = r.int("num_attention_heads")
    return dict(vocab_size=r.int("vocab_size"), hidden_size=hidden,
                num_hidden_layers=r.int("num_hidden_layers"), num_attention_heads=n_heads,
                tie_word_embeddings=r.flag("tie_word_embeddings"))


def _window(r: _Reader, enabled: bool = True) -> int | None:
    return r.int("sliding_window", null=None) if enabled else None


def _dense(r: _Reader, *, qkv_bias: bool = False, o_bias: bool = False, mlp_bias: bool = False,
           qk_norm: str = "none", norms: int = 2, window: int | None = None,
           sliding: Callable[[int], bool] | None = None, head_dim: int | None = None) -> dict:
    """The decoder layout shared by the llama-like types: q, k, v, o and a gated (SwiGLU/GeGLU) MLP."""
    spec = _common(r)
    n_layers, hidden, n_heads = spec["num_hidden_layers"], spec["hidden_size"], spec["num_attention_heads"]
    spec.update(num_key_value_heads=_heads(r, n_heads),
                head_dim=head_dim if head_dim is not None else _head_dim(r, hidden, n_heads),
                intermediate_size=r.int("intermediate_size"),
                qkv_bias=qkv_bias, o_bias=o_bias, mlp_bias=mlp_bias, qk_norm=qk_norm,
                norms_per_layer=norms)
    if sliding is None:
        kinds = tuple("sliding_attention" if window is not None else "full_attention" for _ in range(n_layers))
    else:
        kinds = _layer_types(r, n_layers, window, sliding)
    spec.update(sliding_window=window if "sliding_attention" in kinds else None, layer_types=kinds)
    return spec


def _moe_layers(r: _Reader, n_layers: int, n_experts: int) -> tuple[str, ...]:
    """Qwen's rule: layer i is MoE unless listed in mlp_only_layers, if (i + 1) % decoder_sparse_step == 0."""
    dense_only = set(r.int_list("mlp_only_layers"))
    step = r.int("decoder_sparse_step")
    return tuple("moe" if i not in dense_only and n_experts > 0 and (i + 1) % step == 0 else "dense"
                 for i in range(n_layers))


def _moe(r: _Reader, spec: dict, *, experts_key: str, intermediate_key: str,
         layers: tuple[str, ...] | None = None, minimum_experts: int = 1) -> dict:
    n_experts = r.int(experts_key, minimum=minimum_experts)
    top_k = r.int("num_experts_per_tok")
    if n_experts and top_k > n_experts:
        raise ValueError(f"config key 'num_experts_per_tok' ({top_k}) exceeds the number of experts "
                         f"'{experts_key}' ({n_experts})")
    n_layers = spec["num_hidden_layers"]
    spec.update(num_experts=n_experts, experts_per_token=top_k,
                moe_intermediate_size=r.int(intermediate_key),
                mlp_layer_types=layers if layers is not None else ("moe",) * n_layers)
    return spec


def _llama(r):
    bias = r.flag("attention_bias")
    return _dense(r, qkv_bias=bias, o_bias=bias, mlp_bias=r.flag("mlp_bias"))


def _mistral(r):
    return _dense(r, window=_window(r))


def _mixtral(r):
    spec = _dense(r, window=_window(r))
    return _moe(r, spec, experts_key="num_local_experts", intermediate_key="intermediate_size")


def _qwen_window(r):
    return _window(r, r.flag("use_sliding_window"))


def _qwen2(r):
    window = _qwen_window(r)
    limit = r.int("max_window_layers", minimum=0)
    return _dense(r, qkv_bias=True, window=window, sliding=lambda i: i >= limit)


def _qwen2_moe(r):
    window = _qwen_window(r)
    limit = r.int("max_window_layers", minimum=0)
    spec = _dense(r, qkv_bias=r.flag("qkv_bias"), window=window or None,
                  sliding=lambda i: (i + 1) % 2 == 1 and i < limit)
    n_experts = r.int("num_experts", minimum=0)
    spec = _moe(r, spec, experts_key="num_experts", intermediate_key="moe_intermediate_size",
                layers=_moe_layers(r, spec["num_hidden_layers"], n_experts), minimum_experts=0)
    spec.update(shared_expert_intermediate_size=r.int("shared_expert_intermediate_size", minimum=0),
                shared_expert_gate=True)
    return spec


def _qwen3(r):
    window = _qwen_window(r)
    limit = r.int("max_window_layers", minimum=0)
    bias = r.flag("attention_bias")
    return _dense(r, qkv_bias=bias, o_bias=bias, qk_norm="head", window=window,
                  sliding=lambda i: i >= limit)


def _qwen3_moe(r):
    bias = r.flag("attention_bias")
    spec = _dense(r, qkv_bias=bias, o_bias=bias, qk_norm="head", window=_qwen_window(r))
    n_experts = r.int("num_experts", minimum=0)
    return _moe(r, spec, experts_key="num_experts", intermediate_key="moe_intermediate_size",
                layers=_moe_layers(r, spec["num_hidden_layers"], n_experts), minimum_experts=0)


def _gemma(r):
    bias = r.flag("attention_bias")
    return _dense(r, qkv_bias=bias, o_bias=bias)


def _gemma2(r):
    bias = r.flag("attention_bias")
    return _dense(r, qkv_bias=bias, o_bias=bias, norms=4, window=_window(r),
                  sliding=lambda i: (i + 1) % 2 == 1)


def _gemma3_text(r):
    bias = r.flag("attention_bias")
    window = _window(r)
    if window is not None and r.flag("use_bidirectional_attention"):
        window = window // 2 + 1  # as Gemma3TextConfig.__post_init__ does
    pattern = r.int("sliding_window_pattern")
    return _dense(r, qkv_bias=bias, o_bias=bias, qk_norm="head", norms=4, window=window,
                  sliding=lambda i: (i + 1) % pattern != 0)


def _phi3(r):
    return _dense(r, window=_window(r))


def _olmo2(r):
    bias = r.flag("attention_bias")
    return _dense(r, qkv_bias=bias, o_bias=bias, qk_norm="full")


def _cohere(r):
    bias = r.flag("attention_bias")
    spec = _dense(r, qkv_bias=bias, o_bias=bias, qk_norm="full" if r.flag("use_qk_norm") else "none",
                  norms=1)
    return spec


def _starcoder2(r):
    bias = r.flag("use_bias")
    spec = _dense(r, qkv_bias=bias, o_bias=bias, mlp_bias=bias, window=_window(r))
    spec.update(mlp_gated=False, norm_bias=True)
    return spec


def _gpt_neox(r):
    spec = _common(r)
    hidden, n_heads = spec["hidden_size"], spec["num_attention_heads"]
    bias = r.flag("attention_bias")
    spec.update(num_key_value_heads=n_heads, head_dim=_split_head_dim(r, hidden, n_heads),
                intermediate_size=r.int("intermediate_size"), qkv_bias=bias, o_bias=bias,
                mlp_bias=True, mlp_gated=False, norm_bias=True,
                layer_types=("full_attention",) * spec["num_hidden_layers"])
    return spec


def _falcon(r):
    spec = _common(r)
    hidden, n_heads = spec["hidden_size"], spec["num_attention_heads"]
    new_arch = r.flag("new_decoder_architecture")
    if new_arch:
        kv = r.int("num_kv_heads", null=n_heads)
        if n_heads % kv:
            raise ValueError(f"config key 'num_attention_heads' ({n_heads}) must be a multiple of "
                             f"'num_kv_heads' ({kv})")
    else:
        kv = 1 if r.flag("multi_query") else n_heads
    if not r.flag("parallel_attn"):
        norms = 2
    else:
        n_ln = r.int("num_ln_in_parallel_attn", null=2 if new_arch else 1)
        norms = 2 if n_ln == 2 else 1
    bias = r.flag("bias")
    spec.update(num_key_value_heads=kv, head_dim=_split_head_dim(r, hidden, n_heads),
                intermediate_size=r.int("ffn_hidden_size", null=4 * hidden),
                qkv_bias=bias, o_bias=bias, mlp_bias=bias, mlp_gated=False, norm_bias=True,
                norms_per_layer=norms, layer_types=("full_attention",) * spec["num_hidden_layers"])
    return spec


def _deepseek_v3(r):
    spec = _common(r)
    n_layers, n_heads = spec["num_hidden_layers"], spec["num_attention_heads"]
    bias = r.flag("attention_bias")
    first_dense = r.int("first_k_dense_replace", minimum=0)
    spec.update(num_key_value_heads=_heads(r, n_heads), head_dim=r.int("qk_rope_head_dim"),
                intermediate_size=r.int("intermediate_size"), qkv_bias=bias, o_bias=bias,
                q_lora_rank=r.int("q_lora_rank", null=None), kv_lora_rank=r.int("kv_lora_rank"),
                qk_nope_head_dim=r.int("qk_nope_head_dim"), qk_rope_head_dim=r.int("qk_rope_head_dim"),
                v_head_dim=r.int("v_head_dim"), layer_types=("full_attention",) * n_layers,
                mtp_layers=r.int("num_nextn_predict_layers", minimum=0, null=0))
    spec = _moe(r, spec, experts_key="n_routed_experts", intermediate_key="moe_intermediate_size",
                layers=tuple("moe" if i >= first_dense else "dense" for i in range(n_layers)))
    spec.update(shared_expert_intermediate_size=spec["moe_intermediate_size"]
                * r.int("n_shared_experts", minimum=0))
    return spec


_READERS: dict[str, Callable[[_Reader], dict]] = {
    "llama": _llama, "mistral": _mistral, "mixtral": _mixtral, "qwen2": _qwen2, "qwen2_moe": _qwen2_moe,
    "qwen3": _qwen3, "qwen3_moe": _qwen3_moe, "gemma": _gemma, "gemma2": _gemma2,
    "gemma3_text": _gemma3_text, "phi3": _phi3, "olmo2": _olmo2, "granite": _llama, "cohere": _cohere,
    "starcoder2": _starcoder2, "gpt_neox": _gpt_neox, "falcon": _falcon, "deepseek_v3": _deepseek_v3,
}


def spec_fields(cfg: dict) -> dict:
    """The ModelSpec fields (without name and source) for one parsed config.json dict."""
    if not isinstance(cfg, dict):
        raise TypeError(f"a config must be a JSON object (dict), got {type(cfg).__name__}")
    if "model_type" not in cfg:
        raise ValueError("config key 'model_type' is required and is missing")
    model_type = cfg["model_type"]
    if model_type in WRAPPERS:
        key, text_type = WRAPPERS[model_type]
        inner = cfg.get(key)
        if not isinstance(inner, dict):
            raise ValueError(f"config key {key!r} is required for a {model_type} model (its language "
                             f"model, model_type {text_type}) and is missing or not an object")
        inner_type = inner.get("model_type", text_type)
        if inner_type != text_type:
            raise ValueError(f"config key '{key}.model_type' must be {text_type!r} inside a {model_type} "
                             f"config, got {inner_type!r}")
        cfg, model_type = inner, text_type
    if not isinstance(model_type, str) or model_type not in _READERS:
        raise _check.unknown("config key 'model_type'", model_type, list(_READERS) + list(WRAPPERS),
                             what="model_type", show=len(_READERS) + len(WRAPPERS))
    fields = _READERS[model_type](_Reader(cfg, model_type))
    fields["model_type"] = model_type
    return fields
