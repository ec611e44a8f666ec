"""YAML for configs: a safe loader that refuses aliases, and one-line descriptions of its errors."""

from __future__ import annotations

from typing import Any

import yaml


def show(value: Any, limit: int = 60) -> str:
    """repr(value) cut to `limit` characters, so an error stays one readable line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases (`*name`): a config never needs them, and nested aliases
    ("billion laughs") expand a few hundred bytes into gigabytes of memory."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.YAMLError(f"YAML aliases (*name) are not allowed, at line {mark.line + 1}")
        return super().compose_node(parent, index)


def safe_yaml(text: str) -> Any:
    """Parse YAML without aliases or arbitrary objects; raises yaml.YAMLError."""
    return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass


def yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        return f"{getattr(exc, 'problem', None) or 'syntax error'} at line {mark.line + 1}"
    return show(str(exc), 120).strip("'\"")
