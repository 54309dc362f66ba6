"""The expression tree's nodes behave as immutable values: compared and hashed by their fields (never by their
source text or location), unchangeable once built, copied with a change by ``replace``, and pickled whole (a
kept tree, read back in another process, is the tree that was parsed)."""

from __future__ import annotations

import copy
import pickle

import pytest

from svcpolicy.errors import SourceLocation
from svcpolicy.expr import nodes as n
from svcpolicy.expr.parser import parse

SOURCE = (
    "any(op.authorization.at > op.at for op in operations if has(op.kind))"
    ' and params.limit in [1, 2] and -len(operations) + 2 == coalesce(fee, 0) and as_of and not x["vip-level"]'
)
HERE = SourceLocation("pack.yaml", 3, 7)


def _const(value: int, text: str = "1", loc: SourceLocation | None = None) -> n.Const:
    return n.Const(value, text=text, loc=loc)


def test_nodes_with_equal_fields_are_equal_and_hash_alike_whatever_their_text_and_location() -> None:
    spaced = parse(SOURCE.replace(" and ", "  and  "), HERE)
    tree = parse(SOURCE)
    assert spaced.text != tree.text and spaced.loc != tree.loc
    assert spaced == tree
    assert hash(spaced) == hash(tree)
    assert {spaced: "kept"}[tree] == "kept"


def test_nodes_differing_in_a_field_or_in_their_class_are_not_equal() -> None:
    assert _const(1) != _const(2)
    assert n.Name("a", text="a", loc=None) != n.Param("a", text="params.a", loc=None)
    assert n.Not(_const(1), text="", loc=None) != n.Negate(_const(1), text="", loc=None)
    assert n.AsOf(text="as_of", loc=None) == n.AsOf(text="as_of", loc=HERE)
    assert _const(1) != 1


def test_a_node_cannot_be_changed_or_given_new_attributes_once_built() -> None:
    node = n.Field(n.Name("op", text="op", loc=None), "at", text="op.at", loc=None)
    for name in ("name", "text", "loc", "extra"):
        with pytest.raises(AttributeError):
            setattr(node, name, "changed")
        with pytest.raises(AttributeError):
            delattr(node, name)
    assert node.name == "at" and node.text == "op.at"


def test_replace_copies_a_node_with_the_fields_named_changed_and_keeps_its_text_and_location() -> None:
    node = n.Compare(_const(1), ("<",), (_const(2),), text="1 < 2", loc=HERE)
    changed = n.replace(node, ops=(">",))
    assert changed == n.Compare(_const(1), (">",), (_const(2),), text="", loc=None)
    assert (changed.text, changed.loc) == ("1 < 2", HERE)
    assert node.ops == ("<",), "the original is unchanged"
    with pytest.raises(TypeError, match="no field opz"):
        n.replace(node, opz=(">",))


@pytest.mark.parametrize("protocol", range(2, pickle.HIGHEST_PROTOCOL + 1))
def test_a_pickled_tree_reads_back_equal_with_every_text_and_location(protocol: int) -> None:
    tree = parse(SOURCE, HERE)
    again = pickle.loads(pickle.dumps(tree, protocol))  # noqa: S301 - pickled just above
    assert again == tree
    assert [(part.text, part.loc) for part in n.walk(again)] == [(part.text, part.loc) for part in n.walk(tree)]
    assert [type(part) for part in n.walk(again)] == [type(part) for part in n.walk(tree)]


def test_a_deep_copy_is_an_equal_tree() -> None:
    tree = parse(SOURCE, HERE)
    assert copy.deepcopy(tree) == tree and copy.copy(tree) == tree


def test_the_repr_names_the_class_and_its_fields_but_not_the_text_or_location() -> None:
    node = n.Call("len", (n.Name("operations", text="operations", loc=HERE),), text="len(operations)", loc=HERE)
    assert repr(node) == "Call(function='len', args=(Name(id='operations'),))"
    assert repr(n.AsOf(text="as_of", loc=None)) == "AsOf()"


def test_children_are_the_sub_nodes_in_field_order_and_transform_keeps_an_unchanged_node() -> None:
    test, then, otherwise = _const(1, "a"), _const(2, "b"), _const(3, "c")
    node = n.Conditional(test, then, otherwise, text="b if a else c", loc=None)
    assert [child.text for child in n.children(node)] == ["a", "b", "c"]
    assert n.transform(node, lambda child: child) is node

    def doubled_const(child: n.Node) -> n.Node:
        return _const(2 * child.value) if isinstance(child, n.Const) and isinstance(child.value, int) else child

    doubled = n.transform(node, doubled_const)
    assert doubled == n.Conditional(_const(2), _const(4), _const(6), text="", loc=None)


def _sub_nodes_by_field(node: n.Node) -> list[n.Node]:
    """Every node held by a field of ``node``, found by looking at all its fields rather than the declared ones."""
    found: list[n.Node] = []
    for name in node._fields:
        value = getattr(node, name)
        found.extend(v for v in (value if isinstance(value, tuple) else (value,)) if isinstance(v, n.Node))
    return found


def _preorder(node: n.Node) -> list[n.Node]:
    return [node, *(part for child in n.children(node) for part in _preorder(child))]


def test_a_walk_visits_every_node_held_by_any_field_parents_first_and_in_field_order() -> None:
    tree = parse(SOURCE + " and (a if b else c) and count(s for s in steps) > 1 and steps[0].at == x.y")
    walked = list(n.walk(tree))
    assert {type(part).__name__ for part in walked} >= {
        "BoolOp", "Quantifier", "Compare", "Field", "Name", "Has", "Param", "ListLit", "Const", "Arith",
        "Negate", "Call", "Coalesce", "AsOf", "Not", "Conditional", "Item",
    }  # fmt: skip
    for part in walked:
        assert list(n.children(part)) == _sub_nodes_by_field(part), type(part).__name__
    assert [id(part) for part in walked] == [id(part) for part in _preorder(tree)]
