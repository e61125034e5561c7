import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vramlib.cli import main
from vramlib.estimate import estimate

ROOT = Path(__file__).resolve().parents[1]


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "vramlib", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def test_breakdown_and_fit():
    r = cli("Llama-3.1-8B", "--gpu", "RTX 4090")
    assert r.returncode == 0, r.stderr
    assert "GB (10^9 B)" in r.stdout and "GiB (2^30 B)" in r.stdout
    assert "fits on 1 x RTX 4090" in r.stdout
    assert "longest context that fits" in r.stdout


def test_json_matches_the_library():
    r = cli("Llama-3.1-8B", "--context", "8192", "--batch", "2", "--json")
    data = json.loads(r.stdout)
    assert (
        data["estimate"]["total_bytes"]
        == estimate("Llama-3.1-8B", context=8192, batch=2).total_bytes
    )


def test_config_file(tmp_path):
    cfg = {
        "model_type": "llama",
        "vocab_size": 1000,
        "hidden_size": 256,
        "intermediate_size": 512,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
    }
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    r = cli("--config", str(tmp_path), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["estimate"]["context"] == 4096


@pytest.mark.parametrize("flag", ["--list-models", "--list-gpus", "--list-formats"])
def test_listings(flag):
    r = cli(flag)
    assert r.returncode == 0 and len(r.stdout.splitlines()) > 10


@pytest.mark.parametrize(
    "args,needle",
    [
        (["lama-3.1-8b"], "Did you mean 'Llama-3.1-8B'"),
        (["Llama-3.1-8B", "--gpu", "h10"], "for --gpu. Did you mean 'H100"),
        (["Llama-3.1-8B", "--precision", "fp9"], "for --precision. Did you mean 'fp8'"),
        (["Llama-3.1-8B", "--kv-dtype", "q4"], "for --kv-dtype. Did you mean 'q4_0'"),
        (["Llama-3.1-8B", "--context", "12k"], "--context must be a whole number"),
        (["Llama-3.1-8B", "--context", "0"], "--context must be at least 1"),
        (["Llama-3.1-8B", "--batch", "-2"], "--batch must be at least 1"),
        (
            ["Llama-3.1-8B", "--gpu", "H100", "--gpus", "two"],
            "--gpus must be a whole number",
        ),
        (
            ["Llama-3.1-8B", "--gpu", "H100", "--utilization", "2"],
            "gpu_memory_utilization",
        ),
        (
            ["Llama-3.1-8B", "--utilization", "x", "--gpu", "H100"],
            "--utilization must be a number",
        ),
        (["Llama-3.1-8B", "--overhead", "flatt"], "invalid choice"),
        (["Llama-3.1-8B", "--bogus"], "unrecognized arguments"),
        ([], "give a model name or --config"),
        (["Llama-3.1-8B", "--config", "x.json"], "give a model name or --config"),
        (["--config", "/nonexistent/config.json"], "nonexistent"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, needle):
    r = cli(*args)
    assert r.returncode == 2
    assert r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert needle.lower() in r.stderr.lower()
    assert "Traceback" not in r.stderr


def test_main_returns_status_without_exiting(capsys):
    assert main(["Llama-3.1-8B", "--batch", "0"]) == 2
    assert "batch" in capsys.readouterr().err


def test_answers_in_well_under_a_second():
    start = time.perf_counter()
    r = cli("Llama-3.1-70B", "--gpu", "H100", "--context", "32768")
    assert r.returncode == 0
    assert time.perf_counter() - start < 1.5  # the process start included


def test_a_command_line_answer_loads_only_what_it_needs():
    """The sizer, the 2025-2026 families' readers and the rarer layer kinds are
    imported on first use, so that ``python -m vramlib MODEL`` starts quickly."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "vramlib", "Llama-3.1-8B"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert out.returncode == 0
    loaded = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines()}
    assert "vramlib.estimate" in loaded
    for lazy in ("vramlib.sizing", "vramlib.families.hybrid", "vramlib.layers.ssm"):
        assert lazy not in loaded
