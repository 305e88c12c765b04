"""MkDocs hook: the command-line reference, generated from the Typer application at build time.

A page that contains the line ``<!-- cli-reference -->`` gets, in its place, every command of
``emergence-lens`` — its help, usage and a table of its options (hidden old spellings left out) —
read from the application object itself, so the page cannot drift from ``--help``.
"""

from __future__ import annotations

from typing import Any

MARKER = "<!-- cli-reference -->"


def _cell(text: object) -> str:
    return str(text).replace("|", "&#x7C;").replace("\n", " ").strip()


def cli_markdown() -> str:
    """Markdown for every command of the application, in ``--help`` order, grouped by panel."""
    import typer

    from emergence_lens.cli.main import COMMANDS, app

    group = typer.main.get_command(app)
    ctx = group.context_class(group, info_name="emergence-lens")
    out: list[str] = []
    panel = None
    for _, name, command_panel in COMMANDS:
        if command_panel != panel:
            panel = command_panel
            out += [f"## {panel}", ""]
        cmd = group.commands[name]
        sub = cmd.context_class(cmd, info_name=name, parent=ctx)
        out += [f"### `{name}`", "", (cmd.help or "").strip(), "", "```text",
                " ".join(cmd.collect_usage_pieces(sub)).join([f"emergence-lens {name} ", ""]), "```", ""]
        rows = []
        for p in cmd.get_params(sub):
            if getattr(p, "hidden", False) or p.name == "help":
                continue
            record = p.get_help_record(sub)
            if record is None:
                continue
            names, text = record
            default = p.default if not callable(p.default) else None
            shown = "" if default in (None, (), []) or getattr(p, "required", False) else f"`{default}`"
            kind = "argument" if p.param_type_name == "argument" else "option"
            rows.append(f"| `{_cell(names)}` | {kind} | {_cell(text)} | {shown} |")
        if rows:
            out += ["| name | | description | default |", "|---|---|---|---|", *rows, ""]
    return "\n".join(out)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, cli_markdown())
