"""What a query would cost to answer, judged from the document before anything runs.

Every field and fragment spread costs 1. A field taking `first` multiplies the cost of its selections
by it (the literal, the variable's value, else the argument's default); the list right below it (a
connection's `edges`) is that page and is not multiplied again. Other lists multiply by `list_size`.

Introspection (`__schema`, `__type`) costs 1 per field, since the schema bounds its size, but may nest
at most `MAX_INTROSPECTION_LISTS` lists: `types { fields { type { fields ... } } }` grows exponentially
with every level and is the usual introspection attack.

graphql-core's own validation compares every pair of fields sharing a response name, so one name
selected hundreds of times in a selection set costs far more CPU than the document's size suggests:
such repeats are refused as well.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SchemaMetaFieldDef,
    SelectionSetNode,
    TypeMetaFieldDef,
    TypeNameMetaFieldDef,
    VariableNode,
    get_named_type,
    get_nullable_type,
)

MAX_INTROSPECTION_LISTS = 3  # GraphiQL's introspection query nests types → fields → args
MAX_REPEATS = 10  # one response name this often in a selection set leaves plenty for fragments


class TooCostly(Exception):
    """The document is refused; the message says why and what the limit is."""


@dataclass(frozen=True)
class Scope:
    paged: bool = False  # the parent field took `first`: a list here is that page
    lists: int | None = None  # inside introspection: how many lists deep; None elsewhere


@dataclass
class CostWalk:
    schema: GraphQLSchema
    fragments: Mapping[str, FragmentDefinitionNode]
    variables: Mapping[str, object]
    list_size: int
    cap: int  # costs saturate here, so a fragment bomb stays a small integer
    _fragment_costs: dict[tuple[str, Scope], int] = field(default_factory=dict)
    _names_of_fragments: dict[str, Counter[str]] = field(default_factory=dict)

    def operation(self, node: OperationDefinitionNode) -> int:
        root = self.schema.get_root_type(node.operation)
        return self.selections(node.selection_set, root, Scope(), frozenset())

    def selections(
        self,
        selection_set: SelectionSetNode,
        parent: GraphQLNamedType | None,
        scope: Scope,
        visiting: frozenset[str],
    ) -> int:
        self._refuse_repeats(selection_set, visiting)
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self._field(selection, parent, scope, visiting)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selections(selection.selection_set, inner, scope, visiting)
            elif isinstance(selection, FragmentSpreadNode):
                # 1 for the spread itself: the limits that run after this one expand every spread, so
                # a fragment bomb ({ ...A ...A } with A = { ...B ...B }, ...) must be priced as expanded
                total += 1 + self._fragment(selection.name.value, scope, visiting)
            total = min(total, self.cap)
        return total

    def _refuse_repeats(self, selection_set: SelectionSetNode, visiting: frozenset[str]) -> None:
        names = self._names(selection_set, visiting)
        if names:
            name, repeats = names.most_common(1)[0]
            if repeats > MAX_REPEATS:
                raise TooCostly(
                    f"'{name}' is selected {repeats} times in one selection set (fragments included); "
                    f"at most {MAX_REPEATS} is allowed"
                )

    def _names(self, selection_set: SelectionSetNode, visiting: frozenset[str]) -> Counter[str]:
        """The response names graphql-core merges into this selection set: its fields, those of its
        inline fragments, and those of each fragment it spreads (counted once per fragment, as there)."""
        names: Counter[str] = Counter()
        spread: set[str] = set()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                names[(selection.alias or selection.name).value] += 1
            elif isinstance(selection, InlineFragmentNode):
                names.update(self._names(selection.selection_set, visiting))
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in spread:
                spread.add(selection.name.value)
                names.update(self._fragment_names(selection.name.value, visiting))
        return names

    def _fragment_names(self, name: str, visiting: frozenset[str]) -> Counter[str]:
        fragment = self.fragments.get(name)
        if fragment is None or name in visiting:
            return Counter()
        if name not in self._names_of_fragments:
            self._names_of_fragments[name] = self._names(fragment.selection_set, visiting | {name})
        return self._names_of_fragments[name]

    def _field(
        self, node: FieldNode, parent: GraphQLNamedType | None, scope: Scope, visiting: frozenset[str]
    ) -> int:
        if node.selection_set is None:
            return 1
        definition = field_definition(parent, node.name.value)
        child = get_named_type(definition.type) if definition else None
        is_list = definition is not None and isinstance(get_nullable_type(definition.type), GraphQLList)
        lists = 0 if scope.lists is None and node.name.value in ("__schema", "__type") else scope.lists
        if lists is not None:
            lists += is_list
            if lists > MAX_INTROSPECTION_LISTS:
                raise TooCostly(
                    f"introspection nests {lists} lists; at most {MAX_INTROSPECTION_LISTS} are allowed"
                )
            return 1 + self.selections(node.selection_set, child, Scope(lists=lists), visiting)
        first = self._first(node, definition)
        if first is not None:
            multiplier = max(first, 1)  # `first: 0` still has its selections validated
        elif is_list and not scope.paged:
            multiplier = self.list_size
        else:
            multiplier = 1
        inner = self.selections(node.selection_set, child, Scope(paged=first is not None), visiting)
        return min(1 + multiplier * inner, self.cap)

    def _fragment(self, name: str, scope: Scope, visiting: frozenset[str]) -> int:
        fragment = self.fragments.get(name)
        if fragment is None or name in visiting:  # unknown or cyclic: full validation reports it
            return 0
        key = (name, scope)
        if key not in self._fragment_costs:  # priced once: a fragment spread everywhere stays linear
            parent = self.schema.get_type(fragment.type_condition.name.value)
            self._fragment_costs[key] = self.selections(
                fragment.selection_set, parent, scope, visiting | {name}
            )
        return self._fragment_costs[key]

    def _first(self, node: FieldNode, definition: GraphQLField | None) -> int | None:
        if definition is None or "first" not in definition.args:
            return None
        value: object = None
        for argument in node.arguments or ():
            if argument.name.value != "first":
                continue
            if isinstance(argument.value, IntValueNode):
                value = int(argument.value.value)
            elif isinstance(argument.value, VariableNode):
                value = self.variables.get(argument.value.name.value)
        if value is None:
            value = definition.args["first"].default_value
        return max(value, 0) if isinstance(value, int) else self.list_size


def field_definition(parent: GraphQLNamedType | None, name: str) -> GraphQLField | None:
    if name == "__schema":
        return SchemaMetaFieldDef
    if name == "__type":
        return TypeMetaFieldDef
    if name == "__typename":
        return TypeNameMetaFieldDef
    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        found: GraphQLField | None = parent.fields.get(name)
        return found
    return None


def document_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, object] | None,
    *,
    list_size: int,
    cap: int,
) -> int:
    """The dearest operation of the document: which one runs is only decided later."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    walk = CostWalk(schema, fragments, variables or {}, list_size, cap)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return max((walk.operation(op) for op in operations), default=0)
