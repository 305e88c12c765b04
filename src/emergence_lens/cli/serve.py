"""``emergence-lens serve``: a local model on an OpenAI-compatible endpoint."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from emergence_lens.cli.common import console, fail, require, say


def serve(
    model: Annotated[Path, typer.Option(help="Local Hugging Face-format model directory.")],
    host: Annotated[str, typer.Option(help="Bind address (127.0.0.1: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    api_key: Annotated[str | None, typer.Option(
        help="Require 'Authorization: Bearer KEY' on every request (default: the EMERGENCE_LENS_API_KEY "
             "environment variable, if set).")] = None,
) -> None:
    """Serve a local model on OpenAI-compatible /v1/completions, /v1/chat/completions and /v1/models
    (greedy decoding, echo, logprobs with top_logprobs, usage counts)."""
    require("train", "'serve'")
    from emergence_lens.models.openai_server import is_loopback, make_server

    key = api_key or os.environ.get("EMERGENCE_LENS_API_KEY") or None
    if not model.is_dir():
        fail(f"--model {model}: not a model directory")
    if not is_loopback(host):
        console.print(f"[bold yellow]warning:[/] bound to {host}: other machines can reach this server"
                      + ("; every request must carry the API key" if key else
                         " and nothing asks them for a key (give --api-key)"))
    server = make_server(model, host, port, api_key=key)
    say(f"serving {model} on http://{host}:{server.server_address[1]}/v1 (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.shutdown()
