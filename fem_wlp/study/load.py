"""The one study loader: read a TOML file, apply `--set key=value` overrides, build the typed Study.

Every command (run, check, mesh, export) loads its study here. `--set` takes a dotted key path into the study
(list items by index: `designs.1.ring_outer_diameter=0.12`) and a value in TOML syntax (numbers, strings,
booleans, lists, inline tables); a bare word is a string (`--set model.kind=axisym`).
"""
from __future__ import annotations

from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from fem_wlp.errors import InputError
from fem_wlp.study.spec import Study

SET_ALLOWED = "KEY=VALUE with a dotted key path into the study (e.g. load.cycles=2, designs.1.name=\"a\")"


def read_study_file(path) -> dict:
    """The parsed TOML of a study file; a missing, unreadable, non-UTF-8 or invalid file is one InputError."""
    path = Path(path)
    if not path.is_file():
        raise InputError("STUDY", str(path), "an existing study file (.toml)")
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise InputError("STUDY", str(path), "a readable file", message=f"{path}: cannot read: {exc.strerror}") \
            from None
    except UnicodeDecodeError as exc:
        raise InputError("STUDY", str(path), "a UTF-8 text file",
                         message=f"{path}: not a UTF-8 text file (byte {exc.start}: {exc.reason})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError("STUDY", str(path), "valid TOML", message=f"{path}: invalid TOML: {exc}") from None
    if not data:
        raise InputError("STUDY", str(path), "a study", message=f"{path}: the study file is empty (a study needs "
                         "a [model] table, materials or designs, and a [load] table)")
    return data


def parse_value(text: str):
    """A --set value in TOML syntax (numbers, strings, lists, booleans, inline tables); bare words are strings."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_override(data: dict, assignment: str) -> dict:
    """Set one `key.path=value` in the parsed study (in place); returns `data`."""
    if not isinstance(assignment, str) or "=" not in assignment:
        raise InputError("--set", assignment, SET_ALLOWED)
    key, text = assignment.split("=", 1)
    key = key.strip()
    parts = key.split(".")
    if not key or any(not p.strip() for p in parts):
        raise InputError("--set", assignment, SET_ALLOWED)
    node = data
    for depth, p in enumerate(parts[:-1]):
        node = _child(node, p, key)
        if not isinstance(node, (dict, list)):
            where = ".".join(parts[:depth + 1])
            raise InputError("--set", assignment, f"a key path into the study ({where} is a value, not a table)")
    value = parse_value(text.strip())
    if isinstance(node, list):
        node[_index(node, parts[-1], key)] = value
    else:
        node[parts[-1]] = value
    return data


def _child(node, part: str, key: str):
    if isinstance(node, list):
        return node[_index(node, part, key)]
    return node.setdefault(part, {})


def _index(node: list, part: str, key: str) -> int:
    try:
        i = int(part)
    except ValueError:
        i = None
    if i is None or not 0 <= i < len(node):
        raise InputError("--set", key, f"a key path into the study (list items by index 0..{len(node) - 1})")
    return i


def load_study(path, overrides=(), purpose: str = "run") -> Study:
    """The typed, validated Study of a file with `--set` overrides applied (purpose: run | mesh)."""
    data = read_study_file(path)
    for o in overrides or ():
        apply_override(data, o)
    return Study.from_dict(data, Path(path), purpose)
