"""Changing sources.toml from the admin area: a source added, edited, disabled or deleted, validated exactly as
`load_config` validates the file (the same messages), and written back with its comments, order and layout kept
(tomlkit), atomically.

Each change is checked against the text it was made on (`revision`): a file edited by hand, or by another
archivist, since the form was shown is not overwritten.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import AoT, Table

from samizdat.archive.config import SOURCE_KEYS, Config, parse_config
from samizdat.archive.durable import replace_text
from samizdat.archive.errors import ConfigError

LIST_KEYS = tuple(k for k, spec in SOURCE_KEYS.items() if spec.type is list)
_write_lock = threading.Lock()  # one change at a time in this process; `revision` guards against the rest


class StaleRevision(ConfigError):
    """sources.toml changed since the form was shown."""


def revision(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def read(path: Path) -> tuple[str, str]:
    """(the file's text, its revision)."""
    text = Path(path).read_text(encoding="utf-8")
    return text, revision(text)


def raw_source(path: Path, name: str) -> dict[str, Any]:
    """The [[source]] table named `name` as written in the file (keys left out are not filled in)."""
    for table in _sources(tomlkit.parse(Path(path).read_text(encoding="utf-8"))):
        if table.get("name") == name:
            found: dict[str, Any] = table.unwrap()
            return found
    raise ConfigError(f"{path}: no source named {name!r}")


def form_values(form: Mapping[str, str]) -> dict[str, Any]:
    """A source's keys from a web form: lists one entry per line, numbers as numbers, true/false as booleans;
    an empty field leaves its key out. What cannot be read as its type stays text, for the validation to name."""
    values: dict[str, Any] = {}
    for key, spec in SOURCE_KEYS.items():
        raw = form.get(key)
        if raw is None:
            continue
        raw = raw.strip()
        if spec.type is bool:
            values[key] = raw.lower() in ("true", "on", "1", "yes")
        elif not raw:
            continue
        elif spec.type is list:
            values[key] = [line.strip() for line in raw.splitlines() if line.strip()]
        elif spec.type is str:
            values[key] = raw
        else:
            values[key] = _number(raw)
    return values


def add(path: Path, values: dict[str, Any], expected: str, environ: Mapping[str, str]) -> Config:
    """Append a [[source]] table; ConfigError (with `key`) when the result would not load."""

    def change(doc: tomlkit.TOMLDocument) -> None:
        table = tomlkit.table()
        for key in SOURCE_KEYS:  # the documented key order
            if key in values and values[key] != SOURCE_KEYS[key].default:
                table[key] = _item(values[key])
        if "source" in doc:
            sources = doc["source"]
            if not isinstance(sources, AoT):
                raise ConfigError(f"{path}: 'source' is not a list of [[source]] tables")
            if len(sources):
                _end_with_blank_line(sources[-1])
            sources.append(table)
        else:
            doc.append("source", tomlkit.aot())
            doc["source"].append(table)

    return _change(path, expected, environ, change)


def edit(
    path: Path, name: str, values: dict[str, Any], expected: str, environ: Mapping[str, str], keep: tuple[str, ...] = ()
) -> Config:
    """Set the source's keys to `values`: changed values in place (their comments kept), new keys after the
    table's last key, keys missing from `values` removed, except those named in `keep`."""

    def change(doc: tomlkit.TOMLDocument) -> None:
        table = _find(doc, name, path)
        for key in list(table.keys()):
            if key not in values and key not in keep and key in SOURCE_KEYS:
                del table[key]
        trailing = _take_trailing(table)
        for key, value in values.items():
            if key in table and table.get(key) == value:
                continue  # untouched: keeps its exact spelling ("1.0", a multi-line array)
            if key not in table and value == SOURCE_KEYS[key].default:
                continue  # the default needs no line
            table[key] = _item(value)
        table.value.body.extend(trailing)

    return _change(path, expected, environ, change)


def set_enabled(path: Path, name: str, enabled: bool, expected: str, environ: Mapping[str, str]) -> Config:
    """Disable a source (`enabled = false`: never crawled on schedule, nor by a bare `samizdat crawl`) or
    enable it again (the key removed: enabled is the default)."""

    def change(doc: tomlkit.TOMLDocument) -> None:
        table = _find(doc, name, path)
        if enabled:
            if "enabled" in table:
                del table["enabled"]
        elif "enabled" in table:
            table["enabled"] = False
        else:
            trailing = _take_trailing(table)
            table["enabled"] = False
            table.value.body.extend(trailing)

    return _change(path, expected, environ, change)


def delete(path: Path, name: str, expected: str, environ: Mapping[str, str]) -> Config:
    """Remove the source's table from the file (what it archived stays in the archive)."""

    def change(doc: tomlkit.TOMLDocument) -> None:
        sources = _sources(doc)
        table = _find(doc, name, path)
        del sources[next(i for i, t in enumerate(sources) if t is table)]

    return _change(path, expected, environ, change)


def _change(path: Path, expected: str, environ: Mapping[str, str], change: Any) -> Config:
    path = Path(path)
    with _write_lock:
        text, current = read(path)
        if current != expected:
            raise StaleRevision(
                f"{path} changed since this page was shown (edited by hand or by another archivist); "
                "nothing was written: look at it again and redo the change"
            )
        doc = tomlkit.parse(text)
        change(doc)
        new_text = tomlkit.dumps(doc)
        config = parse_config(new_text, path, environ)  # raises ConfigError: nothing is written
        replace_text(path, new_text, mode=path.stat().st_mode & 0o7777)
        return config


def _sources(doc: tomlkit.TOMLDocument) -> AoT:
    sources = doc.get("source")
    if not isinstance(sources, AoT):
        raise ConfigError("sources.toml has no [[source]] tables")
    return sources


def _find(doc: tomlkit.TOMLDocument, name: str, path: Path) -> Table:
    for table in _sources(doc):
        if table.get("name") == name:
            return table  # type: ignore[no-any-return]  # an AoT holds Tables
    raise ConfigError(f"{path}: no source named {name!r}; it may have been deleted meanwhile")


def _take_trailing(table: Table) -> list[Any]:
    """Detach the comments and blank lines that end a table: in the file they stand before the next table's
    header, and keys added now belong above them. Container.body holds them with key None."""
    body = table.value.body
    trailing: list[Any] = []
    while body and body[-1][0] is None:
        trailing.insert(0, body.pop())
    return trailing


def _end_with_blank_line(table: Table) -> None:
    if not table.as_string().endswith("\n\n"):
        table.add(tomlkit.nl())


def _item(value: Any) -> Any:
    if isinstance(value, list):
        array = tomlkit.array()
        array.extend(value)
        if len(value) > 2:
            array.multiline(True)
        return array
    return value


def _number(raw: str) -> Any:
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            pass
    return raw
