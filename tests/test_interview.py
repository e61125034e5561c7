"""The interview bank: every answer computes and renders, and spot checks against hand arithmetic."""

from __future__ import annotations

import math
import re

import pytest

from vramlib import _data
from vramlib import interview as iv

QUESTIONS = iv.questions()
IDS = [q.id for q in QUESTIONS]
REQUIRED_TOPICS = {
    "rule-of-thumb",
    "units",
    "weights",
    "kv-cache",
    "attention-variants",
    "moe",
    "sliding-window",
    "multi-gpu",
    "batching",
    "quantization",
    "decode-speed",
    "training",
}
REQUIRED_TOPICS |= {"hybrid", "unified-memory"}


def test_bank_size_ids_levels_topics():
    assert len(QUESTIONS) >= 30
    assert len(set(IDS)) == len(IDS)
    assert {q.level for q in QUESTIONS} == set(iv.LEVELS)
    assert {q.topic for q in QUESTIONS} <= set(iv.topics())
    assert REQUIRED_TOPICS <= {q.topic for q in QUESTIONS}
    assert all(q.compute in iv.COMPUTE for q in QUESTIONS)
    levels = [iv.LEVELS.index(q.level) for q in QUESTIONS]
    assert levels == sorted(levels), "graded warm-up to senior"


@pytest.mark.parametrize("qid", IDS)
def test_every_answer_computes_and_renders(qid):
    q = iv.get_question(qid)
    a = iv.answer(qid)
    assert set(iv.placeholders(q.answer_template)) <= set(a.values)
    for text in (q.text, a.text):
        assert text.strip() and "{" not in text and "}" not in text
        assert not re.search(r"\b(nan|inf)\b", text, re.IGNORECASE)
    assert all(
        not (isinstance(v, float) and not math.isfinite(v)) for v in a.values.values()
    )
    assert q.hint.strip()


@pytest.mark.parametrize("qid", IDS)
def test_no_number_is_typed_into_answers_or_hints(qid):
    q = iv.get_question(qid)
    assert iv.typed_numbers(q.answer_template) == []
    assert iv.typed_numbers(q.hint) == []


def test_typed_numbers_finds_digits_outside_placeholders():
    assert iv.typed_numbers("{x:,.1f} GB, about 140 GB") == ["140"]
    assert iv.typed_numbers("{x:.2f} of {y}") == []


def test_spot_checks_against_hand_arithmetic():
    v = iv.answer("rule-70b").values
    assert v["weights_gb"] == 70e9 * 2 / 1e9 and v["total_gb"] == pytest.approx(
        70 * 2 * 1.2
    )
    assert iv.answer("gib-factor").values["ratio"] == 2**30 / 10**9
    assert (
        iv.answer("kv-per-token-8b").values["per_token_bytes"] == 2 * 32 * 8 * 128 * 2
    )
    assert iv.answer("training-16").values["bytes_per_param"] == 2 + 2 + 4 + 4 + 4
    assert (
        iv.answer("tp-divisible").values["valid"] == "1, 2, 4, 8"
    )  # 64 heads, 8 KV heads
    assert iv.answer("gqa-savings").values["factor"] == 64 // 8
    assert iv.answer("mla-deepseek").values["latent_elems"] == 512 + 64
    assert iv.answer("q8-bits").values["bits"] == 34 * 8 / 32
    s = iv.answer("sliding-mistral").values  # every layer keeps 4096 of 32768 tokens
    assert s["kv_gib"] == 2 * 32 * 8 * 128 * 2 * 4096 / 2**30


def test_filters():
    for topic in iv.topics():
        assert all(q.topic == topic for q in iv.questions(topic=topic))
    for level in iv.LEVELS:
        assert iv.questions(level=level) and all(
            q.level == level for q in iv.questions(level=level)
        )
    assert sum(len(iv.questions(level=lv)) for lv in iv.LEVELS) == len(QUESTIONS)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="Did you mean 'rule-70b'"):
        iv.answer("rule-70")
    with pytest.raises(ValueError, match="unknown topic"):
        iv.questions(topic="kv")
    with pytest.raises(ValueError, match="Did you mean 'senior'"):
        iv.questions(level="senor")
    with pytest.raises(TypeError, match="question_id"):
        iv.answer(3)


def test_bank_markdown_has_toggles_for_every_question():
    text = iv.bank_markdown()
    assert text.count('<details class="interview-answer">') == len(QUESTIONS)
    assert text.count('<details class="interview-hint">') == len(QUESTIONS)
    assert "{" not in text


def test_deck_cycles_reveals_and_shuffles():
    deck = iv.Deck.build()
    seen = []
    for _ in range(len(deck)):
        assert deck.front() and deck.back().startswith("Hint:")
        revealed = deck.reveal()
        assert revealed.back() == iv.answer(deck.current.id).text
        seen.append(deck.current.id)
        deck = revealed.next()
    assert sorted(seen) == sorted(IDS) and deck.position == 0
    assert deck.previous().position == len(deck) - 1
    a, b = iv.Deck.build(seed=3), iv.Deck.build(seed=3)
    assert (
        a.ids == b.ids and sorted(a.ids) == sorted(IDS) and a.ids != iv.Deck.build().ids
    )
    assert a.shuffle(None).ids == iv.Deck.build().ids
    senior = a.filter(level="senior")
    assert senior.seed == 3 and {iv.get_question(i).level for i in senior.ids} == {
        "senior"
    }
    empty = iv.Deck.build(topic="units", level="senior")
    assert len(empty) == 0 and "No question" in empty.front() and empty.next().front()
    with pytest.raises(ValueError, match="seed"):
        iv.Deck.build(seed=-1)


def test_data_file_entries_are_complete():
    bank = _data.load("questions.json")
    assert bank["levels"] == list(iv.LEVELS)
    keys = {"id", "level", "topic", "question", "hint", "compute", "inputs", "answer"}
    assert all(keys <= set(e) for e in bank["questions"])


# ---- the 2025-2026 questions, each held against a hand computation from the raw
# config.json (catalogue_entry(...)["config"]) and the GPU data file ------------------

GIB, MIB = 2**30, 2**20
NEW_IDS = [
    "moe-qwen3-next",
    "sliding-gpt-oss",
    "sinks-gpt-oss",
    "kv-glm5-glm45",
    "hybrid-qwen3-next",
    "unified-spark",
    "unified-strix-halo",
    "gpus-glm5-h20",
    "indexer-deepseek-v32",
    "mamba-state-nemotron",
    "hybrid-vs-llama",
    "experts-on-cpu",
    "unified-m3-ultra",
]


def _cfg(name):
    from vramlib.models import catalogue_entry

    return catalogue_entry(name)["config"]


def _gpu_row(name):
    return next(g for g in _data.load("gpus.json")["gpus"] if g["name"] == name)


def _gpt_oss_120b():
    """gpt-oss-120b by hand: (parameters, routed-expert weight elements, KV bytes per
    token per layer in bf16)."""
    c = _cfg("gpt-oss-120b")
    h, v, n_h, n_kv, d = (
        c["hidden_size"],
        c["vocab_size"],
        c["num_attention_heads"],
        c["num_key_value_heads"],
        c["head_dim"],
    )
    e, i, layers = (
        c["num_local_experts"],
        c["intermediate_size"],
        c["num_hidden_layers"],
    )
    attn = 2 * h * n_h * d + 2 * h * n_kv * d + n_h * d + 2 * n_kv * d + h + n_h
    expert_w = h * 2 * i + i * h
    experts = e * (expert_w + 2 * i + h) + h * e + e  # with biases, router and its bias
    params = 2 * v * h + layers * (attn + experts + 2 * h) + h
    return params, layers * e * expert_w, 2 * n_kv * d * 2


def test_new_questions_cover_the_2025_2026_topics():
    assert set(NEW_IDS) <= set(IDS) and len(NEW_IDS) >= 10
    topics = {iv.get_question(i).topic for i in NEW_IDS}
    assert {
        "hybrid",
        "unified-memory",
        "moe",
        "attention-variants",
        "sliding-window",
    } <= topics


def test_moe_qwen3_next_by_hand():
    c = _cfg("Qwen3-Next-80B-A3B")
    v = iv.answer("moe-qwen3-next").values
    expert = 3 * c["hidden_size"] * c["moe_intermediate_size"]
    skipped = (
        c["num_hidden_layers"] * (c["num_experts"] - c["num_experts_per_tok"]) * expert
    )
    assert (v["total_b"] - v["active_b"]) * 1e9 == pytest.approx(skipped, rel=1e-12)
    assert v["weights_gb"] == pytest.approx(2 * v["total_b"], rel=1e-12)  # bf16
    # one token reads the active weights less all but one row of the embedding
    read = 2 * (
        v["active_b"] * 1e9 - c["vocab_size"] * c["hidden_size"] + c["hidden_size"]
    )
    assert v["active_gb"] * 1e9 == pytest.approx(read, rel=1e-12)
    assert (v["experts"], v["per_token"]) == (512, 10)


def test_sliding_gpt_oss_by_hand():
    c = _cfg("gpt-oss-120b")
    _, _, row = _gpt_oss_120b()
    sliding = c["layer_types"].count("sliding_attention")
    full = c["num_hidden_layers"] - sliding
    t, w = 131072, c["sliding_window"]
    v = iv.answer("sliding-gpt-oss").values
    assert (v["sliding_layers"], v["window"]) == (sliding, w) == (18, 128)
    assert v["kv_gib"] * GIB == sliding * row * w + full * row * t
    assert v["kv_full_gib"] * GIB == c["num_hidden_layers"] * row * t
    assert v["saving_pct"] == pytest.approx(100 * sliding * (t - w) / (36 * t))


def test_sinks_gpt_oss_by_hand():
    c = _cfg("gpt-oss-20b")
    v = iv.answer("sinks-gpt-oss").values
    row = 2 * c["num_key_value_heads"] * c["head_dim"] * 2
    sliding = c["layer_types"].count("sliding_attention")
    assert v["sink_params"] == c["num_hidden_layers"] * c["num_attention_heads"] == 1536
    assert v["sink_bytes"] == 2 * 1536
    assert (
        v["per_token_bytes"] == v["per_token_without"] == c["num_hidden_layers"] * row
    )
    assert v["streaming_extra_kib"] * 1024 == sliding * 4 * row
    assert v["window_kib"] * 1024 == sliding * c["sliding_window"] * row


def test_kv_glm5_against_glm45_by_hand():
    a, b = _cfg("GLM-4.5"), _cfg("GLM-5")
    t = 131072
    gqa = 2 * a["num_hidden_layers"] * a["num_key_value_heads"] * a["head_dim"] * 2
    dsa = (
        b["num_hidden_layers"]
        * (b["kv_lora_rank"] + b["qk_rope_head_dim"] + b["index_head_dim"])
        * 2
    )
    v = iv.answer("kv-glm5-glm45").values
    assert (
        (v["a_bytes"], v["b_bytes"]) == (gqa * t, dsa * t) == (376832 * t, 109824 * t)
    )
    assert v["ratio"] == pytest.approx(gqa / dsa)


def test_hybrid_qwen3_next_by_hand():
    c = _cfg("Qwen3-Next-80B-A3B")
    layers, t = c["num_hidden_layers"], 262144
    full = layers // c["full_attention_interval"]
    per_token = full * 2 * c["num_key_value_heads"] * c["head_dim"] * 2
    dk = c["linear_num_key_heads"] * c["linear_key_head_dim"]
    dv = c["linear_num_value_heads"] * c["linear_value_head_dim"]
    conv = (2 * dk + dv) * c["linear_conv_kernel_dim"]
    rec = (
        c["linear_num_value_heads"]
        * c["linear_key_head_dim"]
        * c["linear_value_head_dim"]
    )
    state = (layers - full) * (conv + rec) * 2  # bf16
    v = iv.answer("hybrid-qwen3-next").values
    assert (v["attn_layers"], v["state_layers"]) == (full, layers - full) == (12, 36)
    assert v["per_token_kib"] * 1024 == per_token
    assert v["state_mib"] * MIB == state
    assert v["total_gib"] * GIB == per_token * t + state
    assert v["all_attention_gib"] * GIB == per_token * layers // full * t


def test_unified_spark_by_hand():
    params, expert_w, row = _gpt_oss_120b()
    weights = 2 * (params - expert_w) + expert_w * 17 // 32  # MXFP4: 17 bytes per 32
    c = _cfg("gpt-oss-120b")
    sliding = c["layer_types"].count("sliding_attention")
    kv = sliding * row * 128 + (36 - sliding) * row * 131072
    pool = _gpu_row("DGX Spark 128GB")["memory_bytes"]
    v = iv.answer("unified-spark").values
    assert v["weights_gib"] * GIB == weights and v["kv_gib"] * GIB == kv
    assert v["pool_gib"] == 128 == pool / GIB
    assert v["total_gib"] == pytest.approx(
        v["weights_gib"] + v["kv_gib"] + v["rest_gib"]
    )
    assert v["left_gib"] == pytest.approx(128 - v["total_gib"])
    assert v["pool_word"] == ("fits" if v["total_gib"] <= 128 else "does not fit")


def test_unified_strix_halo_by_hand():
    c = _cfg("Nemotron-3-Super-120B-A12B-FP8")
    from vramlib.models import get_model

    params = get_model("Nemotron-3-Super-120B-A12B-FP8").param_count()
    pattern = c["hybrid_override_pattern"]
    attn = pattern.count("*") * 2 * c["num_key_value_heads"] * c["head_dim"] * 2
    inner = c["mamba_num_heads"] * c["mamba_head_dim"]
    conv = (inner + 2 * c["n_groups"] * c["ssm_state_size"]) * c["conv_kernel"]
    state = pattern.count("M") * (conv + inner * c["ssm_state_size"]) * 2  # bf16
    row = _gpu_row("Ryzen AI Max+ 395 128GB")
    v = iv.answer("unified-strix-halo").values
    # fp8: one byte a parameter; each expert layer's score bias is an fp32 buffer
    score_bias = pattern.count("E") * c["n_routed_experts"] * 4
    assert v["weights_gib"] * GIB == params + score_bias
    assert v["kv_gib"] * GIB == attn * 32768 + state
    assert v["share_gib"] * GIB == row["gpu_usable_bytes"] == 96 * GIB
    assert v["pool_gib"] * GIB == row["memory_bytes"] == 128 * GIB
    assert params > 96 * GIB and v["share_word"] == "does not fit"  # weights alone
    assert v["pool_word"] == ("fits" if v["total_gib"] <= 128 else "does not fit")


def test_gpus_glm5_h20_by_hand():
    c = _cfg("GLM-5")
    kv = (
        4
        * 131072
        * c["num_hidden_layers"]
        * (c["kv_lora_rank"] + c["qk_rope_head_dim"] + c["index_head_dim"])
        * 2
    )
    capacity = _gpu_row("H20 96GB")["memory_bytes"]
    from vramlib.models import get_model

    params = get_model("GLM-5").param_count()
    v = iv.answer("gpus-glm5-h20").values
    assert v["kv_gib"] * GIB == kv and v["kv_per_gpu_gib"] * GIB == kv  # replicated
    assert v["capacity_gib"] * GIB == capacity == 96 * GIB
    assert v["naive"] == math.ceil(v["total_gib"] * GIB / capacity)
    n = v["n"]
    assert c["num_attention_heads"] % n == 0 and v["per_gpu_gib"] * GIB <= capacity
    # at the next smaller split each GPU holds at least 1/(n/2) of the fp8 weights (a
    # byte each) plus the whole latent cache: more than a card
    assert params // (n // 2) + kv > capacity


def test_indexer_deepseek_v32_by_hand():
    c = _cfg("DeepSeek-V3.2")
    t, layers = 131072, c["num_hidden_layers"]
    latent = layers * (c["kv_lora_rank"] + c["qk_rope_head_dim"]) * 2 * t
    keys = layers * c["index_head_dim"] * 2 * t
    heads = c["num_attention_heads"]
    expanded = (
        layers
        * heads
        * (c["qk_nope_head_dim"] + c["qk_rope_head_dim"] + c["v_head_dim"])
        * 2
        * t
        + keys
    )
    v = iv.answer("indexer-deepseek-v32").values
    assert v["latent_gib"] * GIB == latent and v["indexer_gib"] * GIB == keys
    assert v["per_token_bytes"] == 61 * 704 * 2 and v["row_elems"] == 512 + 64 + 128
    assert v["indexer_pct"] == pytest.approx(100 * 128 / 576)
    assert v["expanded_gib"] * GIB == expanded
    assert v["topk"] == c["index_topk"]


def test_mamba_state_nemotron_by_hand():
    c = _cfg("Nemotron-3-Nano-30B-A3B")
    pattern = c["hybrid_override_pattern"]
    inner = c["mamba_num_heads"] * c["mamba_head_dim"]
    channels = inner + 2 * c["n_groups"] * c["ssm_state_size"]
    conv, ssm = channels * c["conv_kernel"], inner * c["ssm_state_size"]
    state = pattern.count("M") * (conv + ssm) * 4  # fp32
    per_token = pattern.count("*") * 2 * c["num_key_value_heads"] * c["head_dim"] * 2
    v = iv.answer("mamba-state-nemotron").values
    assert (v["channels"], v["conv_elems"], v["ssm_elems"]) == (channels, conv, ssm)
    assert (v["ssm_layers"], v["attn_layers"]) == (23, 6)
    assert v["state_mib"] * MIB == state and v["per_token_bytes"] == per_token == 6144
    assert v["crossover"] == -(-state // per_token)


def test_hybrid_against_llama_by_hand():
    n, ll = _cfg("Nemotron-3-Nano-30B-A3B"), _cfg("Llama-3.1-8B")
    t = 131072
    pattern = n["hybrid_override_pattern"]
    inner = n["mamba_num_heads"] * n["mamba_head_dim"]
    conv = (inner + 2 * n["n_groups"] * n["ssm_state_size"]) * n["conv_kernel"]
    seq_a = (
        pattern.count("*") * 2 * n["num_key_value_heads"] * n["head_dim"] * 2 * t
        + pattern.count("M") * (conv + inner * n["ssm_state_size"]) * 2
    )
    h, i, layers = ll["hidden_size"], ll["intermediate_size"], ll["num_hidden_layers"]
    kv_dim = ll["num_key_value_heads"] * h // ll["num_attention_heads"]
    llama = (
        2 * ll["vocab_size"] * h
        + layers * (2 * h * h + 2 * h * kv_dim + 3 * h * i + 2 * h)
        + h
    )
    seq_b = 2 * layers * kv_dim * 2 * t
    capacity = _gpu_row("H200 141GB")["reported_mib"] * MIB
    from vramlib.models import get_model

    weights_a = 2 * get_model("Nemotron-3-Nano-30B-A3B").param_count()
    v = iv.answer("hybrid-vs-llama").values
    assert v["a_seq_gib"] * GIB == seq_a and v["b_seq_gib"] * GIB == seq_b
    assert v["b_params_b"] * 1e9 == llama == 8_030_261_248
    assert v["a_seqs"] == (capacity - weights_a) // seq_a
    assert v["b_seqs"] == (capacity - 2 * llama) // seq_b


def test_experts_on_cpu_by_hand():
    params, expert_w, row = _gpt_oss_120b()
    c = _cfg("gpt-oss-120b")
    e, i, h = c["num_local_experts"], c["intermediate_size"], c["hidden_size"]
    experts = expert_w * 17 // 32 + 36 * e * (2 * i + h) * 2  # MXFP4, biases in bf16
    weights = 2 * (params - expert_w) + expert_w * 17 // 32
    sliding = c["layer_types"].count("sliding_attention")
    kv = sliding * row * 128 + (36 - sliding) * row * 131072
    v = iv.answer("experts-on-cpu").values
    assert v["experts_gb"] * 1e9 == pytest.approx(experts, rel=1e-15)
    assert v["rest_gb"] * 1e9 == pytest.approx(weights - experts, rel=1e-15)
    assert v["on_gpu_gib"] * GIB == pytest.approx(weights - experts + kv, rel=1e-15)
    assert v["capacity_gib"] * GIB == _gpu_row("RTX 3060 12GB")["reported_mib"] * MIB
    assert v["fits_word"] == "fits" and weights - experts + kv < 12 * GIB
    assert v["read_gb"] * 1e9 == experts * 4 // e


def test_unified_m3_ultra_by_hand():
    from vramlib import estimate

    row = _gpu_row("M3 Ultra 512GB")
    share = row["memory_bytes"] * 3 // 4  # macOS's default: 75 %
    assert share == row["gpu_usable_bytes"] == 384 * GIB
    v = iv.answer("unified-m3-ultra").values
    assert v["per_token_kib"] * 1024 == 61 * (512 + 64 + 128) * 2
    t = v["context_share"]

    def total(tokens):
        return estimate(
            "DeepSeek-V3.2", precision="Q4_0", context=tokens, prefill_chunk=8192
        ).total_bytes

    assert total(t) <= share < total(t + 1)
    assert v["context_pool"] == _cfg("DeepSeek-V3.2")["max_position_embeddings"]
    assert total(v["context_pool"]) <= row["memory_bytes"]


def test_new_computations_refuse_models_without_the_feature():
    with pytest.raises(ValueError, match="no attention sinks"):
        iv.COMPUTE["sinks"](model="Llama-3.1-8B", sink_tokens=4)
    with pytest.raises(ValueError, match="no sparse-attention indexer"):
        iv.COMPUTE["indexer"](model="DeepSeek-V3", context=1024)
    with pytest.raises(ValueError, match="not a hybrid"):
        iv.COMPUTE["hybrid"](model="Llama-3.1-8B", context=1024)
    with pytest.raises(ValueError, match="no Mamba-2"):
        iv.COMPUTE["mamba_state"](model="Qwen3-Next-80B-A3B")
    with pytest.raises(ValueError, match="no experts"):
        iv.COMPUTE["experts_on_cpu"](model="Llama-3.1-8B", gpu="RTX 4090", context=1024)
    with pytest.raises(ValueError, match="not a unified-memory"):
        iv.COMPUTE["unified"](model="Llama-3.1-8B", gpu="H100", context=1024)
    with pytest.raises(ValueError, match="no recorded GPU share"):
        iv.COMPUTE["unified_context"](
            model="Llama-3.1-8B", gpu="DGX Spark", precision="bf16"
        )
