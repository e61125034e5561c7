"""Element types as checkpoint files name them, and their sizes in bytes.

safetensors names its dtypes in a header (``"BF16"``, ``"F8_E4M3"``, ...); Hugging Face
configs name the model's own in ``torch_dtype`` (``"bfloat16"``). Both map here to bytes
per element. Sources: the safetensors format description
(https://github.com/huggingface/safetensors, its ``Dtype`` enum in
``safetensors/src/tensor.rs``) and PyTorch's dtype sizes.
"""

from __future__ import annotations

from fractions import Fraction

#: bytes per element of each safetensors dtype (F4: fp4 e2m1, two per byte)
SAFETENSORS_BYTES: dict[str, Fraction] = {
    "BOOL": Fraction(1),
    "U8": Fraction(1),
    "I8": Fraction(1),
    "F8_E4M3": Fraction(1),
    "F8_E5M2": Fraction(1),
    "F8_E8M0": Fraction(1),
    "I16": Fraction(2),
    "U16": Fraction(2),
    "F16": Fraction(2),
    "BF16": Fraction(2),
    "I32": Fraction(4),
    "U32": Fraction(4),
    "F32": Fraction(4),
    "I64": Fraction(8),
    "U64": Fraction(8),
    "F64": Fraction(8),
    "C64": Fraction(8),
    "F4": Fraction(1, 2),
    "F6_E2M3": Fraction(3, 4),
    "F6_E3M2": Fraction(3, 4),
}

#: a config's ``torch_dtype`` / ``dtype`` -> the safetensors name of the same type
TORCH_TO_SAFETENSORS = {
    "bfloat16": "BF16",
    "float16": "F16",
    "half": "F16",
    "float32": "F32",
    "float": "F32",
    "float8_e4m3fn": "F8_E4M3",
    "float8_e5m2": "F8_E5M2",
    "int8": "I8",
    "uint8": "U8",
    "int32": "I32",
    "int64": "I64",
    "float64": "F64",
}

#: the precision name vramlib's formats use for a 16- or 32-bit checkpoint dtype
VRAMLIB_NAME = {"BF16": "bf16", "F16": "fp16", "F32": "fp32"}


def nbytes(dtype: str, elements: int) -> int:
    """Bytes of ``elements`` values of safetensors ``dtype`` (sub-byte types rounded
    up)."""
    per = SAFETENSORS_BYTES[dtype]
    return -(-elements * per.numerator // per.denominator)


def model_dtype(cfg: dict) -> str:
    """The safetensors name of a config's own dtype (``torch_dtype``, or ``dtype`` as
    transformers 5 writes it); ``"BF16"`` when the config names none. An unknown name is
    an
    error naming the key."""
    for key in ("torch_dtype", "dtype"):
        value = cfg.get(key)
        if value is None:
            continue
        if (
            not isinstance(value, str)
            or value.removeprefix("torch.") not in TORCH_TO_SAFETENSORS
        ):
            raise ValueError(
                f"config key {key!r} is {value!r}, not a dtype vramlib knows "
                f"(accepted: {', '.join(sorted(TORCH_TO_SAFETENSORS))})"
            )
        return TORCH_TO_SAFETENSORS[value.removeprefix("torch.")]
    return "BF16"
