"""A kind's command line, made from its GraphQL input type: every field an option, and the positionals
for the field a user names first (the first required one, else a first field that is one string, else the
first list of uploads).

`clipforge make slideshow a.jpg b.jpg --audio song.mp3` → images: [a.jpg, b.jpg] (uploads), audio (upload);
`clipforge make explainer notes.md` → sourceText read from notes.md; `clipforge make short "why cats purr"`
→ idea. A file argument that is an http(s) URL goes to the field's `<name>Url(s)` twin when there is one
(the pairing resolvers/create.py applies). Options of a nested input object are dotted
(`--scene.image-prompt`) or the whole object as JSON (`--scene '{...}'`); `@path` reads a value from a file.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clipforge.make.client import FileUpload
from clipforge.make.kinds import InputField, Kind, Schema, TypeRef, kebab

AUTOMATIC = {"idempotencyKey"}  # made per run (clipforge/make/command.py), so a re-sent create is a no-op
MAX_DEPTH = 3


class InputProblem(Exception):
    """A value the command line cannot turn into the input (a missing file, bad JSON)."""


@dataclass
class Slot:
    """One option: where its value goes and how it is read."""

    path: tuple[str, ...]  # field names from the input's root
    field: InputField
    dest: str
    renamed: bool = False  # --input.<name>: the field's own name is one of the command's options


@dataclass
class KindParser:
    schema: Schema
    kind: Kind
    parser: argparse.ArgumentParser
    slots: list[Slot] = field(default_factory=list)
    primary: Slot | None = None

    def to_input(self, ns: argparse.Namespace) -> tuple[dict[str, Any], list[FileUpload]]:
        values: dict[str, Any] = {}
        files: list[FileUpload] = []
        positionals: list[str] = ns.values or []
        if positionals and self.primary is None:
            raise InputProblem(f"{self.kind.id} takes no positional arguments; see --help")
        for slot in self.slots:
            given = getattr(ns, slot.dest)
            if slot is self.primary and positionals:
                given = positionals if slot.field.type.is_list else _one(positionals, slot)
            if given is None:
                continue
            self._place(values, files, slot, given)
        return values, files

    def _place(self, values: dict[str, Any], files: list[FileUpload], slot: Slot, given: Any) -> None:
        named = slot.field.type.named
        if named.name == "Upload":
            items = given if isinstance(given, list) else [given]
            urls = [v for v in items if _is_url(v)]
            local = [v for v in items if not _is_url(v)]
            if urls:
                twin = self._url_twin(slot)
                if twin is None:
                    raise InputProblem(f"{_flag(slot)} takes local files only, not {urls[0]}")
                _set(values, (*slot.path[:-1], twin), urls if slot.field.type.is_list else urls[0])
            for i, name in enumerate(local):
                path = Path(name).expanduser()
                if not path.is_file():
                    raise InputProblem(f"no such file: {name}")
                index = f".{i}" if slot.field.type.is_list else ""
                files.append(FileUpload(path="variables.input." + ".".join(slot.path) + index, file=path))
            if local:
                _set(values, slot.path, [None] * len(local) if slot.field.type.is_list else None)
            return
        _set(values, slot.path, _convert(self.schema, slot, given))

    def _url_twin(self, slot: Slot) -> str | None:
        name = slot.path[-1]
        twin = (name.removesuffix("s") + "Urls") if slot.field.type.is_list else name + "Url"
        parent = self._type_at(slot.path[:-1])
        return twin if any(f.name == twin for f in self.schema.input_fields(parent)) else None

    def _type_at(self, path: tuple[str, ...]) -> str:
        type_name = self.kind.input_type
        for name in path:
            found = next(f for f in self.schema.input_fields(type_name) if f.name == name)
            type_name = str(found.type.named.name)
        return type_name


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def _one(positionals: list[str], slot: Slot) -> str:
    if slot.field.type.named.name == "String":
        # `clipforge make short why cats purr` without quotes means the same as with them
        return " ".join(positionals)
    if len(positionals) > 1:
        raise InputProblem(f"{slot.field.name} takes one value, got {len(positionals)}")
    return positionals[0]


def _set(values: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = values
    for name in path[:-1]:
        node = node.setdefault(name, {})
    node[path[-1]] = value


def _option(path: tuple[str, ...]) -> str:
    return ".".join(kebab(p) for p in path)


def _flag(slot: Slot) -> str:
    return "--" + (_option(slot.path) if not slot.renamed else "input." + _option(slot.path))


def _text(value: str, *, positional_file: bool) -> str:
    """`@path` (and, for the first positional, any existing file) means the file's text."""
    if value.startswith("@"):
        path = Path(value[1:]).expanduser()
    elif positional_file and "\n" not in value and len(value) < 4096 and Path(value).expanduser().is_file():
        path = Path(value).expanduser()
    else:
        return value
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputProblem(f"cannot read {path}: {err}") from err


def _convert(schema: Schema, slot: Slot, given: Any) -> Any:
    ref = slot.field.type
    named = ref.named
    if isinstance(given, list) and named.kind != "INPUT_OBJECT":
        return [_scalar(schema, slot, named, v) for v in given]
    if named.kind == "INPUT_OBJECT" or named.name == "JSON":
        text = _text(given, positional_file=True)
        try:
            return json.loads(text)
        except ValueError as err:
            raise InputProblem(f"{_flag(slot)} is not valid JSON: {err}") from err
    return _scalar(schema, slot, named, given)


def _scalar(schema: Schema, slot: Slot, named: TypeRef, value: Any) -> Any:
    if not isinstance(value, str):
        return value  # already typed by argparse (int, float, bool)
    if named.kind == "ENUM":
        choices = schema.enum_values(str(named.name))
        match = next((c for c in choices if c.lower() == value.lower().replace("-", "_")), None)
        if match is None:
            raise InputProblem(f"{_flag(slot)} must be one of {', '.join(c.lower() for c in choices)}")
        return match
    return _text(value, positional_file=True)


def _add(parser: argparse.ArgumentParser, schema: Schema, slot: Slot) -> None:
    ref = slot.field.type
    named = ref.named
    flag = _flag(slot)
    help_text = f"{slot.field.description} ({ref})" if slot.field.description else str(ref)
    if named.name == "Upload":
        help_text += ": a local file, or an http(s) URL where the field has a URL twin"
    if slot.field.default is not None:
        help_text += f" (default: {slot.field.default})"
    metavar = "FILE" if named.name == "Upload" else kebab(slot.field.name).upper()
    kwargs: dict[str, Any] = {"dest": slot.dest, "default": None, "help": help_text, "metavar": metavar}
    if named.name == "Boolean" and not ref.is_list:
        del kwargs["metavar"]
        parser.add_argument(flag, action=argparse.BooleanOptionalAction, **kwargs)
        return
    if ref.is_list and named.kind != "INPUT_OBJECT":
        kwargs.update(nargs="+", action="extend")
    if named.name == "Int":
        kwargs["type"] = int
    elif named.name == "Float":
        kwargs["type"] = float
    elif named.kind == "ENUM":
        kwargs["metavar"] = "{" + ",".join(v.lower() for v in schema.enum_values(str(named.name))) + "}"
    parser.add_argument(flag, **kwargs)


def primary_slot(top: list[Slot]) -> Slot | None:
    """The field the positionals fill: the first required one; else a first field that is one string
    (a short's `idea`, optional only because a storyboard may stand in for it); else the first list of
    uploads (a slideshow's images)."""
    required = next((s for s in top if s.field.required), None)
    if required is not None:
        return required
    if top and top[0].field.type.named.name == "String" and not top[0].field.type.is_list:
        return top[0]
    return next((s for s in top if s.field.type.named.name == "Upload" and s.field.type.is_list), None)


def kind_parser(schema: Schema, kind: Kind, prog: str, parents: list[argparse.ArgumentParser]) -> KindParser:
    parser = argparse.ArgumentParser(prog=prog, description=kind.description, parents=parents)
    result = KindParser(schema, kind, parser)
    taken = set(parser._option_string_actions)  # the command's own options win over a field's

    def walk(type_name: str, prefix: tuple[str, ...], depth: int) -> None:
        for f in schema.input_fields(type_name):
            if not prefix and f.name in AUTOMATIC:
                continue
            slot = Slot(path=(*prefix, f.name), field=f, dest="opt_" + "__".join((*prefix, f.name)))
            slot.renamed = f"--{_option(slot.path)}" in taken
            result.slots.append(slot)
            _add(parser, schema, slot)
            if f.type.named.kind == "INPUT_OBJECT" and not f.type.is_list and depth < MAX_DEPTH:
                walk(str(f.type.named.name), slot.path, depth + 1)

    walk(kind.input_type, (), 0)
    result.primary = primary_slot([s for s in result.slots if len(s.path) == 1])
    if result.primary is not None:
        parser.add_argument(
            "values", nargs="*", metavar=kebab(result.primary.field.name).upper(),
            help=f"the {result.primary.field.name} (same as --{kebab(result.primary.field.name)})",
        )  # fmt: skip
    else:
        parser.set_defaults(values=[])
    return result
