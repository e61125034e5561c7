"""A stand-in for the Hugging Face Hub on 127.0.0.1, for tests that look models up by id.

It answers the Hub's download URLs, ``/{org}/{name}/resolve/{revision}/{file}``, from the
``FILES`` below (404 for anything else, 401 for ``org/gated``) and records every path
asked for in ``requests``. Nothing leaves this machine.
"""

from __future__ import annotations

import json
import re
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# A tiny llama: V=1000, H=256, I=512, L=2, 4 query heads and 1 KV head of 64
TINY_CONFIG = {
    "model_type": "llama",
    "vocab_size": 1000,
    "hidden_size": 256,
    "intermediate_size": 512,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 1,
    "max_position_embeddings": 4096,
    "torch_dtype": "bfloat16",
}
V, H, I, L, NH, NKV, D = 1000, 256, 512, 2, 4, 1, 64
# embedding and LM head, then per layer q, o (H x NH D), k, v (H x NKV D), the MLP, 2 norms
TINY_PARAMS = 2 * V * H + L * (2 * H * NH * D + 2 * H * NKV * D + 3 * H * I + 2 * H) + H

FILES = {"org/tiny": {"config.json": json.dumps(TINY_CONFIG).encode()}}


REQUESTS: list[str] = []  # the paths asked for, in order


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        REQUESTS.append(self.path)
        m = re.match(r"^/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$", self.path)
        code, data = 404, b""
        if m and m.group(1) == "org/gated":
            code = 401
        elif m and m.group(3) in FILES.get(m.group(1), {}):
            code, data = 200, FILES[m.group(1)][m.group(3)]
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextmanager
def serve():
    """Run the stand-in; yields (endpoint URL, the list of paths requested)."""
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    REQUESTS.clear()
    try:
        yield f"http://127.0.0.1:{srv.server_port}", REQUESTS
    finally:
        srv.shutdown()
        srv.server_close()


def closed_port_endpoint() -> str:
    """An endpoint on 127.0.0.1 where nothing listens (a port just freed)."""
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    port = srv.server_port
    srv.server_close()
    return f"http://127.0.0.1:{port}"
