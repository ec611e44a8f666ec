"""YAML for configs: a safe loader that refuses aliases and duplicate keys, and one-line descriptions of its errors."""

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

    def construct_mapping(self, node, deep=False):
        # PyYAML keeps the last of two equal keys without a word; in a config that is a typo (`window: 28`
        # then `window: 14`) that would train with a value the user may not have meant, so refuse it.
        if isinstance(node, yaml.MappingNode):
            seen: dict[tuple[str, str], int] = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue
                key, line = (key_node.tag, key_node.value), key_node.start_mark.line + 1
                if key in seen:
                    raise DuplicateKey(f"duplicate key {show(key_node.value, 40)} at line {line} (first at line "
                                       f"{seen[key]}); keep one of them")
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


class DuplicateKey(yaml.YAMLError):
    """A mapping that names the same key twice; the message names the key and both lines."""


def safe_yaml(text: str) -> Any:
    """Parse YAML without aliases or arbitrary objects; raises yaml.YAMLError."""
    return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass


def yaml_problem(exc: yaml.YAMLError) -> str:
    if isinstance(exc, DuplicateKey):  # its own message names the key and both lines
        return str(exc)
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        return f"{getattr(exc, 'problem', None) or 'syntax error'} at line {mark.line + 1}"
    return show(str(exc), 120).strip("'\"")
