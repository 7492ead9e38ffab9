"""The kinds of job a server can make, read from its schema.

A kind is a mutation taking one `input` object and returning a Job (or a union with Job in it): today
createSlideshow, createExplainer and renderTimeline, and whatever create mutation is added next, with no
code here. The web page applies the same rule (clipforge/web/forms.js).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

SCHEMA_QUERY = """query MakeSchema {
  __schema {
    mutationType { fields { name description args { name type { ...T } } type { ...T } } }
    types { kind name description possibleTypes { name }
      inputFields { name description defaultValue type { ...T } }
      enumValues { name }
      fields { name type { ...T } } }
  }
}
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }"""

PREFIX = re.compile(r"^(create|render)(?=[A-Z])")


@dataclass(frozen=True)
class TypeRef:
    kind: str  # SCALAR, ENUM, INPUT_OBJECT, LIST, NON_NULL, ...
    name: str | None
    of_type: TypeRef | None

    @classmethod
    def parse(cls, data: dict[str, Any]) -> TypeRef:
        inner = data.get("ofType")
        return cls(data["kind"], data.get("name"), cls.parse(inner) if inner else None)

    @property
    def non_null(self) -> bool:
        return self.kind == "NON_NULL"

    @property
    def nullable(self) -> TypeRef:
        return self.of_type if self.kind == "NON_NULL" and self.of_type else self

    @property
    def is_list(self) -> bool:
        return self.nullable.kind == "LIST"

    @property
    def named(self) -> TypeRef:
        return self.of_type.named if self.of_type else self

    def __str__(self) -> str:
        if self.kind == "NON_NULL":
            return f"{self.of_type}!"
        if self.kind == "LIST":
            return f"[{self.of_type}]"
        return self.name or "?"


@dataclass(frozen=True)
class InputField:
    name: str
    description: str
    type: TypeRef
    default: Any  # parsed from the schema's GraphQL literal; None when there is none

    @property
    def required(self) -> bool:
        return self.type.non_null and self.default is None


@dataclass(frozen=True)
class Kind:
    id: str  # product-ad: what `clipforge make` takes
    mutation: str  # createProductAd
    description: str
    input_type: str  # ProductAdInput
    arg_type: str  # ProductAdInput!
    result: str  # CreateJobResult


def kebab(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", name).lower()


def parse_default(literal: str | None) -> Any:
    """A default as introspection prints it: a GraphQL literal ("1080x1920", 4.0, false, LUXURY)."""
    if literal is None:
        return None
    try:
        return json.loads(literal)
    except ValueError:
        return literal  # an enum value, or an input object literal we only show


class Schema:
    def __init__(self, data: dict[str, Any]) -> None:
        self.types: dict[str, dict[str, Any]] = {t["name"]: t for t in data["__schema"]["types"]}
        self.kinds: list[Kind] = []
        for field in (data["__schema"].get("mutationType") or {"fields": []})["fields"]:
            result = TypeRef.parse(field["type"]).named
            members = {t["name"] for t in self.types.get(result.name or "", {}).get("possibleTypes") or []}
            args = field["args"]
            if (result.name != "Job" and "Job" not in members) or [a["name"] for a in args] != ["input"]:
                continue
            arg = TypeRef.parse(args[0]["type"])
            if arg.named.kind != "INPUT_OBJECT":
                continue
            short = PREFIX.sub("", field["name"])
            self.kinds.append(
                Kind(
                    id=kebab(short),
                    mutation=field["name"],
                    description=field.get("description") or "",
                    input_type=str(arg.named.name),
                    arg_type=str(arg),
                    result=str(result.name),
                )
            )

    def kind(self, name: str) -> Kind | None:
        """By its id, or as JobKind spells it (PRODUCT_AD), or its mutation (createProductAd)."""
        wanted = name.strip().lower().replace("_", "-")
        for kind in self.kinds:
            if wanted in (kind.id, kind.mutation.lower(), kind.id.replace("-", "")):
                return kind
        return None

    def input_fields(self, type_name: str) -> list[InputField]:
        return [
            InputField(
                name=f["name"],
                description=f.get("description") or "",
                type=TypeRef.parse(f["type"]),
                default=parse_default(f.get("defaultValue")),
            )
            for f in self.types[type_name].get("inputFields") or []
        ]

    def enum_values(self, type_name: str) -> list[str]:
        return [v["name"] for v in self.types[type_name].get("enumValues") or []]

    def result_selection(self, kind: Kind, job_fields: str) -> str:
        """A create mutation's result: the job, or the fields of whichever problem it answered with."""
        result = self.types.get(kind.result, {})
        members = [t["name"] for t in result.get("possibleTypes") or []] or [kind.result]
        parts = ["__typename"]
        for name in members:
            if name == "Job":
                parts.append(f"... on Job {{ {job_fields} }}")
                continue
            selected = []
            for field in self.types.get(name, {}).get("fields") or []:
                named = TypeRef.parse(field["type"]).named
                if named.kind in ("SCALAR", "ENUM"):
                    selected.append(field["name"])
                    continue
                leaves = [
                    f["name"]
                    for f in self.types.get(named.name or "", {}).get("fields") or []
                    if TypeRef.parse(f["type"]).named.kind in ("SCALAR", "ENUM")
                ]
                if leaves:
                    selected.append(f"{field['name']} {{ {' '.join(leaves)} }}")
            if selected:
                parts.append(f"... on {name} {{ {' '.join(selected)} }}")
        return " ".join(parts)


def local_schema() -> Schema:
    """This package's own schema, for a server that refuses introspection (production settings): the
    same code it runs, if the versions match."""
    from graphql import graphql_sync

    from schema import build_schema

    result = graphql_sync(build_schema()._schema, SCHEMA_QUERY)
    if result.errors or result.data is None:
        raise RuntimeError(f"cannot introspect the local schema: {result.errors}")
    return Schema(result.data)
