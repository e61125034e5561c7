"""Building the layer stack of a llama-like model from its flat sizes.

The 18 model types of 2023–2024 share one layout: every layer is attention (full, sliding, or
latent) plus a dense MLP or a mixture of experts, with the same sizes in every layer. This builds
their :class:`~vramlib.layers.Layer` stack from those sizes (the fields of
:class:`~vramlib.models.ModelSpec`), sharing one object among identical layers.
"""

from __future__ import annotations

from typing import Any

from .attention import Attention, LatentAttention
from .ffn import DenseMLP, MoE
from .layer import Layer

Q_K_V_O = ("q_proj", "k_proj", "v_proj", "o_proj")


def uniform_stack(
    f: Any,
    *,
    attention_names: tuple[str, ...] = Q_K_V_O,
    mlp_names: tuple[str, ...] = (),
) -> tuple[Layer, ...]:
    """The layers described by flat sizes ``f`` (a ModelSpec, or anything with its fields).

    ``f.layer_types[i]`` picks full or sliding attention (or MLA when ``f.kv_lora_rank`` is set),
    ``f.mlp_layer_types[i]`` a dense MLP or experts.
    """
    h = f.hidden_size
    if f.kv_lora_rank is not None:
        full = sliding = LatentAttention(
            h,
            f.num_attention_heads,
            f.kv_lora_rank,
            f.q_lora_rank,
            f.qk_nope_head_dim,
            f.qk_rope_head_dim,
            f.v_head_dim,
            f.qkv_bias,
            f.o_bias,
        )
    else:
        shape = dict(
            hidden=h,
            heads=f.num_attention_heads,
            kv_heads=f.num_key_value_heads,
            head_dim=f.head_dim,
            qkv_bias=f.qkv_bias,
            o_bias=f.o_bias,
            qk_norm=f.qk_norm,
            names=attention_names,
        )
        full = Attention(**shape)
        sliding = (
            Attention(**shape, span="sliding", window=f.sliding_window)
            if "sliding_attention" in f.layer_types
            else full
        )
    dense = (
        DenseMLP(h, f.intermediate_size, f.mlp_gated, f.mlp_bias, mlp_names)
        if "dense" in f.mlp_layer_types
        else None
    )
    moe = (
        MoE(
            h,
            f.num_experts,
            f.experts_per_token,
            f.moe_intermediate_size,
            f.shared_expert_intermediate_size,
            f.shared_expert_gate,
            # DeepSeek-V3's router keeps its score-correction bias as an fp32 buffer
            score_bias_buffer="F32" if f.model_type == "deepseek_v3" else "",
        )
        if "moe" in f.mlp_layer_types
        else None
    )
    made: dict[tuple[str, str], Layer] = {}
    out = []
    for kind, mlp in zip(f.layer_types, f.mlp_layer_types):
        if (kind, mlp) not in made:
            mixer = sliding if kind == "sliding_attention" else full
            made[kind, mlp] = Layer(
                mixer, moe if mlp == "moe" else dense, h, f.norms_per_layer, f.norm_bias
            )
        out.append(made[kind, mlp])
    return tuple(out)
