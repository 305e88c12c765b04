"""``emergence-lens serve``: a local model on an OpenAI-compatible endpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from emergence_lens.cli.common import require, say


def serve(
    model: Annotated[Path, typer.Option(help="Local Hugging Face-format model directory.")],
    host: Annotated[str, typer.Option(help="Bind address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
) -> None:
    """Serve a local model on an OpenAI-compatible /v1/completions endpoint (greedy, logprobs, echo)."""
    require("train", "'serve'")
    from emergence_lens.models.openai_server import make_server

    server = make_server(model, host, port)
    say(f"serving {model} on http://{host}:{server.server_address[1]}/v1 (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.shutdown()
