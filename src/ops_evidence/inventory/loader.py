"""Load an inventory YAML file; every error names the file, the line and the key path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ops_evidence.errors import ConfigError
from ops_evidence.inventory.models import Inventory
from ops_evidence.inventory.references import Loc, reference_problems


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys instead of keeping the last one."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def load_inventory(path: Path) -> Inventory:
    """Parse and validate an inventory file, or raise ConfigError listing every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read inventory: {exc.strerror}") from None
    try:
        root = yaml.compose(text, Loader=_UniqueKeyLoader)
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        # Only the problem and position: the snippet could quote a secret.
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"{where}: YAML syntax error: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: YAML error: {type(exc).__name__}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: the inventory must be a mapping at the top level")
    try:
        inventory = Inventory.model_validate(data)
    except ValidationError as exc:
        problems = [
            _locate(path, root, data, tuple(err["loc"]), _message(err)) for err in exc.errors()
        ]
        raise ConfigError(f"{path}: invalid inventory", problems=problems) from None
    problems = [_locate(path, root, data, loc, msg) for loc, msg in reference_problems(inventory)]
    if problems:
        raise ConfigError(f"{path}: invalid inventory", problems=problems)
    return inventory


def _message(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _locate(path: Path, root: yaml.Node | None, data: Any, loc: Loc, message: str) -> str:
    """`file:line: key.path (id): message`, following `loc` through the YAML node tree."""
    node, value, line = root, data, 1
    parts: list[str] = []
    for index, step in enumerate(loc):
        if isinstance(node, yaml.MappingNode) and isinstance(step, str):
            child = next(((k, v) for k, v in node.value if k.value == step), None)
            if child is None and index == len(loc) - 1:
                # A required key that is missing: name it, at its parent's line.
                parts.append(f".{step}" if parts else step)
                continue
            if child is None:
                continue  # a union tag pydantic adds to the path; not in the file
            line = child[0].start_mark.line + 1
            node, value = child[1], value.get(step) if isinstance(value, dict) else None
            parts.append(f".{step}" if parts else step)
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value)
        ):
            node = node.value[step]
            line = node.start_mark.line + 1
            value = value[step] if isinstance(value, list) else None
            label = f"[{step}]"
            if isinstance(value, dict) and isinstance(value.get("id"), str):
                label += f" ({value['id']})"
            parts.append(label)
    where = "".join(parts) or "(top level)"
    return f"{path}:{line}: {where}: {message}"
