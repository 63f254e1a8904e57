"""Reading untrusted JSON with every problem reported at its path.

A planning file is written by people and by other tools, so the reader never stops at the
first problem: it records each one with its JSON path (`squads[2].dri`) and a plain sentence,
and hands back `None` for a value it could not read so that the caller can carry on.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email

from core.keys import KEY_MAX_LENGTH, KEY_RESERVED, key_problem
from core.validators import DATE_RANGE, DATE_RE, date_in_range, has_surrogate, is_blank

_USERNAME_RE = re.compile(r"^[\w.@+-]+\Z")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
LONG_TEXT = 20_000
MISSING = object()
# The format whose keys `Obj(later=...)` names in a file of an earlier one.
LATER_FORMAT = "planning-file/2"


def join(path: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{path}[{part}]"
    if not _NAME_RE.match(part):
        # A key that is not a plain name (spaces, dots, line breaks...) is written quoted,
        # so that every problem stays one line with one unambiguous path.
        return f"{path}[{quote(part)}]"
    return f"{path}.{part}" if path else part


def quote(value: Any) -> str:
    """Text as a JSON string, with every invisible or line-breaking character escaped."""
    return '"' + "".join(_printable(c) for c in str(value)) + '"'


def _printable(char: str) -> str:
    if char in '"\\':
        return "\\" + char
    if unicodedata.category(char) in {"Cc", "Cf", "Cs", "Zl", "Zp"}:
        code = ord(char)
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
    return char


@dataclass
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '$'}: {self.message}"


@dataclass
class Problems:
    items: list[Problem] = field(default_factory=list)

    def add(self, path: str, message: str) -> None:
        self.items.append(Problem(path, message))

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.items)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class JSONObject(dict):
    """A decoded JSON object that remembers keys written twice (JSON keeps only the last)."""

    duplicates: tuple[str, ...] = ()


def _object_pairs(pairs: list[tuple[str, Any]]) -> JSONObject:
    obj = JSONObject(pairs)
    if len(obj) != len(pairs):
        counts: dict[str, int] = {}
        for name, _ in pairs:
            counts[name] = counts.get(name, 0) + 1
        obj.duplicates = tuple(name for name, n in counts.items() if n > 1)
    return obj


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


class NotJSON(ValueError):
    pass


def parse_json(text: str) -> Any:
    """Decode a planning file, refusing what JSON does not allow (NaN) instead of guessing."""
    try:
        return json.loads(text, object_pairs_hook=_object_pairs, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise NotJSON(
            f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from exc
    except (ValueError, RecursionError) as exc:
        raise NotJSON(f"not valid JSON: {exc}") from exc


class Obj:
    """One JSON object of a known shape; each accessor records its own problems."""

    def __init__(
        self,
        value: Any,
        path: str,
        problems: Problems,
        *,
        required: tuple[str, ...],
        optional: tuple[str, ...] = (),
        later: tuple[str, ...] = (),
        written_as: str = "",
    ) -> None:
        self.path = path
        self.problems = problems
        self.ok = isinstance(value, dict)
        self.data: dict[str, Any] = value if self.ok else {}
        if not self.ok:
            shape = f"an object with {', '.join(required)}" if required else "an object"
            problems.add(path, f"must be {shape}, not {_kind(value)}")
            return
        allowed = required + optional
        for name in getattr(self.data, "duplicates", ()):
            problems.add(join(path, name), "is written more than once in this object; keep one")
        for name in self.data:
            if name in later:
                # A key of a later format in a file that says an earlier one: the file is
                # probably right and its format line stale, so say which format it needs.
                problems.add(
                    join(path, name),
                    f"needs {quote(LATER_FORMAT)}; this file says {quote(written_as)} "
                    f'(write "format": {quote(LATER_FORMAT)} to use it)',
                )
            elif name not in allowed:
                problems.add(
                    join(path, name),
                    f"unknown key; {self._describe(path)} has only {', '.join(allowed)}",
                )
        for name in required:
            if name not in self.data or self.data[name] is None:
                problems.add(join(path, name), "is required")

    @staticmethod
    def _describe(path: str) -> str:
        return "this object" if path else "a planning file"

    def _raw(self, name: str) -> Any:
        value = self.data.get(name, MISSING)
        return MISSING if value is None else value

    def has(self, name: str) -> bool:
        return self._raw(name) is not MISSING

    def _bad(self, name: str, message: str) -> None:
        self.problems.add(join(self.path, name), message)

    def text(self, name: str, *, max_length: int = LONG_TEXT, blank: bool = False) -> str | None:
        value = self._raw(name)
        if value is MISSING:
            return "" if blank else None
        if not isinstance(value, str):
            self._bad(name, f"must be text, not {_kind(value)}")
            return None
        if "\x00" in value:
            self._bad(name, "must not contain the NUL character")
            return None
        if has_surrogate(value):
            self._bad(name, "holds a lone surrogate (\\ud800 to \\udfff), which is not a character")
            return None
        if not blank and is_blank(value):
            self._bad(name, "must not be empty or only invisible characters")
            return None
        if len(value) > max_length:
            self._bad(name, f"is {len(value):,} characters long; the limit is {max_length:,}")
            return None
        return value

    def key(self, name: str = "key") -> str | None:
        value = self.text(name, max_length=KEY_MAX_LENGTH)
        if value is None:
            return None
        problem = key_problem(value)
        if problem == KEY_RESERVED:
            self._bad(
                name, f"{quote(value)} is reserved for the app's own pages; choose another key"
            )
            return None
        if problem:
            usable = problem[0].lower() + problem[1:]
            self._bad(name, f"{quote(value)} is not a usable key: {usable}")
            return None
        return value

    def username(self, name: str) -> str | None:
        value = self.text(name, max_length=150)
        if value is not None and not _USERNAME_RE.match(value):
            self._bad(
                name, f"{quote(value)} is not a usable username: use letters, digits and @.+-_"
            )
            return None
        return value

    def email(self, name: str) -> str:
        value = self.text(name, max_length=254, blank=True)
        if value:
            try:
                validate_email(value)
            except ValidationError:
                self._bad(name, f"{quote(value)} is not an email address")
                return ""
        return value or ""

    def date(self, name: str) -> dt.date | None:
        value = self._raw(name)
        if value is MISSING:
            return None
        if not isinstance(value, str) or not DATE_RE.fullmatch(value):
            self._bad(name, f"must be a date written YYYY-MM-DD, not {json_repr(value)}")
            return None
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            self._bad(name, f"{quote(value)} is not a date in the calendar")
            return None
        if not date_in_range(day):
            self._bad(name, f"{quote(value)} is out of range: use a date {DATE_RANGE}")
            return None
        return day

    def boolean(self, name: str) -> bool | None:
        value = self._raw(name)
        if value is MISSING:
            return None
        if not isinstance(value, bool):
            self._bad(name, f"must be true or false, not {json_repr(value)}")
            return None
        return value

    def integer(self, name: str, lo: int, hi: int) -> int | None:
        value = self._raw(name)
        if value is MISSING:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (isinstance(value, float) and not value.is_integer())
        ):
            self._bad(name, f"must be a whole number from {lo} to {hi}, not {json_repr(value)}")
            return None
        if not lo <= value <= hi:
            self._bad(name, f"must be from {lo} to {hi}, not {json_repr(value)}")
            return None
        return int(value)

    def decimal(
        self, name: str, *, places: int, digits: int, minimum: Decimal | None = None
    ) -> Decimal | None:
        """A number stored exactly; one that would lose digits is refused, not rounded."""
        value = self._raw(name)
        if value is MISSING:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (isinstance(value, float) and not math.isfinite(value))
        ):
            self._bad(name, f"must be a number, not {json_repr(value)}")
            return None
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            self._bad(name, f"must be a number, not {json_repr(value)}")
            return None
        if minimum is not None and number < minimum:
            self._bad(name, f"must be {format_number(minimum)} or more, not {json_repr(value)}")
            return None
        # Too large first: rounding a number of more digits than decimal arithmetic
        # holds would fail instead of answering.
        if abs(number) >= Decimal(10) ** (digits - places):
            self._bad(name, f"is too large ({json_repr(value)})")
            return None
        if number != number.quantize(Decimal(1).scaleb(-places)):
            self._bad(name, f"has more than {places} decimal places")
            return None
        return number

    def choice(self, name: str, choices: list[str]) -> str | None:
        value = self._raw(name)
        if value is MISSING:
            return None
        if value not in choices:
            self._bad(name, f"must be one of {', '.join(choices)}, not {json_repr(value)}")
            return None
        return value

    def items(self, name: str) -> list[tuple[str, Any]]:
        """The entries of a list with their paths; a missing list is empty."""
        value = self._raw(name)
        if value is MISSING:
            return []
        if not isinstance(value, list):
            self._bad(name, f"must be a list, not {_kind(value)}")
            return []
        base = join(self.path, name)
        return [(join(base, i), item) for i, item in enumerate(value)]

    def obj(
        self, name: str, *, required: tuple[str, ...], optional: tuple[str, ...] = ()
    ) -> Obj | None:
        value = self._raw(name)
        if value is MISSING:
            return None
        sub = Obj(value, join(self.path, name), self.problems, required=required, optional=optional)
        return sub if sub.ok else None

    def url(self, name: str, *, max_length: int) -> str:
        """An http(s) address, or "" when absent."""
        value = self.text(name, max_length=max_length, blank=True)
        if not value:
            return ""
        try:
            URLValidator(schemes=["http", "https"])(value)
        except ValidationError:
            self._bad(name, f"{json_repr(value)} is not an http or https address")
            return ""
        return value


def json_repr(value: Any) -> str:
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return quote(shown)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        shown = repr(value)
        return shown if len(shown) <= 40 else shown[:37] + "..."
    return _kind(value)


def format_number(value: Decimal) -> int | float:
    """A stored decimal as the JSON number a person wrote: 2 stays 2, 1.50 becomes 1.5."""
    if value == value.to_integral_value():
        return int(value)
    return float(value.normalize())
