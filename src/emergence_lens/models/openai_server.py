"""A small OpenAI-compatible ``/v1/completions`` server for a local Hugging Face-format model.

Greedy decoding only (``temperature`` must be 0), ``stop``, ``max_tokens``, ``echo`` and
``logprobs`` (token log-probs; ``top_logprobs`` left empty).  It binds 127.0.0.1 by default.
Used by the tests of the OpenAI backend and handy for serving a ladder model::

    emergence-lens serve --model runs/arithmetic/ladder/ladder-08 --port 8000
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from emergence_lens.models.backends.hf import HFBackend

__all__ = ["make_server", "serve_in_thread"]


def _completion(backend: HFBackend, body: dict) -> dict:
    prompts = body.get("prompt", "")
    prompts = [prompts] if isinstance(prompts, str) else list(prompts)
    if not all(isinstance(p, str) for p in prompts):
        raise ValueError("prompt must be a string or a list of strings")
    if float(body.get("temperature", 1.0) or 0.0) != 0.0:
        raise ValueError("only greedy decoding (temperature 0) is supported")
    max_tokens = int(body.get("max_tokens", 16) or 0)
    stop = body.get("stop") or []
    stop = [stop] if isinstance(stop, str) else list(stop)
    echo = bool(body.get("echo", False))
    want_lp = body.get("logprobs") is not None
    texts = backend.generate(prompts, max_tokens, stop) if max_tokens > 0 else [""] * len(prompts)
    choices = []
    for i, (p, t) in enumerate(zip(prompts, texts, strict=True)):
        full = p + t
        text = full if echo else t
        lp = None
        if want_lp:
            toks, offs, vals = backend.text_logprobs(full)
            if not echo:
                keep = [j for j, o in enumerate(offs) if o >= len(p)]
                toks = [toks[j] for j in keep]
                vals = [vals[j] for j in keep]
                offs = [offs[j] - len(p) for j in keep]
            lp = {"tokens": toks, "token_logprobs": vals, "top_logprobs": None, "text_offset": offs}
        choices.append({"index": i, "text": text, "logprobs": lp,
                        "finish_reason": "stop" if max_tokens == 0 or len(t) < max_tokens else "length"})
    return {"id": f"cmpl-{int(time.time() * 1000)}", "object": "text_completion", "created": int(time.time()),
            "model": body.get("model", backend.name), "choices": choices,
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}}


def make_server(model_path: str | Path, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """A server for ``model_path`` (port 0: any free port; see ``server.server_address``)."""
    backend = HFBackend(model_path, device="cpu")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def _send(self, code: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802
            if self.path.rstrip("/") not in ("/v1/completions", "/completions"):
                self._send(404, {"error": {"message": f"unknown path {self.path}", "type": "not_found"}})
                return
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with lock:
                    result = _completion(backend, body)
            except (ValueError, json.JSONDecodeError) as exc:
                self._send(400, {"error": {"message": str(exc), "type": "invalid_request_error"}})
                return
            self._send(200, result)

    return ThreadingHTTPServer((host, port), Handler)


def serve_in_thread(model_path: str | Path, host: str = "127.0.0.1") -> tuple[ThreadingHTTPServer, str]:
    """Start a server on a free port in a daemon thread; return it and its base URL (``.../v1``)."""
    server = make_server(model_path, host, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    h, p = server.server_address[:2]
    return server, f"http://{h}:{p}/v1"
