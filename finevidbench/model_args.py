"""`MODEL_ARGS` strings (`key=value,key=value`): the one parser and the one writer.

lmms-eval hands every model such a string; the harness also reads them (a submission's model, a
merged copy's base) and writes them (a recipe's frame policy, the answer store). All of it goes
through here, with lmms-eval's rules: commas inside quotes, brackets or braces stay in the value
(`gen_kwargs={"a":1,"b":2}`), and `true`/`false`/numbers become Python values for the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar

Group = TypeVar("Group")


class ModelArgsError(ValueError):
    """A model-arguments string is malformed; the message shows the part and the fix."""


def _split(text: str) -> list[str]:
    """Split on the commas outside quotes, brackets and braces."""
    parts: list[str] = []
    current: list[str] = []
    depth, quote = 0, None
    for position, char in enumerate(text):
        escaped = position > 0 and text[position - 1] == "\\"
        if char in "\"'" and not escaped and quote in (None, char):
            quote = None if quote else char
        elif quote is None and char in "{[":
            depth += 1
        elif quote is None and char in "}]":
            depth -= 1
        elif quote is None and char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    return [part for part in parts if part]


def parse_model_args(text: str | None, name: str = "MODEL_ARGS") -> dict[str, str]:
    """`key=value,...` as a mapping of strings, in order (a repeated key: the last one wins, as in lmms-eval).

    The one key=value parser: MODEL_ARGS, --gen_kwargs, SET= and frame policies all go through it;
    `name` is the setting an error names.
    """
    args: dict[str, str] = {}
    for part in _split(text or ""):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ModelArgsError(f"{name}={text}: {part!r} is not key=value (fix: write key=value,key=value)")
        args[key.strip()] = value.strip()
    return args


def typed(value: str) -> bool | int | float | str:
    """A value as lmms-eval passes it to a model: true/false as booleans, numbers as numbers, else the text."""
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    if value.isnumeric():
        return int(value)
    try:
        return float(value)
    except ValueError:
        return value


def format_model_args(args: Mapping[str, object]) -> str:
    """The string of a mapping (keys whose value is None left out); refuses a value that would not parse back."""
    text = ",".join(f"{key}={value}" for key, value in args.items() if value is not None)
    if len(_split(text)) != sum(value is not None for value in args.values()):
        raise ModelArgsError(f"{dict(args)}: a value holds a comma outside brackets (fix: rename the path or value)")
    return text


def merge_model_args(*texts: str | None) -> str:
    """Several strings as one; a key given again takes its later value."""
    merged: dict[str, str] = {}
    for text in texts:
        merged.update(parse_model_args(text))
    return format_model_args(merged)


def take_group(group: type[Group], args: dict[str, Any]) -> Group:
    """The dataclass `group` built from the model arguments among `args` that are its fields, removed from `args`.

    A model's constructor takes its arguments as lmms-eval passes them (keywords); the ones that belong
    together (a checkpoint's, the frame policy's, the engine's) travel on as one frozen value.
    """
    names = [f.name for f in fields(group)]  # type: ignore[arg-type]
    return group(**{name: args.pop(name) for name in names if name in args})
