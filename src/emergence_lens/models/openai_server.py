"""An OpenAI-compatible server for a local Hugging Face-format model: ``/v1/completions``,
``/v1/chat/completions`` and ``/v1/models``, as the field's clients read them (lm-eval's
``local-completions`` and ``local-chat-completions``, the ``openai`` client, Inspect's OpenAI provider)::

    emergence-lens serve --model runs/arithmetic/ladder/ladder-08 --port 8000

* Completions: greedy decoding only (``temperature`` 0 or absent), ``max_tokens`` (clamped to what the
  model's context leaves after the prompt; a prompt longer than the context is a 400), ``stop`` (a
  string or up to four), ``echo``, ``logprobs: k`` (0-5: each position's log-prob and its ``k`` most
  likely tokens in ``top_logprobs``, as lm-eval's log-likelihood requests read them), ``n`` 1, and
  ``usage`` token counts.  Prompts are text (lm-eval: ``tokenized_requests=False``).
* Chat completions: ``messages`` of ``{role, content}`` rendered with the model's chat template, or,
  where the tokenizer has none, passed through as the concatenated contents (the shipped ladder was
  trained on ``a+b=``, not on chat turns).
* Every malformed request gets a JSON 4xx (``{"error": {"message", "type"}}``): a body that is not a
  JSON object or is over :data:`MAX_BODY` bytes, a field of the wrong type, an unknown path.  A client
  that sends less than it announced times out (:data:`READ_TIMEOUT` seconds) and blocks no one else:
  each connection has its own thread, and the model's lock is held only while it computes.
* It binds 127.0.0.1 by default; bound elsewhere it warns, and ``--api-key`` makes every request carry
  ``Authorization: Bearer KEY``.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from emergence_lens.models.backends.base import BackendError

__all__ = ["make_server", "serve_in_thread", "RequestError", "MAX_BODY", "READ_TIMEOUT", "is_loopback"]

#: The largest request body read (bytes); a larger ``Content-Length`` is a 413 before anything is read.
MAX_BODY = 1 << 20
#: Seconds a connection may stay silent while its request is read.
READ_TIMEOUT = 30.0
#: The most tokens a ``logprobs`` request may ask the top of (as OpenAI's completions API).
MAX_TOP_LOGPROBS = 5
#: The chat template for a tokenizer without one: the messages' contents, concatenated.
PASS_THROUGH_TEMPLATE = "{% for m in messages %}{{ m['content'] }}{% endfor %}"


class RequestError(ValueError):
    """A request the server answers with ``status`` and a one-line message."""

    def __init__(self, message: str, status: int = 400, kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (or ``localhost``)."""
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _field(body: dict[str, Any], name: str, kinds: tuple[type, ...], default: Any, what: str) -> Any:
    value = body.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
        raise RequestError(f"'{name}' must be {what}, got {json.dumps(value)[:60]}")
    return value


def _stops(body: dict[str, Any]) -> list[str]:
    stop = body.get("stop")
    if stop is None:
        return []
    stops = [stop] if isinstance(stop, str) else stop
    if not isinstance(stops, list) or len(stops) > 4 or not all(isinstance(s, str) and s for s in stops):
        raise RequestError("'stop' must be a non-empty string or a list of up to 4 of them")
    return stops


def _greedy(body: dict[str, Any]) -> None:
    temperature = _field(body, "temperature", (int, float), 0, "a number")
    if temperature != 0:
        raise RequestError("only greedy decoding is served: 'temperature' must be 0")
    if _field(body, "n", (int,), 1, "an integer") != 1:
        raise RequestError("'n' must be 1 (greedy decoding gives one completion)")


class _Model:
    """The backend behind a lock (one computation at a time), with its token counts."""

    def __init__(self, model_path: str | Path) -> None:
        from emergence_lens.models.backends.hf import HFBackend

        self.backend = HFBackend(model_path, device="cpu")
        self.name = Path(str(model_path)).name or str(model_path)
        self.lock = threading.Lock()
        self.context = self.backend.max_positions

    def tokens(self, text: str) -> int:
        return self.backend.token_count(text)

    def budget(self, prompt: str, max_tokens: int) -> tuple[int, int]:
        """``(prompt tokens, new tokens allowed)``: ``max_tokens`` clamped to the context left."""
        n = self.tokens(prompt)
        if self.context is not None and n >= self.context:
            raise RequestError(f"the prompt is {n} tokens; this model's context is {self.context} tokens")
        left = max_tokens if self.context is None else min(max_tokens, self.context - n)
        return n, max(0, left)

    def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        prompt = body.get("prompt", "")
        prompts = [prompt] if isinstance(prompt, str) else prompt
        if not isinstance(prompts, list) or not prompts or not all(isinstance(p, str) for p in prompts):
            raise RequestError("'prompt' must be a string or a non-empty list of strings (send text: lm-eval's "
                               "tokenized_requests=False)")
        _greedy(body)
        max_tokens = _field(body, "max_tokens", (int,), 16, "an integer")
        if max_tokens < 0:
            raise RequestError("'max_tokens' must be >= 0")
        stops = _stops(body)
        echo = _field(body, "echo", (bool,), False, "true or false")
        top = _field(body, "logprobs", (int,), None, "an integer from 0 to 5")
        if top is not None and not 0 <= top <= MAX_TOP_LOGPROBS:
            raise RequestError(f"'logprobs' must be from 0 to {MAX_TOP_LOGPROBS}")
        choices, used_prompt, used_completion = [], 0, 0
        for i, p in enumerate(prompts):
            n_prompt, allowed = self.budget(p, max_tokens)
            with self.lock:
                text = self.backend.generate([p], allowed, stops)[0] if allowed > 0 else ""
                full = p + text
                logprobs = None
                if top is not None:
                    toks, offs, vals, tops = self.backend.text_logprobs(full, top)
                    if not echo:  # only the completion's tokens
                        keep = [j for j, o in enumerate(offs) if o >= len(p)]
                        toks, vals, tops = [toks[j] for j in keep], [vals[j] for j in keep], [tops[j] for j in keep]
                        offs = [offs[j] - len(p) for j in keep]
                    logprobs = {"tokens": toks, "token_logprobs": vals,
                                "top_logprobs": tops if top > 0 else None, "text_offset": offs}
            n_completion = self.tokens(text) if text else 0
            used_prompt += n_prompt
            used_completion += n_completion
            # "stop": it ended before its allowance (end of text or a stop string); "length": it used it all
            choices.append({"index": i, "text": full if echo else text, "logprobs": logprobs,
                            "finish_reason": "stop" if n_completion < allowed else "length"})
        return {"id": f"cmpl-{time.time_ns()}", "object": "text_completion", "created": int(time.time()),
                "model": self.name, "choices": choices,
                "usage": {"prompt_tokens": used_prompt, "completion_tokens": used_completion,
                          "total_tokens": used_prompt + used_completion}}

    def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not all(
                isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
                for m in messages):
            raise RequestError("'messages' must be a non-empty list of {role, content} with text content")
        _greedy(body)
        if body.get("logprobs"):
            raise RequestError("log-probs are served on /v1/completions (echo, logprobs)")
        limit = body.get("max_completion_tokens", body.get("max_tokens"))
        max_tokens = _field({"max_tokens": limit}, "max_tokens", (int,), 256, "an integer")
        if max_tokens < 0:
            raise RequestError("'max_tokens' must be >= 0")
        stops = _stops(body)
        tok = self.backend.tokenizer
        template = getattr(tok, "chat_template", None) or PASS_THROUGH_TEMPLATE
        prompt = tok.apply_chat_template([{"role": m["role"], "content": m["content"]} for m in messages],
                                         chat_template=template, tokenize=False, add_generation_prompt=True)
        n_prompt, allowed = self.budget(prompt, max_tokens)
        with self.lock:
            text = self.backend.generate([prompt], allowed, stops)[0] if allowed > 0 else ""
        n_completion = self.tokens(text) if text else 0
        return {"id": f"chatcmpl-{time.time_ns()}", "object": "chat.completion", "created": int(time.time()),
                "model": self.name,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": "stop" if n_completion < allowed else "length"}],
                "usage": {"prompt_tokens": n_prompt, "completion_tokens": n_completion,
                          "total_tokens": n_prompt + n_completion}}


def make_server(model_path: str | Path, host: str = "127.0.0.1", port: int = 0, *, api_key: str | None = None,
                read_timeout: float = READ_TIMEOUT, max_body: int = MAX_BODY) -> ThreadingHTTPServer:
    """A server for ``model_path`` (port 0: any free port; see ``server.server_address``)."""
    model = _Model(model_path)

    class Handler(BaseHTTPRequestHandler):
        timeout = read_timeout  # a silent client times out; the others are served meanwhile
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _send(self, code: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if code >= 400:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(data)

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            """Malformed request lines and headers answered in JSON, like every other error (with a
            status line, also to a request line that named no HTTP version)."""
            if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
                self.request_version = "HTTP/1.0"
            try:
                self._send(code, {"error": {"message": message or explain or "bad request",
                                            "type": "invalid_request_error"}})
            except OSError:
                self.close_connection = True

        def _authorised(self) -> bool:
            if api_key is None:
                return True
            given = self.headers.get("Authorization", "")
            return hmac.compare_digest(given.encode(), f"Bearer {api_key}".encode())

        def _body(self) -> dict[str, Any]:
            raw_length = self.headers.get("Content-Length")
            if raw_length is None:
                raise RequestError("a request body with Content-Length is required", 411)
            try:
                length = int(raw_length)
            except ValueError:
                raise RequestError(f"Content-Length {raw_length[:20]!r} is not a number") from None
            if length < 0:
                raise RequestError("Content-Length is negative")
            if length > max_body:
                raise RequestError(f"the body is {length} bytes; at most {max_body} are read", 413)
            data = self.rfile.read(length)
            if len(data) < length:
                raise RequestError("the body ended before its Content-Length", 400)
            try:
                body = json.loads(data or b"{}")
            except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
                raise RequestError(f"the body is not JSON ({str(exc)[:80]})") from None
            if not isinstance(body, dict):
                raise RequestError("the body must be a JSON object")
            return body

        def _answer(self, route) -> None:  # noqa: ANN001
            try:
                if not self._authorised():
                    raise RequestError("missing or wrong API key (Authorization: Bearer KEY)", 401,
                                       "authentication_error")
                self._send(200, route())
            except RequestError as exc:
                self._send(exc.status, {"error": {"message": str(exc), "type": exc.kind}})
            except BackendError as exc:
                self._send(400, {"error": {"message": str(exc), "type": "invalid_request_error"}})
            except TimeoutError:
                self.close_connection = True  # a silent client: its connection is dropped, nobody waits
            except OSError:
                self.close_connection = True
            except Exception as exc:  # noqa: BLE001 - a server answers, it never drops a request with a traceback
                self._send(500, {"error": {"message": f"{type(exc).__name__}: {str(exc)[:200]}",
                                           "type": "server_error"}})

        def do_POST(self) -> None:  # noqa: N802
            path = self.path.split("?", 1)[0].rstrip("/")
            routes = {"/v1/completions": model.complete, "/completions": model.complete,
                      "/v1/chat/completions": model.chat, "/chat/completions": model.chat}
            if path in routes:
                self._answer(lambda: routes[path](self._body()))
            else:
                self._answer(lambda: self._unknown({}))

        def do_GET(self) -> None:  # noqa: N802
            if self.path.split("?", 1)[0].rstrip("/") in ("/v1/models", "/models"):
                self._answer(lambda: {"object": "list", "data": [{"id": model.name, "object": "model",
                                                                  "owned_by": "emergence-lens"}]})
                return
            self._answer(lambda: self._unknown({}))

        def _unknown(self, _body: dict[str, Any]) -> dict[str, Any]:
            raise RequestError(f"unknown path {self.path[:80]}", 404, "not_found")

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def serve_in_thread(model_path: str | Path, host: str = "127.0.0.1", **kwargs: Any) -> tuple[ThreadingHTTPServer, str]:
    """Start a server on a free port in a daemon thread; return it and its base URL (``.../v1``)."""
    server = make_server(model_path, host, 0, **kwargs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    h, p = server.server_address[:2]
    return server, f"http://{h}:{p}/v1"
