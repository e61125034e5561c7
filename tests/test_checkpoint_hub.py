"""The Hub by id, against a real HTTP server on 127.0.0.1 serving fixture repositories
in the
Hub's URL layout (/{repo}/resolve/{revision}/{file}); nothing leaves this machine."""

import json
import re
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from checkpoint_files import safetensors_bytes
from vramlib import estimate, get_model
from vramlib.checkpoint import hub

ROOT = Path(__file__).resolve().parents[1]
CFG = {
    "model_type": "llama",
    "vocab_size": 1000,
    "hidden_size": 256,
    "intermediate_size": 512,
    "num_hidden_layers": 1,
    "num_attention_heads": 4,
    "num_key_value_heads": 1,
    "torch_dtype": "bfloat16",
    "quantization_config": {"quant_method": "fp8", "weight_block_size": [128, 128]},
}
SHARD_1 = safetensors_bytes({"model.embed_tokens.weight": ("BF16", (1000, 256))})
SHARD_2 = safetensors_bytes(
    {"lm_head.weight": ("BF16", (1000, 256)), "model.norm.weight": ("BF16", (256,))}
)
FILES = {
    "org/quant": {
        "config.json": json.dumps(CFG).encode(),
        "model.safetensors.index.json": json.dumps(
            {
                "metadata": {"total_size": 1_024_512},
                "weight_map": {
                    "model.embed_tokens.weight": "a.safetensors",
                    "lm_head.weight": "b.safetensors",
                    "model.norm.weight": "b.safetensors",
                },
            }
        ).encode(),
        "a.safetensors": SHARD_1,
        "b.safetensors": SHARD_2,
    },
    "org/single": {
        "config.json": json.dumps(
            {k: v for k, v in CFG.items() if k != "quantization_config"}
        ).encode(),
        "model.safetensors": SHARD_2,
    },
    "org/noconfig": {},
}


class Handler(BaseHTTPRequestHandler):
    log = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        Handler.log.append(
            (self.path, self.headers.get("Authorization"), self.headers.get("Range"))
        )
        m = re.match(r"^/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$", self.path)
        if self.path.startswith("/cdn/"):
            repo, name = self.path[5:].rsplit("/", 1)
            return self._send(FILES["org/" + repo.split("/")[-1]][name])
        if not m:
            return self._status(404)
        repo, rev, name = m.groups()
        if repo == "org/gated":
            return self._status(401)
        if repo == "org/slow":
            time.sleep(2)
            return self._status(404)
        if repo == "org/moved":
            self.send_response(307)
            self.send_header("Location", f"/org/single/resolve/{rev}/{name}")
            self.end_headers()
            return None
        if repo not in FILES or rev not in ("main", "v1") or name not in FILES[repo]:
            return self._status(404)
        data = FILES[repo][name]
        if name.endswith(".safetensors") and repo == "org/quant":
            # large files go to a CDN host, as the Hub does: the token must not follow
            self.send_response(302)
            self.send_header(
                "Location",
                f"http://localhost:{self.server.server_port}/cdn/{repo}/{name}",
            )
            self.end_headers()
            return None
        return self._send(data)

    def _send(self, data):
        rng = self.headers.get("Range")
        if rng:
            a, b = map(int, rng.removeprefix("bytes=").split("-"))
            part = data[a : b + 1]
            self.send_response(206)
            self.send_header(
                "Content-Range", f"bytes {a}-{a + len(part) - 1}/{len(data)}"
            )
            data = part
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _status(self, code):
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def hub_env(server, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", server)
    monkeypatch.setenv("VRAMLIB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_TOKEN", "secret")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("VRAMLIB_HUB_TIMEOUT", "5")
    Handler.log.clear()
    return server


def test_sharded_repo_headers_by_range_requests(hub_env):
    got = hub.fetch("org/quant")
    assert got.index_total_size == 1_024_512
    assert got.tensors.total_bytes == 2 * (2 * 1000 * 256) + 2 * 256
    ranges = [r for p, _, r in Handler.log if r and p.startswith("/cdn/")]
    assert ranges.count("bytes=0-7") == 2 and len(ranges) == 4  # two per shard
    # the token goes to the endpoint's host, never to the CDN host it redirects to
    assert all(
        auth == "Bearer secret" for p, auth, _ in Handler.log if "/resolve/" in p
    )
    assert all(auth is None for p, auth, _ in Handler.log if p.startswith("/cdn/"))


def test_get_model_falls_back_to_the_hub_and_sizes_as_published(hub_env):
    spec = get_model("org/quant")
    assert spec.name == "org/quant" and spec.checkpoint.stored_bytes == 1_024_512
    assert estimate(spec).precision == "as published: fp8 block 128x128 + bf16"


def test_single_file_repo_and_revision(hub_env):
    spec = get_model("org/single@v1")
    assert spec.checkpoint.stored_bytes == 2 * 1000 * 256 + 2 * 256
    assert any("/resolve/v1/" in p for p, _, _ in Handler.log)


def test_cache_serves_offline(hub_env, monkeypatch):
    get_model("org/single")
    Handler.log.clear()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert get_model("org/single").checkpoint.stored_bytes == 2 * 1000 * 256 + 2 * 256
    assert Handler.log == []
    with pytest.raises(ValueError, match="offline"):
        get_model("org/quant")


def test_redirects_are_followed(hub_env):
    assert get_model("org/moved").checkpoint.stored_bytes == 2 * 1000 * 256 + 2 * 256


@pytest.mark.parametrize(
    "repo, words",
    [
        ("org/gated", "gated or private"),
        ("org/missing", "HTTP 404"),
        ("org/noconfig", "no config.json"),
    ],
)
def test_failures_are_one_clear_line(hub_env, repo, words):
    with pytest.raises(ValueError, match=words) as err:
        get_model(repo)
    assert "\n" not in str(err.value)


def test_timeout(hub_env, monkeypatch):
    monkeypatch.setenv("VRAMLIB_HUB_TIMEOUT", "0.3")
    with pytest.raises(ValueError, match="timed out"):
        get_model("org/slow")


def test_unreachable_endpoint(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("VRAMLIB_CACHE", str(tmp_path))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(ValueError, match="cannot reach"):
        get_model("org/anything")


def test_cli_exit_2_one_line(hub_env, tmp_path):
    env = {
        "HF_ENDPOINT": hub_env,
        "VRAMLIB_CACHE": str(tmp_path / "cli-cache"),
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
    }
    r = subprocess.run(
        [sys.executable, "-m", "vramlib", "org/gated"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "gated" in r.stderr
    r = subprocess.run(
        [sys.executable, "-m", "vramlib", "org/single"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr


def test_not_a_repo_id():
    assert not hub.is_repo_id("../etc") and not hub.is_repo_id("a/b/c")
    assert hub.is_repo_id("Qwen/Qwen3-8B") and hub.is_repo_id("org/name@v1.0")
