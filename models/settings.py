"""Declared settings: each config field carries its type and allowed values, checked in one place.

A config dataclass declares a field as ``steps: int = setting(2000, int, ge=1)``; the ``Allowed``
record rides in the field's metadata. ``parse_value`` turns command-line text or a TOML value into
the field's type and checks it; ``check_fields`` checks a whole config. Every refusal is one line
that names the key, the value and what is allowed, e.g.
``train.steps: -5 is not allowed; must be an integer >= 1``. Pure Python: the CLI's ``--help`` and
the launcher use it before torch is imported.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Optional

_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")
_KIND_NAMES = {int: "an integer", float: "a number", str: "a text", bool: "true or false"}


class ConfigError(ValueError):
    """A config value that cannot be used; the message names the key, the value and what is allowed."""


@dataclass(frozen=True)
class Allowed:
    """What one config field accepts: its type, bounds (inclusive ge/le, exclusive gt/lt) or choices."""

    kind: type  # int, float, str or bool
    ge: Optional[float] = None
    gt: Optional[float] = None
    le: Optional[float] = None
    lt: Optional[float] = None
    choices: Optional[tuple] = None  # the value must be one of these
    pattern: Optional[str] = None  # a str value must match this regular expression in full
    optional: bool = False  # None ("none" or "" on the command line) is also allowed
    text: str = ""  # what is allowed, in words, when the bounds alone do not say it
    rule: Optional[Callable[[Any], Optional[str]]] = None  # extra check: a reason to refuse, or None

    def describe(self) -> str:
        """What is allowed, after "must be": 'an integer >= 1', 'one of: a, b', 'a number >= 0 and < 1'."""
        if self.text:
            what = self.text
        elif self.choices is not None:
            what = "one of: " + ", ".join(str(c) for c in self.choices)
        else:
            bounds = [f"{op} {_show(v)}" for op, v in ((">=", self.ge), (">", self.gt), ("<=", self.le), ("<", self.lt))
                      if v is not None]
            what = _KIND_NAMES[self.kind] + (" " + " and ".join(bounds) if bounds else "")
        return what + (", or none" if self.optional else "")

    def span(self, name: str = "x") -> str:
        """The allowed values in a few characters, for a form's hint: '0 ≤ p < 1', 'N ≥ 1', 'char/word'."""
        if self.choices is not None:
            return "/".join(str(c) for c in self.choices)
        if self.text:
            return self.text
        low = f"{_show(self.ge)} ≤ " if self.ge is not None else f"{_show(self.gt)} < " if self.gt is not None else ""
        high = f" ≤ {_show(self.le)}" if self.le is not None else f" < {_show(self.lt)}" if self.lt is not None else ""
        if low and high:
            return f"{low}{name}{high}"
        if low:  # 'N ≥ 1' reads better than '1 ≤ N'
            return f"{name} {'≥' if self.ge is not None else '>'} {low.split(' ')[0]}"
        return f"{name}{high}" if high else _KIND_NAMES[self.kind]

    def problem(self, value: Any) -> Optional[str]:
        """None when ``value`` (already of the right type) is allowed, else what it must be."""
        if value is None:
            return None if self.optional else self.describe()
        if not _is_kind(value, self.kind):
            return self.describe()
        outside = ((self.ge is not None and value < self.ge) or (self.gt is not None and value <= self.gt)
                   or (self.le is not None and value > self.le) or (self.lt is not None and value >= self.lt))
        if outside or (self.choices is not None and value not in self.choices):
            return self.describe()
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            return self.describe()
        if self.rule is not None:
            return self.rule(value)
        return None


def setting(default: Any, kind: type, **allowed: Any) -> Any:
    """A dataclass field with ``default`` whose allowed values are declared beside it."""
    return dataclasses.field(default=default, metadata={"allowed": Allowed(kind, **allowed)})


def allowed_of(config_class: type, name: str) -> Allowed:
    """The declared ``Allowed`` of field ``name`` of a config dataclass (KeyError if it has none)."""
    for f in dataclasses.fields(config_class):
        if f.name == name:
            return f.metadata["allowed"]
    raise KeyError(name)


def refusal(key: str, value: Any, must: str) -> ConfigError:
    """The one-line error: '<key>: <value> is not allowed; must be <must>'."""
    return ConfigError(f"{key}: {_show(value)} is not allowed; must be {must}")


def parse_value(key: str, value: Any, allowed: Allowed, from_text: bool = True) -> Any:
    """``value`` as the field's type, checked, or a ConfigError naming ``key``.

    With ``from_text`` a string is read as command-line text ("5", "true", "none"); without it
    (TOML, JSON) a value must already have the field's type. Booleans are never numbers, numbers
    never booleans, and a float must be finite.
    """
    converted = _from_text(value, allowed) if from_text and isinstance(value, str) else value
    if allowed.kind is float and _is_kind(converted, int):
        converted = float(converted)
    problem = allowed.problem(converted)
    if problem is not None:
        raise refusal(key, converted if converted is not _UNPARSED else value, problem)
    return converted


def check_fields(config: Any, section: str) -> None:
    """Check every declared field of a config dataclass; the first refusal raises ConfigError."""
    for f in dataclasses.fields(config):
        allowed = f.metadata.get("allowed")
        if allowed is not None:
            problem = allowed.problem(getattr(config, f.name))
            if problem is not None:
                raise refusal(f"{section}.{f.name}", getattr(config, f.name), problem)


_UNPARSED = object()  # text that does not read as the field's type


def _from_text(text: str, allowed: Allowed) -> Any:
    """Command-line text as the field's type, or _UNPARSED."""
    stripped = text.strip()
    if allowed.optional and stripped.lower() in ("", "none"):
        return None
    if allowed.kind is str:
        return text
    try:
        if allowed.kind is bool:
            lowered = stripped.lower()
            return True if lowered in _TRUE else False if lowered in _FALSE else _UNPARSED
        return allowed.kind(stripped)
    except ValueError:
        return _UNPARSED


def _is_kind(value: Any, kind: type) -> bool:
    if isinstance(value, bool):
        return kind is bool
    if kind is float:
        return isinstance(value, (int, float)) and math.isfinite(value)
    return isinstance(value, kind)


def _show(value: Any) -> str:
    """A value as a user would type it: true, -5, 0.001, 'abc', none."""
    if value is _UNPARSED:
        return "?"
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int):
        return str(value)
    return repr(value)
