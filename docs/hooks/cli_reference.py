"""MkDocs hook: replace ``<!-- cli-reference -->`` with the help of every ``xaixray`` command.

The text comes from the argument parsers themselves, so the reference cannot drift from the code.
"""

from __future__ import annotations

import argparse

MARKER = "<!-- cli-reference -->"


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse keeps sub-parsers only here
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def cli_reference() -> str:
    """Markdown: the main help, then one section per command."""
    import os

    from xaixray.cli import build_parser

    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal width
    parser = build_parser()
    parts = ["## xaixray", "```text", parser.format_help().rstrip(), "```"]
    for name, sub in _subcommands(parser).items():
        parts += [f"## xaixray {name}", "```text", sub.format_help().rstrip(), "```"]
    return "\n".join(parts) + "\n"


def on_page_markdown(markdown: str, **kwargs: object) -> str:
    return markdown.replace(MARKER, cli_reference()) if MARKER in markdown else markdown
