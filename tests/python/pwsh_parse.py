"""Reads PowerShell source with a real PowerShell grammar (tree-sitter-powershell): syntax errors, functions,
their CmdletBinding and param() blocks, and the literal hashtable of a module manifest."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter_powershell
from tree_sitter import Language, Node, Parser

PARSER = Parser(Language(tree_sitter_powershell.language()))


def parse(path: Path):
    return PARSER.parse(path.read_bytes())


def error_nodes(node: Node) -> list[Node]:
    found = []
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == "ERROR" or n.is_missing:
            found.append(n)
        stack.extend(n.children)
    return found


def text(node: Node) -> str:
    return node.text.decode("utf-8")


def literal(source: str):
    """The value of a simple literal: 'x', "x", $true/$false, numbers, or a comma list of them."""
    s = source.strip()
    parts = [p.strip() for p in re.split(r",(?=(?:[^']*'[^']*')*[^']*$)", s)] if "," in s else [s]
    values = []
    for p in parts:
        if p.lower() == "$true":
            values.append(True)
        elif p.lower() == "$false":
            values.append(False)
        elif len(p) >= 2 and p[0] == p[-1] and p[0] in "'\"":
            values.append(p[1:-1])
        elif re.fullmatch(r"-?\d+", p):
            values.append(int(p))
        else:
            values.append(p)
    return values if len(values) > 1 else values[0]


@dataclass
class Attribute:
    name: str
    positional: list = field(default_factory=list)
    named: dict = field(default_factory=dict)


def attribute(node: Node) -> Attribute:
    """An attribute node: [Name(positional, Named = value, Flag)] or a type literal [type]."""
    tl = next((c for c in node.children if c.type == "type_literal"), None)
    if tl is not None:
        return Attribute(name="type:" + text(tl)[1:-1].strip())
    name = text(next(c for c in node.children if c.type == "attribute_name"))
    a = Attribute(name=name)
    args = next((c for c in node.children if c.type == "attribute_arguments"), None)
    for arg in args.children if args else []:
        if arg.type != "attribute_argument":
            continue
        simple = next((c for c in arg.children if c.type == "simple_name"), None)
        has_eq = any(c.type == "=" for c in arg.children)
        if simple is not None and has_eq:
            value = arg.children[-1]
            a.named[text(simple).lower()] = literal(text(value))
        elif simple is not None:
            a.named[text(simple).lower()] = True
        else:
            a.positional.append(literal(text(arg)))
    return a


@dataclass
class Parameter:
    name: str
    type: str | None
    attributes: list[Attribute]

    def parameter_attributes(self) -> list[Attribute]:
        return [a for a in self.attributes if a.name.lower() == "parameter"]

    def aliases(self) -> list[str]:
        out = []
        for a in self.attributes:
            if a.name.lower() == "alias":
                out.extend(a.positional if isinstance(a.positional, list) else [a.positional])
        flat = []
        for x in out:
            flat.extend(x if isinstance(x, list) else [x])
        return flat


@dataclass
class Function:
    name: str
    cmdlet_binding: Attribute | None
    parameters: list[Parameter]
    help: str


def functions(root: Node) -> list[Function]:
    out = []
    stack = [root]
    while stack:
        n = stack.pop()
        if n.type == "function_statement":
            out.append(function(n))
            continue
        stack.extend(reversed(n.children))
    return out


def function(node: Node) -> Function:
    name = text(next(c for c in node.children if c.type == "function_name"))
    block = next(c for c in node.children if c.type == "script_block")
    pb = next((c for c in block.children if c.type == "param_block"), None)
    binding = None
    params = []
    if pb is not None:
        al = next((c for c in pb.children if c.type == "attribute_list"), None)
        for a in al.children if al else []:
            if a.type == "attribute":
                at = attribute(a)
                if at.name.lower() == "cmdletbinding":
                    binding = at
        plist = next((c for c in pb.children if c.type == "parameter_list"), None)
        for sp in plist.children if plist else []:
            if sp.type != "script_parameter":
                continue
            var = text(next(c for c in sp.children if c.type == "variable"))[1:]
            attrs = []
            al = next((c for c in sp.children if c.type == "attribute_list"), None)
            for a in al.children if al else []:
                if a.type == "attribute":
                    attrs.append(attribute(a))
            ptype = next((a.name[5:] for a in attrs if a.name.startswith("type:")), None)
            params.append(Parameter(var, ptype, [a for a in attrs if not a.name.startswith("type:")]))
    comments = [text(c) for c in iter_type(node, "comment") if text(c).startswith("<#")]
    return Function(name, binding, params, "\n".join(comments))


def manifest(path: Path) -> dict:
    """The top-level hashtable of a .psd1 as a dict of simple values (strings, booleans, lists of strings;
    nested hashtables as dicts)."""
    tree = parse(path)
    assert not tree.root_node.has_error, f"{path} does not parse"
    stack = [tree.root_node]
    while stack:
        n = stack.pop()
        if n.type == "hash_literal_expression":
            return hashtable(n)
        stack.extend(n.children)
    raise AssertionError(f"{path} holds no hashtable")


def hashtable(node: Node) -> dict:
    out = {}
    body = next((c for c in node.children if c.type == "hash_literal_body"), None)
    for entry in body.children if body else []:
        if entry.type != "hash_entry":
            continue
        key = text(entry.children[0]).strip()
        value_node = entry.children[-1]
        out[key] = value(value_node)
    return out


def value(node: Node):
    inner = find_first(node, {"hash_literal_expression", "array_expression"})
    if inner is not None and inner.type == "hash_literal_expression":
        return hashtable(inner)
    if inner is not None and inner.type == "array_expression":
        strings = [literal(text(s)) for s in iter_type(inner, "string_literal")]
        return strings
    return literal(text(node))


def find_first(node: Node, types: set[str]) -> Node | None:
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type in types:
            return n
        stack.extend(reversed(n.children))
    return None


def iter_type(node: Node, t: str):
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == t:
            yield n
            continue
        stack.extend(reversed(n.children))
