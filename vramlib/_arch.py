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

from . import _check, _data
from .layers.stack import Q_K_V_O

_MISSING = object()

# Class defaults in transformers 5.24 (unchanged since 5.17 for these types), for the keys that shape the parameters or the KV cache.
_DEFAULTS: dict[str, dict[str, Any]] = {
    "llama": dict(
        vocab_size=32000,
        intermediate_size=11008,
        num_key_value_heads=None,
        head_dim=None,
        tie_word_embeddings=False,
        attention_bias=False,
        mlp_bias=False,
    ),
    "mistral": dict(
        vocab_size=32000,
        intermediate_size=14336,
        num_key_value_heads=8,
        head_dim=None,
        tie_word_embeddings=False,
        sliding_window=4096,
    ),
    "mixtral": dict(
        vocab_size=32000,
        intermediate_size=14336,
        num_key_value_heads=8,
        head_dim=None,
        tie_word_embeddings=False,
        sliding_window=None,
        num_local_experts=8,
        num_experts_per_tok=2,
    ),
    "qwen2": dict(
        vocab_size=151936,
        intermediate_size=22016,
        num_key_value_heads=32,
        tie_word_embeddings=False,
        use_sliding_window=False,
        sliding_window=4096,
        max_window_layers=28,
        layer_types=None,
    ),
    "qwen2_moe": dict(
        vocab_size=151936,
        intermediate_size=5632,
        num_key_value_heads=16,
        tie_word_embeddings=False,
        use_sliding_window=False,
        sliding_window=4096,
        max_window_layers=28,
        layer_types=None,
        decoder_sparse_step=1,
        moe_intermediate_size=1408,
        shared_expert_intermediate_size=5632,
        num_experts_per_tok=4,
        num_experts=60,
        mlp_only_layers=None,
        qkv_bias=True,
    ),
    "qwen3": dict(
        vocab_size=151936,
        intermediate_size=22016,
        num_key_value_heads=32,
        head_dim=128,
        tie_word_embeddings=False,
        attention_bias=False,
        use_sliding_window=False,
        sliding_window=4096,
        max_window_layers=28,
        layer_types=None,
    ),
    "qwen3_moe": dict(
        vocab_size=151936,
        intermediate_size=6144,
        num_key_value_heads=4,
        tie_word_embeddings=False,
        attention_bias=False,
        use_sliding_window=False,
        sliding_window=4096,
        decoder_sparse_step=1,
        moe_intermediate_size=768,
        num_experts_per_tok=8,
        num_experts=128,
        mlp_only_layers=None,
    ),
    "gemma": dict(
        vocab_size=256000,
        intermediate_size=24576,
        num_key_value_heads=16,
        head_dim=256,
        tie_word_embeddings=True,
        attention_bias=False,
    ),
    "gemma2": dict(
        vocab_size=256000,
        intermediate_size=9216,
        num_key_value_heads=4,
        head_dim=256,
        tie_word_embeddings=True,
        attention_bias=False,
        sliding_window=4096,
        layer_types=None,
    ),
    "gemma3_text": dict(
        vocab_size=262208,
        intermediate_size=9216,
        num_key_value_heads=4,
        head_dim=256,
        tie_word_embeddings=True,
        attention_bias=False,
        sliding_window=4096,
        layer_types=None,
        sliding_window_pattern=6,
        use_bidirectional_attention=False,
    ),
    "phi3": dict(
        vocab_size=32064,
        intermediate_size=8192,
        num_key_value_heads=None,
        tie_word_embeddings=False,
        sliding_window=None,
    ),
    "olmo2": dict(
        vocab_size=50304,
        intermediate_size=11008,
        num_key_value_heads=None,
        tie_word_embeddings=False,
        attention_bias=False,
    ),
    "granite": dict(
        vocab_size=32000,
        intermediate_size=11008,
        num_key_value_heads=None,
        tie_word_embeddings=False,
        attention_bias=False,
        mlp_bias=False,
    ),
    "cohere": dict(
        vocab_size=256000,
        intermediate_size=22528,
        num_key_value_heads=None,
        tie_word_embeddings=True,
        attention_bias=False,
        use_qk_norm=False,
    ),
    "starcoder2": dict(
        vocab_size=49152,
        intermediate_size=12288,
        num_key_value_heads=2,
        tie_word_embeddings=True,
        use_bias=True,
        sliding_window=None,
    ),
    "gpt_neox": dict(
        vocab_size=50432,
        intermediate_size=24576,
        tie_word_embeddings=False,
        attention_bias=True,
    ),
    "falcon": dict(
        vocab_size=65024,
        num_kv_heads=None,
        new_decoder_architecture=False,
        multi_query=True,
        parallel_attn=True,
        bias=False,
        ffn_hidden_size=None,
        num_ln_in_parallel_attn=None,
        tie_word_embeddings=True,
    ),
    "deepseek_v3": dict(
        vocab_size=129280,
        intermediate_size=18432,
        moe_intermediate_size=2048,
        num_key_value_heads=128,
        n_shared_experts=1,
        n_routed_experts=256,
        kv_lora_rank=512,
        q_lora_rank=1536,
        qk_rope_head_dim=64,
        v_head_dim=128,
        qk_nope_head_dim=128,
        num_experts_per_tok=8,
        first_k_dense_replace=3,
        tie_word_embeddings=False,
        attention_bias=False,
        num_nextn_predict_layers=1,
    ),
}

# max_position_embeddings, the class default where a file leaves it out (transformers 5.24)
for _type, _positions in dict(
    llama=2048,
    mistral=131072,
    mixtral=131072,
    qwen2=32768,
    qwen2_moe=32768,
    qwen3=32768,
    qwen3_moe=32768,
    gemma=8192,
    gemma2=8192,
    gemma3_text=131072,
    phi3=4096,
    olmo2=2048,
    granite=2048,
    cohere=8192,
    starcoder2=4096,
    gpt_neox=2048,
    falcon=2048,
    deepseek_v3=4096,
).items():
    _DEFAULTS[_type]["max_position_embeddings"] = _positions

# attribute_map of the configuration classes: other name in a file -> the name read here.
_RENAMED: dict[str, dict[str, str]] = {
    "mixtral": {"num_experts": "num_local_experts"},
    "qwen3_moe": {"num_local_experts": "num_experts"},
    "deepseek_v3": {
        "num_local_experts": "n_routed_experts",
        "num_mtp_layers": "num_nextn_predict_layers",
    },
    "falcon": {
        "n_embed": "hidden_size"
    },  # FalconConfig.__post_init__ lets n_embed override hidden_size
}

# Multimodal wrappers are read by vramlib.multimodal (language model and towers). A
# family may still register a wrapper here (wrapper type -> (key, text model type)):
# its language model is then sized alone, and nothing else may sit beside it.
WRAPPERS: dict[str, tuple[str, str]] = {}

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
                if (
                    name in self.cfg
                    and self.cfg[name] != self.cfg[other]
                    and other != "n_embed"
                ):
                    raise ValueError(
                        f"config keys {other!r} and {name!r} name the same setting of a "
                        f"{model_type} model but disagree ({self.cfg[other]!r} vs "
                        f"{self.cfg[name]!r})"
                    )
                self.cfg[name] = self.cfg.pop(other)
        self.defaults = _DEFAULTS[model_type]
        self.read: set[str] = set()  # keys the reader looked at
        self.defaulted: set[str] = (
            set()
        )  # ... of which the file lacked and the class default filled

    def has(self, key: str) -> bool:
        return self.cfg.get(key) is not None

    def raw(self, key: str) -> Any:
        self.read.add(key)
        if key in self.cfg:
            return self.cfg[key]
        if key in self.defaults:
            self.defaulted.add(key)
            return self.defaults[key]
        if key in _REQUIRED:
            raise ValueError(
                f"config key {key!r} is required for a {self.model_type} model and is missing"
            )
        return _MISSING

    def int(self, key: str, *, minimum: int = 1, null: Any = _MISSING) -> Any:
        """An integer key; ``null`` is what ``None`` (or absence with a ``None`` default) becomes."""
        value = self.raw(key)
        if value is None or value is _MISSING:
            if null is _MISSING:
                raise ValueError(
                    f"config key {key!r} must be an integer >= {minimum}, got null"
                )
            return null
        result = _check.integer(f"config key {key!r}", value, minimum=minimum)
        if key == "num_hidden_layers" and result > MAX_LAYERS:
            raise ValueError(
                f"config key 'num_hidden_layers' must be at most {MAX_LAYERS:,} "
                f"(no real model comes near), got {result:,}"
            )
        return result

    def flag(self, key: str) -> bool:
        """A boolean key; ``null`` counts as false, as the modelling code's ``if config.x`` does."""
        value = self.raw(key)
        if value is None or value is _MISSING:
            return False
        if not isinstance(value, bool):
            raise TypeError(
                f"config key {key!r} must be true or false, got "
                f"{type(value).__name__} {value!r}"
            )
        return value

    def int_list(self, key: str) -> list[int]:
        value = self.raw(key)
        if value is None or value is _MISSING:
            return []
        if not isinstance(value, (list, tuple)):
            raise TypeError(
                f"config key {key!r} must be a list of layer indices, got "
                f"{type(value).__name__} {value!r}"
            )
        return [_check.integer(f"config key {key!r} item", v, minimum=0) for v in value]


def _heads(r: _Reader, n_heads: int) -> int:
    kv = r.int("num_key_value_heads", null=n_heads)
    if n_heads % kv:
        raise ValueError(
            f"config key 'num_attention_heads' ({n_heads}) must be a multiple of "
            f"'num_key_value_heads' ({kv})"
        )
    return kv


def _split_head_dim(r: _Reader, hidden: int, n_heads: int) -> int:
    if hidden % n_heads:
        raise ValueError(
            f"config key 'hidden_size' ({hidden}) is not divisible by "
            f"'num_attention_heads' ({n_heads}), and no 'head_dim' is given"
        )
    return hidden // n_heads


def _head_dim(r: _Reader, hidden: int, n_heads: int) -> int:
    """``head_dim`` from the file, else the class default, else hidden_size / num_attention_heads."""
    if r.has("head_dim") or r.defaults.get("head_dim") is not None:
        return r.int("head_dim")
    return _split_head_dim(r, hidden, n_heads)


def _layer_types(
    r: _Reader, n_layers: int, window: int | None, default: Callable[[int], bool]
) -> tuple[str, ...]:
    """Per-layer attention kind: the file's ``layer_types``, else ``default(i)`` (True = sliding).

    A layer marked sliding while no window is set attends to everything, so it counts as full.
    """
    given = r.raw("layer_types")
    if given is None or given is _MISSING:
        kinds = [
            "sliding_attention" if default(i) else "full_attention"
            for i in range(n_layers)
        ]
    else:
        if not isinstance(given, (list, tuple)) or len(given) != n_layers:
            raise ValueError(
                f"config key 'layer_types' must be a list of {n_layers} entries (one per "
                f"layer, num_hidden_layers = {n_layers}), got {given!r}"
            )
        _known_layer_types(r, given, _LAYER_TYPES)
        kinds = list(given)
    if window is None:
        kinds = ["full_attention"] * n_layers
    return tuple(kinds)


def _known_layer_types(r: _Reader, given: Any, accepted: tuple[str, ...]) -> None:
    """Refuse a ``layer_types`` entry this model type does not have (no guessing: a layer kind
    the reader does not know is never sized as another kind)."""
    for i, kind in enumerate(given):
        if kind not in accepted:
            raise ValueError(
                f"config key 'layer_types' names {_check.shown(kind)} for layer {i}, "
                f"a layer type a {r.model_type} model does not have; its layers "
                f"are {', '.join(accepted)}. vramlib refuses rather than size it as "
                f"another kind"
            )


def _common(r: _Reader) -> dict:
    hidden = r.int("hidden_size")
    n_heads = r.int("num_attention_heads")
    return dict(
        vocab_size=r.int("vocab_size"),
        hidden_size=hidden,
        num_hidden_layers=r.int("num_hidden_layers"),
        num_attention_heads=n_heads,
        tie_word_embeddings=r.flag("tie_word_embeddings"),
        max_position_embeddings=r.int("max_position_embeddings", null=None),
    )


def _window(r: _Reader, enabled: bool = True) -> int | None:
    return r.int("sliding_window", null=None) if enabled else None


def _dense(
    r: _Reader,
    *,
    qkv_bias: bool = False,
    o_bias: bool = False,
    mlp_bias: bool = False,
    qk_norm: str = "none",
    norms: int = 2,
    window: int | None = None,
    sliding: Callable[[int], bool] | None = None,
    head_dim: int | None = None,
) -> dict:
    """The decoder layout shared by the llama-like types: q, k, v, o and a gated (SwiGLU/GeGLU) MLP."""
    spec = _common(r)
    n_layers, hidden, n_heads = (
        spec["num_hidden_layers"],
        spec["hidden_size"],
        spec["num_attention_heads"],
    )
    spec.update(
        num_key_value_heads=_heads(r, n_heads),
        head_dim=head_dim if head_dim is not None else _head_dim(r, hidden, n_heads),
        intermediate_size=r.int("intermediate_size"),
        qkv_bias=qkv_bias,
        o_bias=o_bias,
        mlp_bias=mlp_bias,
        qk_norm=qk_norm,
        norms_per_layer=norms,
    )
    if sliding is None:
        kinds = tuple(
            "sliding_attention" if window is not None else "full_attention"
            for _ in range(n_layers)
        )
    else:
        kinds = _layer_types(r, n_layers, window, sliding)
    spec.update(
        sliding_window=window if "sliding_attention" in kinds else None,
        layer_types=kinds,
    )
    return spec


def _moe_layers(r: _Reader, n_layers: int, n_experts: int) -> tuple[str, ...]:
    """Qwen's rule: layer i is MoE unless listed in mlp_only_layers, if (i + 1) % decoder_sparse_step == 0."""
    dense_only = set(r.int_list("mlp_only_layers"))
    step = r.int("decoder_sparse_step")
    return tuple(
        "moe"
        if i not in dense_only and n_experts > 0 and (i + 1) % step == 0
        else "dense"
        for i in range(n_layers)
    )


def _moe(
    r: _Reader,
    spec: dict,
    *,
    experts_key: str,
    intermediate_key: str,
    layers: tuple[str, ...] | None = None,
    minimum_experts: int = 1,
) -> dict:
    n_experts = r.int(experts_key, minimum=minimum_experts)
    top_k = r.int("num_experts_per_tok")
    if n_experts and top_k > n_experts:
        raise ValueError(
            f"config key 'num_experts_per_tok' ({top_k}) exceeds the number of experts "
            f"'{experts_key}' ({n_experts})"
        )
    n_layers = spec["num_hidden_layers"]
    spec.update(
        num_experts=n_experts,
        experts_per_token=top_k,
        moe_intermediate_size=r.int(intermediate_key),
        mlp_layer_types=layers if layers is not None else ("moe",) * n_layers,
    )
    return spec


def _llama(r):
    bias = r.flag("attention_bias")
    return _dense(r, qkv_bias=bias, o_bias=bias, mlp_bias=r.flag("mlp_bias"))


def _mistral(r):
    return _dense(r, window=_window(r))


def _mixtral(r):
    spec = _dense(r, window=_window(r))
    return _moe(
        r, spec, experts_key="num_local_experts", intermediate_key="intermediate_size"
    )


def _qwen_window(r):
    return _window(r, r.flag("use_sliding_window"))


def _qwen2(r):
    window = _qwen_window(r)
    limit = r.int("max_window_layers", minimum=0)
    return _dense(r, qkv_bias=True, window=window, sliding=lambda i: i >= limit)


def _qwen2_moe(r):
    window = _qwen_window(r)
    limit = r.int("max_window_layers", minimum=0)
    spec = _dense(
        r,
        qkv_bias=r.flag("qkv_bias"),
        window=window or None,
        sliding=lambda i: (i + 1) % 2 == 1 and i < limit,
    )
    n_experts = r.int("num_experts", minimum=0)
    spec = _moe(
        r,
        spec,
        experts_key="num_experts",
        intermediate_key="moe_intermediate_size",
        layers=_moe_layers(r, spec["num_hidden_layers"], n_experts),
        minimum_experts=0,
    )
    spec.update(
        shared_expert_intermediate_size=r.int(
            "shared_expert_intermediate_size", minimum=0
        ),
        shared_expert_gate=True,
    )
    return spec


def _qwen3(r):
    window = _qwen_window(r)
    limit = r.int("max_window_layers", minimum=0)
    bias = r.flag("attention_bias")
    return _dense(
        r,
        qkv_bias=bias,
        o_bias=bias,
        qk_norm="head",
        window=window,
        sliding=lambda i: i >= limit,
    )


def _qwen3_moe(r):
    bias = r.flag("attention_bias")
    spec = _dense(r, qkv_bias=bias, o_bias=bias, qk_norm="head", window=_qwen_window(r))
    n_experts = r.int("num_experts", minimum=0)
    return _moe(
        r,
        spec,
        experts_key="num_experts",
        intermediate_key="moe_intermediate_size",
        layers=_moe_layers(r, spec["num_hidden_layers"], n_experts),
        minimum_experts=0,
    )


def _gemma(r):
    bias = r.flag("attention_bias")
    return _dense(r, qkv_bias=bias, o_bias=bias)


def _gemma2(r):
    bias = r.flag("attention_bias")
    return _dense(
        r,
        qkv_bias=bias,
        o_bias=bias,
        norms=4,
        window=_window(r),
        sliding=lambda i: (i + 1) % 2 == 1,
    )


def _gemma3_text(r):
    bias = r.flag("attention_bias")
    window = _window(r)
    if window is not None and r.flag("use_bidirectional_attention"):
        window = window // 2 + 1  # as Gemma3TextConfig.__post_init__ does
    pattern = r.int("sliding_window_pattern")
    return _dense(
        r,
        qkv_bias=bias,
        o_bias=bias,
        qk_norm="head",
        norms=4,
        window=window,
        sliding=lambda i: (i + 1) % pattern != 0,
    )


def _phi3(r):
    return _dense(r, window=_window(r))


def _olmo2(r):
    bias = r.flag("attention_bias")
    return _dense(r, qkv_bias=bias, o_bias=bias, qk_norm="full")


def _cohere(r):
    bias = r.flag("attention_bias")
    spec = _dense(
        r,
        qkv_bias=bias,
        o_bias=bias,
        qk_norm="full" if r.flag("use_qk_norm") else "none",
        norms=1,
    )
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
    spec.update(
        num_key_value_heads=n_heads,
        head_dim=_split_head_dim(r, hidden, n_heads),
        intermediate_size=r.int("intermediate_size"),
        qkv_bias=bias,
        o_bias=bias,
        mlp_bias=True,
        mlp_gated=False,
        norm_bias=True,
        layer_types=("full_attention",) * spec["num_hidden_layers"],
    )
    return spec


def _falcon(r):
    spec = _common(r)
    hidden, n_heads = spec["hidden_size"], spec["num_attention_heads"]
    new_arch = r.flag("new_decoder_architecture")
    if new_arch:
        kv = r.int("num_kv_heads", null=n_heads)
        if n_heads % kv:
            raise ValueError(
                f"config key 'num_attention_heads' ({n_heads}) must be a multiple of "
                f"'num_kv_heads' ({kv})"
            )
    else:
        kv = 1 if r.flag("multi_query") else n_heads
    if not r.flag("parallel_attn"):
        norms = 2
    else:
        n_ln = r.int("num_ln_in_parallel_attn", null=2 if new_arch else 1)
        norms = 2 if n_ln == 2 else 1
    bias = r.flag("bias")
    spec.update(
        num_key_value_heads=kv,
        head_dim=_split_head_dim(r, hidden, n_heads),
        intermediate_size=r.int("ffn_hidden_size", null=4 * hidden),
        qkv_bias=bias,
        o_bias=bias,
        mlp_bias=bias,
        mlp_gated=False,
        norm_bias=True,
        norms_per_layer=norms,
        layer_types=("full_attention",) * spec["num_hidden_layers"],
    )
    return spec


def _deepseek_v3(r):
    spec = _common(r)
    n_layers, n_heads = spec["num_hidden_layers"], spec["num_attention_heads"]
    bias = r.flag("attention_bias")
    first_dense = r.int("first_k_dense_replace", minimum=0)
    spec.update(
        num_key_value_heads=_heads(r, n_heads),
        head_dim=r.int("qk_rope_head_dim"),
        intermediate_size=r.int("intermediate_size"),
        qkv_bias=bias,
        o_bias=bias,
        q_lora_rank=r.int("q_lora_rank", null=None),
        kv_lora_rank=r.int("kv_lora_rank"),
        qk_nope_head_dim=r.int("qk_nope_head_dim"),
        qk_rope_head_dim=r.int("qk_rope_head_dim"),
        v_head_dim=r.int("v_head_dim"),
        layer_types=("full_attention",) * n_layers,
        mtp_layers=r.int("num_nextn_predict_layers", minimum=0, null=0),
    )
    spec = _moe(
        r,
        spec,
        experts_key="n_routed_experts",
        intermediate_key="moe_intermediate_size",
        layers=tuple("moe" if i >= first_dense else "dense" for i in range(n_layers)),
    )
    spec.update(
        shared_expert_intermediate_size=spec["moe_intermediate_size"]
        * r.int("n_shared_experts", minimum=0)
    )
    return spec


_READERS: dict[str, Callable[[_Reader], dict]] = {
    "llama": _llama,
    "mistral": _mistral,
    "mixtral": _mixtral,
    "qwen2": _qwen2,
    "qwen2_moe": _qwen2_moe,
    "qwen3": _qwen3,
    "qwen3_moe": _qwen3_moe,
    "gemma": _gemma,
    "gemma2": _gemma2,
    "gemma3_text": _gemma3_text,
    "phi3": _phi3,
    "olmo2": _olmo2,
    "granite": _llama,
    "cohere": _cohere,
    "starcoder2": _starcoder2,
    "gpt_neox": _gpt_neox,
    "falcon": _falcon,
    "deepseek_v3": _deepseek_v3,
}


# transformers' module names where they differ from q/k/v/o_proj and gate/up/down_proj
_NAMES: dict[str, dict[str, tuple[str, ...]]] = {
    "gpt_neox": dict(
        attention_names=("query_key_value", "dense"),
        mlp_names=("dense_h_to_4h", "dense_4h_to_h"),
    ),
    "falcon": dict(
        attention_names=("query_key_value", "dense"),
        mlp_names=("dense_h_to_4h", "dense_4h_to_h"),
    ),
    "starcoder2": dict(mlp_names=("c_fc", "c_proj")),
    "phi3": dict(
        attention_names=("qkv_proj", "o_proj"), mlp_names=("gate_up_proj", "down_proj")
    ),
}

#: the heads a causal-LM checkpoint's ``architectures`` may name (others, such as a
#: sequence-classification head, have different weights and are refused)
_HEADS = ("ForCausalLM", "ForConditionalGeneration", "LMHeadModel")


def _check_architectures(cfg: dict) -> None:
    archs = cfg.get("architectures")
    if archs is None:
        return
    if not isinstance(archs, list) or not all(isinstance(a, str) for a in archs):
        raise TypeError(
            f"config key 'architectures' must be a list of class names, got "
            f"{_check.shown(archs)}"
        )
    for arch in archs:
        if not arch.endswith(_HEADS):
            raise ValueError(
                f"config key 'architectures' names {_check.shown(arch)}, which is not a "
                f"language model with an LM head ({', '.join('*' + h for h in _HEADS)}); "
                f"vramlib sizes causal language models only"
            )


def _unknown_model_type(model_type: object) -> ValueError:
    """An unsupported model_type: a transformers architecture vramlib does not read is said to be
    unsupported (never "did you mean" another architecture); anything else may be a typo."""
    load_all_families()
    supported = sorted(set(_READERS) | set(WRAPPERS) | set(_multimodal.WRAPPERS))
    listed = ", ".join(supported)
    if not isinstance(model_type, str):
        return TypeError(
            f"config key 'model_type' must be a string, got {_check.shown(model_type)}"
        )
    if model_type in _data.load("hf_model_types.json")["model_types"]:
        return ValueError(
            f"config key 'model_type' is {model_type!r}, an architecture vramlib does "
            f"not support (it refuses rather than size it as another). "
            f"Supported: {listed}"
        )
    close = _check.suggestions(model_type, supported, cutoff=0.8)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return ValueError(
        f"unknown model_type {_check.shown(model_type)} for config key "
        f"'model_type'.{hint} Supported: {listed}"
    )


def spec_fields(cfg: dict) -> dict:
    """The ModelSpec fields (without name and source) for one parsed config.json dict."""
    if not isinstance(cfg, dict):
        raise TypeError(
            f"a config must be a JSON object (dict), got {type(cfg).__name__}"
        )
    if "model_type" not in cfg:
        raise ValueError("config key 'model_type' is required and is missing")
    _check_architectures(cfg)
    model_type = cfg["model_type"]
    _load_reader(model_type)
    if isinstance(model_type, str) and model_type in _multimodal.WRAPPERS:
        # multimodal hook (issue 13): the language model by its own reader, the towers
        return _multimodal.wrapper_fields(cfg, spec_fields)
    if isinstance(model_type, str) and model_type in WRAPPERS:
        key, text_type = WRAPPERS[model_type]
        inner = cfg.get(key)
        if not isinstance(inner, dict):
            raise ValueError(
                f"config key {key!r} is required for a {model_type} model (its language "
                f"model, model_type {text_type}) and is missing or not an object"
            )
        inner_type = inner.get("model_type", text_type)
        if inner_type != text_type:
            raise ValueError(
                f"config key '{key}.model_type' must be {text_type!r} inside a {model_type} "
                f"config, got {_check.shown(inner_type)}"
            )
        others = [
            k
            for k in cfg
            if k.endswith(("vision_config", "audio_config")) and cfg[k] is not None
        ]
        if others:
            raise ValueError(
                f"config keys {', '.join(map(repr, others))} describe towers of a "
                f"{model_type} model that vramlib does not read; it refuses rather "
                f"than size the language model alone"
            )
        cfg, model_type = inner, text_type
        _load_reader(model_type)
    if not isinstance(model_type, str) or model_type not in _READERS:
        raise _unknown_model_type(model_type)
    reader = _Reader(cfg, model_type)
    fields = _READERS[model_type](reader)
    fields["model_type"] = model_type
    _check_unread_layer_types(reader, fields)
    if "layers" not in fields and model_type in _NAMES:
        names = _NAMES[model_type]
        fields["module_names"] = (
            names.get("attention_names", Q_K_V_O),
            names.get("mlp_names", ()),
        )
    fields["defaulted_keys"] = tuple(sorted(reader.defaulted))
    return fields


def _check_unread_layer_types(r: _Reader, fields: dict) -> None:
    """A ``layer_types`` the reader did not consult must agree with the layers it built:
    transformers ignores the key for such types, and a file that says otherwise is not sized."""
    given = r.cfg.get("layer_types")
    if given is None or "layer_types" in r.read:
        return
    n = fields["num_hidden_layers"]
    if not isinstance(given, (list, tuple)) or len(given) != n:
        raise ValueError(
            f"config key 'layer_types' must be a list of {n} entries (one per layer, "
            f"num_hidden_layers = {n}), got {_check.shown(given)}"
        )
    built = fields.get("layer_types") or ("full_attention",) * n
    if "layers" in fields:
        built = tuple(x.layer_type for x in fields["layers"])
    _known_layer_types(r, given, tuple(dict.fromkeys(built)))
    if tuple(given) != tuple(built):
        raise ValueError(
            f"config key 'layer_types' ({_check.shown(given)}) disagrees with the layers "
            f"a {r.model_type} model builds from its other keys ({', '.join(built)}); "
            f"transformers ignores the key for this type, and vramlib refuses rather "
            f"than guess which is meant"
        )


# The families of 2025-2026 live in vramlib/families/: each module adds its readers here
# when a config of one of its types is first read (families.INDEX lists them).
from . import families as _families  # noqa: E402

_LOADED_FAMILIES: set[str] = set()


def _load_family(module: str) -> None:
    if module in _LOADED_FAMILIES:
        return
    from importlib import import_module

    family = import_module(f".families.{module}", __package__)
    _DEFAULTS.update(family.DEFAULTS)
    _RENAMED.update(getattr(family, "RENAMED", {}))
    WRAPPERS.update(getattr(family, "WRAPPERS", {}))
    _READERS.update(family.READERS)
    _LOADED_FAMILIES.add(module)


def _load_reader(model_type: object) -> None:
    """Imports the family module that reads ``model_type``, if any is not loaded yet."""
    module = (
        _families.MODULE_OF.get(model_type) if isinstance(model_type, str) else None
    )
    if module is not None:
        _load_family(module)


def load_all_families() -> None:
    """Imports every family module (for listings of every reader and default)."""
    for module in _families.INDEX:
        _load_family(module)


# Multimodal wrappers (issue 13) and the language models that exist only inside them.
from . import multimodal as _multimodal  # noqa: E402

_BASE_TYPES = tuple(_READERS)
_DEFAULTS.update(_multimodal.TEXT_DEFAULTS)
_RENAMED.update(_multimodal.TEXT_RENAMED)
_READERS.update(_multimodal.TEXT_READERS)
SUPPORTED = (
    _BASE_TYPES
    + tuple(t for types in _families.INDEX.values() for t in types)
    + tuple(_multimodal.TEXT_READERS)
)
