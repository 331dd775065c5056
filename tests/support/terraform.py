"""Reading ``infra/terraform`` as data, for checks that need no Terraform or AWS.

python-hcl2 parses the files; ``TerraformModule`` then evaluates the few expression
forms the checks rely on: ``var.`` (defaults or overrides) and ``local.`` references,
string interpolation, ``a * b``, list literals and ``jsonencode({...})``. A reference
to another resource's attribute (``aws_sqs_queue.dlq.arn``) evaluates to a ``Ref``.
Anything else raises ``UnsupportedExpression``, so a check can never pass by
comparing against text it did not understand.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2

TERRAFORM_DIR = Path(__file__).resolve().parents[2] / "infra" / "terraform"

_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_REFERENCE = re.compile(r"(?:data\.)?aws_[a-z0-9_]+\.[a-z0-9_]+(?:\[[^\]]+\])?(?:\.[a-z0-9_]+)*")
_SELECTOR = re.compile(r"(?P<name>[A-Za-z0-9_]+)(?:\[(?P<key>[a-z0-9_]+)=(?P<value>[^\]]+)\])?")


class UnsupportedExpression(ValueError):
    """The evaluator does not understand an expression (extend it, don't guess)."""


@dataclass(frozen=True)
class Ref:
    """A reference to another object's attribute, e.g. ``aws_sqs_queue.dlq.arn``."""

    target: str

    def __str__(self) -> str:
        return "${" + self.target + "}"


MISSING = None  # what a path that names nothing evaluates to


def parse_file(path: Path) -> dict[str, Any]:
    """One .tf file as plain data: unquoted strings and labels, no metadata keys."""
    with path.open(encoding="utf-8") as handle:
        try:
            options = hcl2.SerializationOptions(
                with_comments=False, explicit_blocks=False, strip_string_quotes=True
            )
        except AttributeError:  # python-hcl2 7.x renders plain data already
            return _plain(hcl2.load(handle))
        return _plain(hcl2.load(handle, serialization_options=options))


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {_unquote(k): _plain(v) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return _unquote(value) if isinstance(value, str) else value


def _unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


@dataclass
class TerraformModule:
    variables: dict[str, Any]
    locals: dict[str, Any]
    resources: dict[str, dict[str, Any]]
    data: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, directory: Path = TERRAFORM_DIR, **overrides: Any) -> TerraformModule:
        """Every .tf file of ``directory``; ``overrides`` replace variable defaults."""
        module = cls(variables={}, locals={}, resources={})
        for path in sorted(directory.glob("*.tf")):
            module._add(parse_file(path))
        module.variables.update(overrides)
        return module

    def _add(self, parsed: dict[str, Any]) -> None:
        for block in parsed.get("variable", []):
            for name, body in block.items():
                if "default" in body:
                    self.variables[name] = body["default"]
        for block in parsed.get("locals", []):
            self.locals.update(block)
        for kind, target in (("resource", self.resources), ("data", self.data)):
            for block in parsed.get(kind, []):
                for rtype, named in block.items():
                    for name, body in named.items():
                        target[f"{rtype}.{name}"] = body

    def resource(self, address: str) -> dict[str, Any]:
        try:
            return self.resources[address]
        except KeyError:
            raise AssertionError(f"infra/terraform declares no resource {address}") from None

    def attribute(self, address: str, path: str) -> Any:
        """The evaluated value at ``path`` in a resource.

        ``path`` is dot-separated; ``block[key=value]`` picks one of repeated blocks
        and a block that occurs once is entered without a selector.
        """
        value: Any = self.resource(address)
        for segment in path.split("."):
            value = self._step(value, segment)
            if value is MISSING:
                return MISSING
        return self.evaluate(value)

    def _step(self, value: Any, segment: str) -> Any:
        # Only what the path passes through is evaluated, so an unrelated
        # expression elsewhere in the resource cannot break the check.
        match = _SELECTOR.fullmatch(segment)
        if match is None or not isinstance(value, Mapping):
            raise UnsupportedExpression(f"cannot follow {segment!r} into {value!r}")
        found = value.get(match["name"], MISSING)
        if isinstance(found, str):
            found = self.evaluate(found)  # e.g. jsonencode({...}) becomes a mapping
        if match["key"]:
            blocks = found or []
            picked = [b for b in blocks if self.evaluate(b.get(match["key"])) == match["value"]]
            return picked[0] if picked else MISSING
        if isinstance(found, list) and len(found) == 1 and isinstance(found[0], Mapping):
            return found[0]
        return found

    def evaluate(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.evaluate(item) for item in value]
        if isinstance(value, Mapping):
            return {key: self.evaluate(item) for key, item in value.items()}
        if not isinstance(value, str):
            return value
        whole = _whole_interpolation(value)
        if whole is not None:
            return self.expression(whole)
        return re.sub(r"\$\{([^{}]*)\}", lambda m: str(self.expression(m[1])), value)

    def expression(self, text: str) -> Any:
        """The value of one HCL expression (the inside of ``${...}``)."""
        text = text.strip()
        if _NUMBER.fullmatch(text):
            return float(text) if "." in text else int(text)
        if text in ("true", "false"):
            return text == "true"
        if len(text) >= 2 and text[0] == text[-1] == '"':
            return self.evaluate(text[1:-1])
        if " * " in text and "(" not in text:
            product = 1
            for factor in text.split(" * "):
                product *= self.expression(factor)
            return product
        if text.startswith("var."):
            return self._named(self.variables, text[4:], "variable")
        if text.startswith("local."):
            return self._named(self.locals, text[6:], "local")
        if text.startswith("jsonencode(") and text.endswith(")"):
            return self.evaluate(_parse_object(text[len("jsonencode(") : -1]))
        if text.startswith("[") and text.endswith("]"):
            return self.evaluate(_parse_object(text))
        if _REFERENCE.fullmatch(text):
            return Ref(text)
        raise UnsupportedExpression(text)

    def _named(self, table: dict[str, Any], name: str, kind: str) -> Any:
        if name not in table:
            raise UnsupportedExpression(f"{kind} {name} has no value (no default, no override)")
        return self.evaluate(table[name])


def _whole_interpolation(text: str) -> str | None:
    """The expression when ``text`` is exactly one ``${...}``, else None."""
    if not (text.startswith("${") and text.endswith("}")):
        return None
    depth = 0
    for index, char in enumerate(text[1:], start=1):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth == 0:
            return text[2:-1] if index == len(text) - 1 else None
    return None


def _parse_object(source: str) -> Any:
    """An HCL object or list literal as data, parsed by python-hcl2 itself."""
    with_quotes = {"strip_string_quotes": True, "explicit_blocks": False, "with_comments": False}
    try:
        options = hcl2.SerializationOptions(**with_quotes)
        parsed = hcl2.loads(f"value = {source}\n", serialization_options=options)
    except AttributeError:
        parsed = hcl2.loads(f"value = {source}\n")
    return _plain(parsed)["value"]
