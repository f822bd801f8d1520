"""Edit JSON text in place: change, add or remove one member and leave every other byte as it was.

`git diff` of an edited config shows only the lines of the keys that changed: indentation, key
order, number spelling, line endings and the trailing newline all stay as the author left them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_WHITESPACE = " \t\r\n"
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_LITERALS = ("true", "false", "null", "NaN", "Infinity", "-Infinity")


@dataclass
class Node:
    start: int  # offset of the value's first character
    end: int  # offset after its last character
    kind: str  # object | array | scalar
    members: dict[str, "Member"] = field(default_factory=dict)  # objects
    items: list["Node"] = field(default_factory=list)  # arrays


@dataclass
class Member:
    key_start: int  # offset of the key's opening quote
    value: Node


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def parse(self) -> Node:
        if self.text.startswith("\ufeff"):
            self.pos = 1  # a byte-order mark: kept, and no part of the JSON
        self._skip()
        node = self._value()
        self._skip()
        if self.pos != len(self.text):
            raise ValueError(f"extra data at offset {self.pos}")
        return node

    def _skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _WHITESPACE:
            self.pos += 1

    def _value(self) -> Node:
        char = self.text[self.pos : self.pos + 1]
        if char == "{":
            return self._object()
        if char == "[":
            return self._array()
        start = self.pos
        if char == '"':
            self._string()
        else:
            match = _NUMBER.match(self.text, self.pos)
            literal = next((lit for lit in _LITERALS if self.text.startswith(lit, self.pos)), None)
            if match and (literal is None or len(match.group()) >= len(literal)):
                self.pos = match.end()
            elif literal:
                self.pos += len(literal)
            else:
                raise ValueError(f"unexpected character at offset {self.pos}")
        return Node(start, self.pos, "scalar")

    def _string(self) -> str:
        start = self.pos
        self.pos += 1
        while True:
            char = self.text[self.pos]
            if char == "\\":
                self.pos += 2
                continue
            self.pos += 1
            if char == '"':
                return json.loads(self.text[start : self.pos])

    def _object(self) -> Node:
        node = Node(self.pos, -1, "object")
        self.pos += 1
        self._skip()
        if self.text[self.pos] == "}":
            self.pos += 1
            node.end = self.pos
            return node
        while True:
            self._skip()
            key_start = self.pos
            key = self._string()
            self._skip()
            self.pos += 1  # ':'
            self._skip()
            node.members[key] = Member(key_start, self._value())  # a repeated key: the last wins, as in json.loads
            self._skip()
            if self.text[self.pos] == ",":
                self.pos += 1
                continue
            self.pos += 1  # '}'
            node.end = self.pos
            return node

    def _array(self) -> Node:
        node = Node(self.pos, -1, "array")
        self.pos += 1
        self._skip()
        if self.text[self.pos] == "]":
            self.pos += 1
            node.end = self.pos
            return node
        while True:
            self._skip()
            node.items.append(self._value())
            self._skip()
            if self.text[self.pos] == ",":
                self.pos += 1
                continue
            self.pos += 1  # ']'
            node.end = self.pos
            return node


class JsonDocument:
    """JSON text that can be edited member by member, keeping the author's formatting."""

    def __init__(self, text: str):
        self.text = text
        self.newline = "\r\n" if "\r\n" in text else "\n"
        self.indent_unit = _indent_unit(text)

    def _root(self) -> Node:
        return _Parser(self.text).parse()

    def _find(self, path: tuple[str, ...]) -> Node:
        node = self._root()
        for key in path:
            node = node.members[key].value
        return node

    def set(self, path: tuple[str, ...], value: Any) -> None:
        """Sets the member at `path` (its parent object must exist), adding it if absent."""
        parent = self._find(path[:-1])
        key = path[-1]
        if key in parent.members:
            old = parent.members[key].value
            indent = self._line_indent(parent.members[key].key_start)
            multiline = "\n" in self.text[old.start : old.end]
            spaced = _item_spacing(self.text[old.start : old.end])
            self._splice(old.start, old.end, self._dump(value, indent, multiline, spaced))
        else:
            self._insert(parent, key, value)

    def delete(self, path: tuple[str, ...]) -> None:
        parent = self._find(path[:-1])
        names = list(parent.members)
        index = names.index(path[-1])
        member = parent.members[path[-1]]
        if len(names) == 1:
            self._splice(parent.start + 1, parent.end - 1, "")
        elif index < len(names) - 1:
            # from this member's line start to the next member's line start (or key)
            start = self._removal_start(member.key_start)
            nxt = parent.members[names[index + 1]].key_start
            end = self._removal_start(nxt) if start != member.key_start else nxt
            self._splice(start, end, "")
        else:
            previous = parent.members[names[index - 1]].value
            self._splice(previous.end, member.value.end, "")

    # --- helpers ---------------------------------------------------------------------------------

    def _splice(self, start: int, end: int, replacement: str) -> None:
        self.text = self.text[:start] + replacement + self.text[end:]

    def _line_indent(self, offset: int) -> str:
        """The leading whitespace of the line holding `offset`."""
        line_start = self.text.rfind("\n", 0, offset) + 1
        line = self.text[line_start:offset]
        return line[: len(line) - len(line.lstrip(" \t"))]

    def _removal_start(self, key_start: int) -> int:
        """Where a member's text begins: its line start when it stands on its own line."""
        line_start = self.text.rfind("\n", 0, key_start) + 1
        return line_start if self.text[line_start:key_start].strip() == "" else key_start

    def _insert(self, parent: Node, key: str, value: Any) -> None:
        names = list(parent.members)
        if not names:
            indent = self._line_indent(parent.start)
            inner = indent + self.indent_unit
            body = f"{self.newline}{inner}{json.dumps(key)}: {self._dump(value, inner, True, True)}{self.newline}{indent}"
            self._splice(parent.start + 1, parent.end - 1, body)
            return
        # keep sorted objects sorted; otherwise the new key goes last
        position = len(names)
        if names == sorted(names):
            position = next((i for i, n in enumerate(names) if n > key), len(names))
        first = parent.members[names[0]]
        multiline = "\n" in self.text[parent.start : first.key_start]
        indent = self._line_indent(first.key_start) if multiline else ""
        text = f"{json.dumps(key)}: {self._dump(value, indent, multiline, True)}"
        if position < len(names):
            anchor = parent.members[names[position]].key_start
            separator = f",{self.newline}{indent}" if multiline else ", "
            self._splice(anchor, anchor, text + separator)
        else:
            last = parent.members[names[-1]].value
            separator = f",{self.newline}{indent}" if multiline else ", "
            self._splice(last.end, last.end, separator + text)

    def _dump(self, value: Any, indent: str, multiline: bool, spaced: bool) -> str:
        """JSON for `value` in the style of its surroundings (one line, or one item per line)."""
        if not multiline or not isinstance(value, (list, dict)) or not value:
            separators = (", ", ": ") if spaced else (",", ":")
            return json.dumps(value, separators=separators, ensure_ascii=False)
        unit = self.indent_unit
        text = json.dumps(value, indent=len(unit) if unit.strip() == "" and "\t" not in unit else unit, ensure_ascii=False)
        return text.replace("\n", self.newline + indent)


def _indent_unit(text: str) -> str:
    match = re.search(r"\n([ \t]+)\S", text)
    return match.group(1) if match else "  "


def _item_spacing(text: str) -> bool:
    """Whether a one-line container separates items with ', ' (the default) or ','."""
    return not (("," in text) and (", " not in text) and ("\n" not in text))
