"""Change numbers in a policy's front matter without losing its comments or layout.

A proposal is a new policy text: the same file with some numbers changed, so an editor reads
its diff line by line. Only `key = number` lines are touched; a missing key is added at the end
of its table, a missing table at the end of the front matter; an adjustment set to 0 is removed.
"""

from __future__ import annotations

import re

from newsdesk.policy.loader import parse_policy

_HEADER = re.compile(r"^\s*\[([^\[\]]+)\]\s*(?:#.*)?$")
_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_key(name: str) -> str:
    if _BARE.match(name):
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _header_path(line: str) -> tuple[str, ...] | None:
    match = _HEADER.match(line)
    if not match:
        return None
    return tuple(_split_dotted(match.group(1)))


def _split_dotted(text: str) -> list[str]:
    """`adjust."Product update"` → ["adjust", "Product update"]."""
    parts, buf, quoted = [], "", False
    for char in text.strip():
        if char == '"':
            quoted = not quoted
        elif char == "." and not quoted:
            parts.append(buf.strip())
            buf = ""
        else:
            buf += char
    parts.append(buf.strip())
    return parts


def _key_of(line: str) -> str | None:
    stripped = line.strip()
    if not stripped or stripped.startswith("#") or "=" not in stripped:
        return None
    key = stripped.split("=", 1)[0].strip()
    if key.startswith('"') and key.endswith('"'):
        return key[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return key


def _format(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def set_numbers(text: str, changes: dict[tuple[str, ...], float]) -> str:
    """The policy text with each (table..., key) set to its number; 0 removes an adjustment."""
    head, sep, rest = text.partition("+++")
    front, sep2, body = rest.partition("+++")
    if head or not sep or not sep2:
        raise ValueError("the policy must start with a TOML front matter between '+++'")
    lines = front.split("\n")
    for path, value in changes.items():
        lines = _set(lines, path[:-1], path[-1], value)
    new = f"+++{chr(10).join(lines)}+++{body}"
    parse_policy(new)  # still a policy: raises PolicyError if the edit broke it
    return new


def _set(lines: list[str], table: tuple[str, ...], key: str, value: float) -> list[str]:
    remove = table[:1] == ("adjust",) and value == 0
    current: tuple[str, ...] = ()
    start = end = None  # the table's first line after its header, and one past its last key
    for index, line in enumerate(lines):
        header = _header_path(line)
        if header is not None:
            current = header
            if current == table:
                start = end = index + 1
            continue
        if current != table:
            continue
        if _key_of(line) == key:
            if remove:
                return lines[:index] + lines[index + 1 :]
            comment = line[line.index("#") :] if "#" in line.split("=", 1)[1] else ""
            new = f"{toml_key(key)} = {_format(value)}"
            if comment:
                new = f"{new.ljust(max(len(new) + 1, len(line) - len(comment)))}{comment}"
            return [*lines[:index], new, *lines[index + 1 :]]
        if line.strip() and not line.strip().startswith("#"):
            end = index + 1
    if remove:
        return lines
    entry = f"{toml_key(key)} = {_format(value)}"
    if start is None:
        if not table:
            return [lines[0], entry, *lines[1:]]
        header = "[" + ".".join(toml_key(part) for part in table) + "]"
        tail = lines[:]
        while tail and not tail[-1].strip():
            tail.pop()
        return [*tail, "", header, entry, ""]
    at = end if end is not None else start
    return [*lines[:at], entry, *lines[at:]]
