"""Code -> chunks with tree-sitter: functions, methods, classes, types and module code.

Every line of a file belongs to the innermost definition around it; runs of lines with
the same owner become chunks. So a class yields its header (and any class-level code
between methods) as ``class`` chunks, each method as a ``method`` chunk carrying the
class header as context, and the lines outside any definition as ``module`` chunks.
Oversized chunks are cut at statement boundaries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from ..types import Chunk, SourceFile
from .languages import CODE_SPECS, CodeSpec
from .text import has_content, split_run, trim_blank_edges, window_chunks

MAX_NEST = 40  # containers nested deeper than this are kept whole, not descended
DOC_LINES = 8  # docstring / doc-comment lines kept in a skeleton


@dataclass(slots=True)
class _Def:
    node: Any
    kind: str  # function | method | class | type | constant | field
    name: str
    qual: str
    parent: int  # index of the enclosing container def, -1 at module level
    start: int  # 0-based rows, inclusive; start may grow over leading comments
    end: int
    body: Any = None
    context: list[str] = field(default_factory=list)
    header_end: int = 0  # last row of the signature
    names: tuple[str, ...] = ()  # what a constant block or field group declares
    scope: str = ""  # C++ `Class::method` defined outside its class: the class
    tail: str = ""  # what follows an inner body on its last line: `} point_t;` names the type


@cache
def _parser(grammar: str) -> Any:
    from tree_sitter_language_pack import get_parser

    return get_parser(grammar)  # type: ignore[arg-type]


@cache
def _refs_query(grammar: str) -> Any:
    """The language's reference query (calls, attributes, types, imports), or None."""
    from tree_sitter import Query
    from tree_sitter_language_pack import get_language

    try:
        source = resources.files(__package__).joinpath(f"queries/{grammar}-refs.scm").read_text()
    except FileNotFoundError:
        return None
    return Query(get_language(grammar), source)  # type: ignore[arg-type]


def _end_row(node: Any) -> int:
    """Last row that holds the node's text (a node ending at column 0 ends the row before)."""
    row, col = node.end_point
    start = node.start_point[0]
    if col == 0 and row > start:
        return row - 1
    return row


_TEMPLATE_ARGS = re.compile(r"<[^<>]*(?:<[^<>]*>[^<>]*)*>")
_DECLARATOR_NAMES = ("identifier", "field_identifier", "qualified_identifier",
                     "destructor_name", "operator_name", "type_identifier")


def _name(node: Any, spec: CodeSpec) -> str:
    n = node.child_by_field_name("name")
    if n is not None:
        return _plain_name(n)
    decl = node.child_by_field_name("declarator")
    depth = 0
    while decl is not None and depth < 12:  # C/C++: int *(*f)(void) and friends
        if decl.type in _DECLARATOR_NAMES:
            return _plain_name(decl)
        inner = decl.child_by_field_name("declarator")
        if inner is None:
            for child in decl.named_children:
                if child.type in _DECLARATOR_NAMES:
                    return _plain_name(child)
            # C++ `T &f()`: a reference declarator holds the function's without a field
            inner = next((c for c in decl.named_children if c.type.endswith("declarator")),
                         None)
            if inner is None:
                break
        decl = inner
        depth += 1
    n = node.child_by_field_name("type")  # rust: `impl Trait for Type`
    if n is not None:
        return _plain_name(n)
    for child in node.named_children:
        if child.type == "type_spec":
            return _name(child, spec)
        if child.type in ("identifier", "type_identifier", "constant", "name"):
            return _plain_name(child)
    return ""


def _plain_name(node: Any) -> str:
    text = node.text.decode("utf-8", "replace")
    return " ".join(text.split())[:120]


def _go_receiver(node: Any) -> str:
    recv = node.child_by_field_name("receiver")
    if recv is None:
        return ""
    for n in _walk(recv):
        if n.type == "type_identifier":
            return _plain_name(n)
    return ""


def _walk(node: Any) -> Any:
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.named_children))


def _unwrap(node: Any, spec: CodeSpec) -> Any:
    """The definition inside a wrapper (decorator, export, template), or None."""
    inner = node.child_by_field_name("definition") or node.child_by_field_name("declaration")
    if inner is not None:
        return inner
    for child in node.named_children:
        if (
            child.type in spec.functions
            or child.type in spec.containers
            or child.type in spec.types
            or child.type in spec.wrappers
            or child.type in ("lexical_declaration", "variable_declaration")
        ):
            return child
    return None


def _variable_function(node: Any, spec: CodeSpec) -> str:
    """Name of `const f = () => ...`, or "" if the declaration is not a function."""
    if not spec.variable_functions or \
            node.type not in ("lexical_declaration", "variable_declaration"):
        return ""
    declarators = [c for c in node.named_children if c.type == "variable_declarator"]
    if len(declarators) != 1:
        return ""
    value = declarators[0].child_by_field_name("value")
    if value is None or value.type not in spec.variable_functions:
        return ""
    name = declarators[0].child_by_field_name("name")
    return _plain_name(name) if name is not None else ""


def _declared_value(node: Any) -> Any:
    """The value of a declaration's single declarator (``const f = () => {}``), or None."""
    decl = next((c for c in node.named_children if c.type == "variable_declarator"), None)
    return decl.child_by_field_name("value") if decl is not None else None


_EXPORTS = ("module.exports.", "exports.")


def _assigned_function(node: Any, spec: CodeSpec) -> tuple[str, str, Any] | None:
    """CommonJS and prototype assignments as definitions: (kind, name, value node).

    ``exports.x = function`` and ``module.exports.x = () => ...`` define ``x``;
    ``obj.method = function`` defines ``obj.method``; ``X.prototype.y = ...`` defines
    ``X.y``; ``module.exports = {...}`` and ``X.prototype = {...}`` hold their members as a
    class body does. ``{ name: function () {} }`` pairs inside those are methods."""
    if not spec.variable_functions:
        return None
    if node.type == "pair":
        key, value = node.child_by_field_name("key"), node.child_by_field_name("value")
        if key is not None and value is not None and value.type in spec.variable_functions:
            return "function", _plain_name(key).strip("'\"`"), value
        return None
    if node.type != "expression_statement" or not node.named_children:
        return None
    expr = node.named_children[0]
    if expr.type != "assignment_expression":
        return None
    left, right = expr.child_by_field_name("left"), expr.child_by_field_name("right")
    if left is None or right is None or left.type != "member_expression":
        return None
    target = _plain_name(left).replace(".prototype.", ".")
    if right.type in spec.variable_functions:
        for head in _EXPORTS:
            if target.startswith(head) and "." not in target[len(head):]:
                target = target[len(head):]
        return "method" if "." in target else "function", target, right
    if right.type == "object" and (target in ("module.exports", "exports")
                                   or target.endswith(".prototype")):
        return "class", target.removesuffix(".prototype"), right
    return None


#: Top-level declarations of at least this many lines are items of their own (a regex
#: table, a config object, a Go const block); shorter ones stay in the module's code,
#: still findable by the names they define.
CONSTANT_MIN_LINES = 3
_CONSTANT_NODES = frozenset({
    "lexical_declaration", "variable_declaration",  # JavaScript, TypeScript
    "assignment", "expression_statement",  # Python, Ruby (checked below)
    "const_declaration", "var_declaration",  # Go, PHP
    "const_item", "static_item",  # Rust
    "declaration", "preproc_def",  # C, C++
})
_DATA_KINDS = frozenset({"constant", "field"})  # declarations: no body, no signature


def _constant_names(node: Any, spec: CodeSpec, lines: list[str]) -> tuple[str, ...]:
    """The names a multi-line top-level constant or variable declaration defines, or ()."""
    if node.type not in _CONSTANT_NODES or _end_row(node) - node.start_point[0] + 1 < \
            CONSTANT_MIN_LINES:
        return ()
    if node.type == "expression_statement":
        if not node.named_children or node.named_children[0].type != "assignment":
            return ()
        node = node.named_children[0]
    out: list[str] = []
    if node.type == "assignment":
        left = node.child_by_field_name("left")
        if left is None:
            return ()
        if left.type in ("identifier", "constant"):
            out.append(_plain_name(left))
        elif left.type in ("pattern_list", "tuple_pattern"):
            out += [_plain_name(c) for c in left.named_children if c.type == "identifier"]
    elif node.type in ("lexical_declaration", "variable_declaration"):
        for decl in node.named_children:
            name = decl.child_by_field_name("name") if decl.type == "variable_declarator" else None
            if name is not None and name.type == "identifier":
                out.append(_plain_name(name))
    elif node.type in ("const_declaration", "var_declaration"):  # Go specs, PHP elements
        for spec_node in node.named_children:
            if spec_node.type in ("const_spec", "var_spec"):
                out += [_plain_name(c) for c in spec_node.children_by_field_name("name")]
            elif spec_node.type == "const_element":
                out += [_plain_name(c) for c in spec_node.named_children if c.type == "name"]
    elif node.type in ("const_item", "static_item", "preproc_def"):
        name = node.child_by_field_name("name")
        if name is not None:
            out.append(_plain_name(name))
    elif node.type == "declaration":  # C: only declarations with an initializer
        for decl in node.children_by_field_name("declarator"):
            if decl.type == "init_declarator":
                name = _name(decl, spec)
                if name:
                    out.append(name)
    return tuple(dict.fromkeys(n for n in out if n.isidentifier()))


#: Class-level data declarations (fields, class constants, enum cases) that become items
#: of their own, ``field`` items named after what they declare: a limit such as
#: ``MAX_REDIRECTS = 20`` is then findable and packable without the rest of its class.
#: Python's class attributes stay in the class's code: its ranking was fitted on
#: SWE-bench with them there, and the two were not measured together.
_MEMBER_NODES = frozenset({
    "field_declaration", "constant_declaration", "enum_constant",  # Java (C#, C++ fields)
    "event_field_declaration",  # C#
    "const_declaration", "property_declaration", "enum_case",  # PHP
    "public_field_definition", "field_definition",  # TypeScript, JavaScript
    "const_item", "static_item",  # Rust, in an impl or trait
    "assignment",  # Ruby constants and class variables
})
_MEMBER_NAME_NODES = frozenset({"identifier", "field_identifier", "property_identifier",
                                "private_property_identifier", "name", "constant",
                                "class_variable"})
_MEMBER_PATH_NODES = frozenset({"variable_declarator", "variable_declaration",
                                "pointer_declarator", "reference_declarator",
                                "array_declarator", "init_declarator", "property_element",
                                "variable_name", "const_element"})
_MEMBER_NAME_FIELDS = ("name", "declarator", "property", "left")
_MEMBER_VALUE_FIELDS = ("type", "value", "default_value", "right", "arguments")
#: Adjacent member declarations join into one item while it stays under this many
#: characters; a blank line always ends one.
MEMBER_GROUP_CHARS = 480


def _member_names(node: Any) -> tuple[str, ...]:
    """The names a class-level field, constant or enum case declares, or () when it is
    not one (a C++ method prototype, a Ruby assignment to something else)."""
    if node.type not in _MEMBER_NODES:
        return ()
    out: list[str] = []

    def visit(n: Any, depth: int) -> bool:
        for i, child in enumerate(n.children):
            fname = n.field_name_for_child(i)
            if child.type == "function_declarator":
                return False  # `void flush();` declares a method
            if fname in _MEMBER_VALUE_FIELDS:
                continue
            if child.type in _MEMBER_NAME_NODES and (
                    fname in _MEMBER_NAME_FIELDS or n.type in _MEMBER_PATH_NODES):
                out.append(_plain_name(child).lstrip("#$@"))
            elif child.type in _MEMBER_PATH_NODES and depth < 4 and not visit(child, depth + 1):
                return False
        return True

    if not visit(node, 0):
        return ()
    return tuple(dict.fromkeys(n for n in out if n.isidentifier()))


def _group_members(defs: list[_Def], lines: list[str], spec: CodeSpec) -> list[_Def]:
    """Join adjacent field items of one class: declarations with no blank line between
    (comments may stand between), while the joined span stays short."""
    out: list[_Def] = []
    moved: dict[int, int] = {}
    for i, d in enumerate(defs):
        prev = out[-1] if out else None
        if d.parent >= 0:
            d.parent = moved[d.parent]
        if prev is not None and d.kind == prev.kind == "field" and d.parent == prev.parent \
                and all(lines[r].strip().startswith(spec.comment_prefixes)
                        for r in range(prev.end + 1, d.start)) \
                and sum(len(ln) + 1 for ln in lines[prev.start : d.end + 1]) < MEMBER_GROUP_CHARS:
            prev.end = prev.header_end = d.end
            prev.names = tuple(dict.fromkeys(prev.names + d.names))
            moved[i] = len(out) - 1
            continue
        moved[i] = len(out)
        out.append(d)
    return out


def _type_body(node: Any) -> Any:
    """The member list inside a type that has none of its own: C's ``typedef struct {...}
    name;``, Go's ``type X struct {...}``. Without it the whole type is its own header, so
    its skeleton was its full text and every later part repeated all of it as context."""
    for child in node.named_children:
        inner = child.child_by_field_name("body") or child.child_by_field_name("type")
        if inner is None:
            continue
        if inner.type in ("field_declaration_list", "enumerator_list"):
            return inner
        for grand in inner.named_children:  # Go: type_spec -> struct_type -> field list
            if grand.type == "field_declaration_list":
                return grand
    return None


def _header_end(node: Any, body: Any) -> int:
    """Last row of a definition's signature: where its last part before the body ends."""
    if body is None:
        return _end_row(node)
    last = node.start_point[0]
    for child in node.children:
        if child.start_byte >= body.start_byte:
            break
        if "comment" not in child.type:
            last = max(last, _end_row(child))
    return last


def _collect(root: Any, spec: CodeSpec, lines: list[str]) -> list[_Def]:
    """Definitions in document order, containers before their members."""
    defs: list[_Def] = []
    # (node, parent def index, qual prefix, depth)
    stack: list[tuple[Any, int, str, int]] = [(root, -1, "", 0)]
    while stack:
        node, parent, prefix, depth = stack.pop()
        found: list[tuple[Any, int, str, int]] = []
        for child in node.named_children:
            outer = child
            target = child
            hops = 0
            while target is not None and target.type in spec.wrappers and hops < 4:
                target = _unwrap(target, spec)
                hops += 1
            if target is None:
                continue
            kind = ""
            name = ""
            if target.type in spec.functions:
                kind = "method" if parent >= 0 and defs[parent].kind == "class" else "function"
                name = _name(target, spec)
                if target.type == "method_declaration" and spec.grammar == "go":
                    recv = _go_receiver(target)
                    name = f"{recv}.{name}" if recv else name
                    kind = "method"
                elif spec.grammar == "cpp" and "::" in name and parent < 0:
                    # `void Logger::flush()` is Logger's method, named as one defined inside
                    name = ".".join(_TEMPLATE_ARGS.sub("", p).strip() or p
                                    for p in name.split("::"))
                    kind = "method"
            elif target.type in spec.containers:
                if spec.grammar in ("cpp", "rust") and target.child_by_field_name("body") is None:
                    # `class X;` declares, `friend class X;` names, Rust's `mod x;` says
                    # where a module's file is: none defines anything here
                    continue
                kind = "class"
                name = _name(target, spec)
            elif target.type in spec.types:
                if spec.grammar in ("c", "cpp") and target.child_by_field_name("body") is None \
                        and target.type != "type_definition":
                    continue  # `struct x;` forward declarations and uses are not definitions
                kind = "type"
                name = _name(target, spec)
            value = None  # the function (or object) a declaration or assignment holds
            names: tuple[str, ...] = ()
            if not kind:
                vname = _variable_function(target, spec)
                if vname:
                    kind = "method" if parent >= 0 and defs[parent].kind == "class" else "function"
                    name = vname
                    value = _declared_value(target)
            if not kind and (parent < 0 or defs[parent].kind == "class"):
                assigned = _assigned_function(target, spec)
                if assigned is not None:
                    kind, name, value = assigned
                    if parent >= 0 and kind == "function":
                        kind = "method"  # a member of an exported object or prototype
            if not kind and parent < 0:
                names = _constant_names(target, spec, lines)
                if names:
                    kind, name = "constant", names[0]
            elif not kind and defs[parent].kind == "class" and spec.grammar != "python" \
                    and defs[parent].start < target.start_point[0] \
                    and _end_row(target) < defs[parent].end:  # `enum E { A, B }`: one item
                names = _member_names(target)
                if names:
                    kind, name = "field", names[0]
            if not kind:
                if target.type in spec.transparent and depth < MAX_NEST:
                    found.append((target, parent, prefix, depth + 1))
                continue
            body = target.child_by_field_name("body") if kind not in _DATA_KINDS else None
            inner = body is None and kind == "type"
            if inner:
                body = _type_body(target)
            sig_node = target
            if value is not None:
                sig_node = value
                body = value if value.type == "object" else value.child_by_field_name("body")
            qual = f"{prefix}{name}" if name else prefix.rstrip(".") or "<anonymous>"
            scope = ""
            if kind in ("function", "method", "class") and "." in name and not prefix:
                scope, name = name.rsplit(".", 1)  # `X.prototype.y`: symbol X.y, defines y
            d = _Def(
                node=outer,
                kind=kind,
                name=name,
                qual=qual,
                parent=parent,
                start=outer.start_point[0],
                end=_end_row(outer),
                body=body,
                names=names,
                scope=scope if spec.grammar == "cpp" else "",
            )
            d.header_end = _header_end(sig_node, body)
            if inner and body is not None:  # the header ends where the inner body opens
                d.header_end = min(d.header_end, body.start_point[0])
                row, col = body.end_point
                d.tail = lines[row][col:].strip() if row < len(lines) else ""
            if parent >= 0:
                d.context = defs[parent].context + [
                    "\n".join(lines[defs[parent].node.start_point[0] : defs[parent].header_end + 1])
                ]
            defs.append(d)
            if kind == "class" and body is not None and depth < MAX_NEST:
                found.append((body, len(defs) - 1, qual + ".", depth + 1))
        stack.extend(reversed(found))
    # Stack order puts every container before its members, which ownership relies on.
    return _group_members(defs, lines, spec)


def _extend_leading_comments(defs: list[_Def], owner: list[int], lines: list[str],
                             spec: CodeSpec) -> None:
    block_comments = "/*" in spec.comment_prefixes
    for i, d in enumerate(defs):
        row = d.start
        while row > 0:
            prev = lines[row - 1].strip()
            if not prev:
                break
            # a /** ... */ block whose inner lines need not start with `*` (jsoup's
            # Javadoc): the syntax tree knows where the comment starts
            top = _block_comment_start(d.node, row - 1, lines) if block_comments else None
            if top is not None and top < row - 1:
                if any(owner[r] != d.parent for r in range(top, row)):
                    break
                row = top
                continue
            if not prev.startswith(spec.comment_prefixes) or owner[row - 1] != d.parent:
                break
            row -= 1
        if row < d.start:
            for r in range(row, d.start):
                owner[r] = i
            d.start = row


def _block_comment_start(node: Any, end_row: int, lines: list[str]) -> int | None:
    """First row of the comment that ends on ``end_row`` right above ``node`` (it or a
    comment before it), when that comment opens its line; else None."""
    sib = node.prev_sibling
    while sib is not None and "comment" in sib.type and _end_row(sib) > end_row:
        sib = sib.prev_sibling
    if sib is None or "comment" not in sib.type or _end_row(sib) != end_row:
        return None
    top, col = sib.start_point
    return top if not lines[top][:col].strip() else None


def _python_docstring(d: _Def, lines: list[str]) -> list[str]:
    body = d.body
    if body is None or not body.named_children:
        return []
    first = body.named_children[0]
    if first.type == "expression_statement" and first.named_children:
        first = first.named_children[0]
    if first.type not in ("string", "concatenated_string"):
        return []
    doc = lines[first.start_point[0] : _end_row(first) + 1]
    if len(doc) <= DOC_LINES:
        return doc
    head = doc[:1]
    for ln in doc[1 : DOC_LINES - 1]:
        if not ln.strip():
            break
        head.append(ln)
    quote = '"""' if '"""' in doc[0] else "'''" if "'''" in doc[0] else ""
    indent = doc[0][: len(doc[0]) - len(doc[0].lstrip())]
    head.append(f"{indent}...{quote}")
    return head


def _trim_comment_block(sig: list[str], first_code: int) -> list[str]:
    """Keep long leading doc comments short in a skeleton."""
    if first_code <= DOC_LINES:
        return sig
    return sig[: DOC_LINES - 2] + [sig[DOC_LINES - 2].split("*")[0] + " ..."] + sig[first_code:]


def _skeleton(d: _Def, lines: list[str], spec: CodeSpec, start: int, end: int) -> str:
    """Signature (with leading comments/decorators), docstring, and an elided body."""
    if d.body is None or d.header_end >= end:
        return "\n".join(lines[start : end + 1])
    sig = lines[start : d.header_end + 1]
    sig = _trim_comment_block(sig, d.node.start_point[0] - start)
    body_row, body_col = d.body.start_point
    first = lines[d.node.start_point[0]]
    indent = first[: len(first) - len(first.lstrip())]
    if spec.docstring == "python":
        doc = _python_docstring(d, lines)
        inner = lines[body_row] if body_row < len(lines) else ""
        body_indent = inner[: len(inner) - len(inner.lstrip())] or indent + "    "
        if body_row == d.header_end:  # `def f(): return 1` on one line
            return "\n".join(lines[start : end + 1])
        return "\n".join(sig + doc + [body_indent + "..."])
    if spec.block_end == "end":  # ruby
        return "\n".join(sig + [indent + "  ...", indent + "end"])
    if body_row == d.header_end:
        head = sig[-1][: body_col].rstrip() if body_col <= len(sig[-1]) else sig[-1]
        sig = sig[:-1] + [head + spec.body_open]
    else:
        sig = sig + [indent + spec.body_open.strip()]
    if d.tail:
        sig[-1] += " " + d.tail
    return "\n".join(sig)


def _statement_rows(node: Any, limit_rows: int, depth: int = 0) -> list[int]:
    """Rows where statements start: the places an oversized chunk may be cut."""
    rows: list[int] = []
    if node is None or depth > 3:
        return rows
    for child in node.named_children:
        rows.append(child.start_point[0])
        if _end_row(child) - child.start_point[0] > limit_rows:
            inner = child.child_by_field_name("body") or child
            rows.extend(_statement_rows(inner, limit_rows, depth + 1))
    return rows


def _definition_names(text: str, language: str) -> tuple[str, ...]:
    """Names a module-level chunk defines (``X = ...`` at column 0)."""
    out = []
    for ln in text.split("\n"):
        if ln.startswith("#define "):  # C and C++ macros and constants
            word = ln[8:].strip().split("(", 1)[0].split(" ", 1)[0]
            if word.isidentifier():
                out.append(word)
            continue
        if not ln or ln[0] in " \t#/":
            continue
        head = ln.split("=", 1)[0] if "=" in ln else ""
        if not head or "(" in head or "==" in ln[: len(head) + 2]:
            continue
        head = head.split(":", 1)[0]  # `NAME: type = value`
        word = head.strip().split()[-1] if head.strip() else ""
        word = word.strip("*&$")
        if word.isidentifier() and len(word) > 1:
            out.append(word)
    return tuple(dict.fromkeys(out))


def chunk_code(src: SourceFile, max_chars: int) -> list[Chunk] | None:
    """Chunk one code file, or None when tree-sitter cannot make sense of it."""
    spec = CODE_SPECS[src.language]
    data = src.text.encode("utf-8", "surrogatepass")
    tree = _parser(spec.grammar).parse(_without_macros(data, spec.grammar))
    root = tree.root_node
    lines = src.text.split("\n")
    if root.has_error and _mostly_errors(root, len(data)):
        root = _repaired(spec.grammar, data)
        if root is None:
            return None
    defs = _collect(root, spec, lines)
    owner = [-1] * len(lines)
    for i, d in enumerate(defs):  # parents come before members, so members win
        for r in range(d.start, min(d.end, len(lines) - 1) + 1):
            owner[r] = i
    _extend_leading_comments(defs, owner, lines, spec)

    refs_by_row = _refs_by_row(root, spec.grammar, len(lines))
    members = _members_outline(defs, lines, spec)
    chunks: list[Chunk] = []
    row = 0
    n = len(lines)
    while row < n:
        o = owner[row]
        end = row
        while end + 1 < n and owner[end + 1] == o:
            end += 1
        span = trim_blank_edges(lines, row, end)
        if span is not None and has_content(lines, *span):
            chunks.extend(_run_chunks(src, spec, defs, o, span, lines, root, max_chars,
                                      refs_by_row, members))
        row = end + 1
    return chunks


#: C and C++ macros where the grammar expects none: an export macro between ``class`` and
#: the name (``class SPDLOG_API logger``: read as a function), an attribute macro before a
#: definition's type or qualified name (``SPDLOG_INLINE void logger::flush()``) and one
#: after its parameters (``) SPDLOG_NOEXCEPT {``). All-capital words only.
_MACRO = rb"([A-Z][A-Z0-9_]{2,})"
_FUNC_NAME = rb"~?[A-Za-z_][\w:]*(?:operator[ \t]*[^\s(]{1,3})?[ \t]*\("
_MACRO_SLOTS = re.compile(
    rb"^[ \t]*(?:template[ \t]*<[^>\n]*>[ \t]*)?(?:class|struct|union)[ \t]+" + _MACRO
    + rb"[ \t]+(?=[A-Za-z_]\w*[ \t]*(?:final\b|:|\{|$))"
    rb"|^[ \t]*" + _MACRO + rb"[ \t]+(?=(?:[A-Za-z_][\w:<>,]*[ \t*&]+){1,6}" + _FUNC_NAME
    + rb"|[A-Za-z_]\w*::" + _FUNC_NAME + rb")"
    rb"|\)[ \t]*(?:const[ \t]*)?" + _MACRO + rb"[ \t]*(?=\{|:|$)",
    re.MULTILINE)


#: A ``#define`` continued over several lines, and a block comment in it: tree-sitter's C
#: grammar ends the directive at a comment before a line's ``\\``, parses the rest of the
#: macro as code, and the error that follows swallowed hundreds of lines of functions
#: (libyaml's ``READ_LINE``: 208 lines, ``yaml_parser_scan`` among them).
_CONTINUED_DEFINE = re.compile(rb"^[ \t]*#[ \t]*define\b(?:[^\n]*\\\r?\n)+[^\n]*", re.MULTILINE)
_BLOCK_COMMENT = re.compile(rb"/\*.*?\*/", re.DOTALL)


def _without_macros(data: bytes, grammar: str) -> bytes:
    """The text to parse: C and C++ with such macros, and comments inside multi-line
    ``#define`` directives, blanked (spaces of the same length, newlines kept, so every
    offset and row still points into the original text)."""
    if grammar not in ("c", "cpp"):
        return data
    slots = _MACRO_SLOTS.search(data) is not None
    comments = b"/*" in data and b"define" in data
    if not slots and not comments:
        return data
    buf = bytearray(data)
    if slots:
        for m in _MACRO_SLOTS.finditer(data):
            for g in range(1, 4):
                if m.start(g) >= 0:
                    buf[m.start(g) : m.end(g)] = b" " * (m.end(g) - m.start(g))
    if comments:
        for d in _CONTINUED_DEFINE.finditer(data):
            for c in _BLOCK_COMMENT.finditer(data, d.start(), d.end()):
                buf[c.start() : c.end()] = re.sub(rb"[^\n]", b" ", c.group(0))
    return bytes(buf)


REPAIR_ROUNDS = 8


def _repaired(grammar: str, data: bytes) -> Any:
    """A syntax tree for a file whose parse is mostly errors, or None.

    One statement the grammar does not know (a C# pointer cast ``*(uint*)p = x``, a
    macro) can make the whole file one error node. Each round blanks, with spaces, the
    lines where the innermost errors start, if their brackets balance (so the nesting
    around them stands), and parses again. Offsets and rows are unchanged, so the tree
    still describes the original text, minus those lines' references."""
    buf = bytearray(_without_macros(data, grammar))
    starts = [0] + [i + 1 for i, b in enumerate(data) if b == 0x0A]
    for _ in range(REPAIR_ROUNDS):
        root = _parser(grammar).parse(bytes(buf)).root_node
        if not root.has_error:
            return root
        rows = {n.start_point[0] for n in _innermost_errors(root)}
        blanked = False
        for row in rows:
            a = starts[row]
            b = starts[row + 1] - 1 if row + 1 < len(starts) else len(buf)
            if _balanced(bytes(buf[a:b])) and buf[a:b].strip():
                buf[a:b] = b" " * (b - a)
                blanked = True
        if not blanked:
            break
    root = _parser(grammar).parse(bytes(buf)).root_node
    return None if root.has_error and _mostly_errors(root, len(data)) else root


def _innermost_errors(root: Any) -> list[Any]:
    """ERROR nodes with no error below them: where the parser first lost its way."""
    out = []
    stack = [root]
    while stack:
        node = stack.pop()
        kids = [c for c in node.children if c.has_error]
        if node.type == "ERROR" and not kids:
            out.append(node)
        stack.extend(kids)
    return out


def _balanced(line: bytes) -> bool:
    return all(line.count(a) == line.count(b) for a, b in (
        (b"{", b"}"), (b"(", b")"), (b"[", b"]")))


def _mostly_errors(root: Any, size: int) -> bool:
    bad = sum(c.end_byte - c.start_byte for c in root.children if c.type == "ERROR" or c.is_missing)
    return bad > 0.5 * max(size, 1)


def _refs_by_row(root: Any, grammar: str, nrows: int) -> list[list[str]] | None:
    query = _refs_query(grammar)
    if query is None:
        return None
    from tree_sitter import QueryCursor

    rows: list[list[str]] = [[] for _ in range(nrows)]
    # in source order: the captures come grouped in an order that varies from run to run
    # (sorted as tuples: a key function reading node attributes cost twice as much)
    captured = sorted((node.start_byte, node.end_byte, node.start_point[0], node.text or b"")
                      for nodes in QueryCursor(query).captures(root).values() for node in nodes)
    for _, _, r, text in captured:
        if r < nrows:
            rows[r].append(text.decode("utf-8", "replace"))
    return rows


def _run_chunks(
    src: SourceFile,
    spec: CodeSpec,
    defs: list[_Def],
    o: int,
    span: tuple[int, int],
    lines: list[str],
    root: Any,
    max_chars: int,
    refs_by_row: list[list[str]] | None,
    members: str = "",
) -> list[Chunk]:
    start, end = span
    d = defs[o] if o >= 0 else None
    if d is None:
        kind, symbol, context, parent = "module", "", "", ""
        cut_node = root
    else:
        kind, symbol = d.kind, d.qual
        context = "\n".join(d.context)
        parent = defs[d.parent].qual if d.parent >= 0 else d.scope
        cut_node = d.body if d.body is not None else d.node
    limit = min(max_chars, spec.part_chars) if spec.part_chars else max_chars
    rows_limit = 40 if limit == max_chars else 10
    pieces = split_run(lines, start, end, limit, lambda: _statement_rows(cut_node, rows_limit))
    out = []
    for k, (s, e) in enumerate(pieces, 1):
        text = "\n".join(lines[s : e + 1])
        part_context = context
        if d is not None and k > 1 and d.kind not in _DATA_KINDS:
            # a later part shows the signature it belongs to, as a member shows its class
            part_context = "\n".join([*d.context, _part_signature(d, lines)])
        if d is not None and d.kind not in _DATA_KINDS and k == 1 and (
                d.start == s or s <= d.node.start_point[0] <= e):
            skeleton = _skeleton(d, lines, spec, s, e)
        elif d is None:
            skeleton = _module_skeleton(lines, s, e, members)
        else:
            skeleton = _generic_skeleton(lines, s, e)
        refs: tuple[str, ...] = ()
        if refs_by_row is not None:
            refs = tuple(dict.fromkeys(r for row in range(s, e + 1) for r in refs_by_row[row]))
        defs_here: tuple[str, ...] = (d.name.rsplit(".", 1)[-1],) if d is not None and d.name \
            else ()
        if d is not None and d.names:
            defs_here = d.names
        if d is None:
            defs_here = _definition_names(text, src.language)
        out.append(
            Chunk(
                path=src.path,
                start_line=s + 1,
                end_line=e + 1,
                kind=kind,
                symbol=symbol,
                language=src.language,
                text=text,
                skeleton=skeleton,
                context=part_context,
                parent=parent,
                part=k if len(pieces) > 1 else 0,
                parts=len(pieces) if len(pieces) > 1 else 0,
                defs=defs_here,
                refs=refs,
            )
        )
    return out


PART_SIGNATURE_LINES = 6


def _part_signature(d: _Def, lines: list[str]) -> str:
    """The signature a later part shows: without the decorators, attributes and
    annotations above it (the first part's to show), and only its first and last lines
    around ``...`` when it runs longer. Every later part repeats it, and whole, a click
    command's eighty option decorators or a macro without a body of its own cost each
    part thousands of tokens."""
    start, end = d.node.start_point[0], min(d.header_end, len(lines) - 1)
    past = _past_decorations(d.node)
    name = d.name.rsplit(".", 1)[-1].rsplit("::", 1)[-1]
    if past > start and name:
        # no further than the line naming it: `@Override public int run()` is one line
        named = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
        start = min(past, next((row for row in range(start, end + 1)
                                if named.search(lines[row])), past))
    sig = lines[start : end + 1]
    if len(sig) > PART_SIGNATURE_LINES:
        second = sig[1]
        sig = [sig[0], second[: len(second) - len(second.lstrip())] + "...", sig[-1]]
    return "\n".join(sig)


# Nodes that decorate a definition: Python's and TypeScript's decorators, Java's
# annotations (inside its modifiers), C#'s and PHP's attribute lists.
_DECORATIONS = frozenset({"decorator", "annotation", "marker_annotation", "attribute_list"})


def _past_decorations(node: Any) -> int:
    """The first row after the decorations that open a definition's node."""
    row = node.start_point[0]
    for child in node.children:
        inner = child.children if child.type == "modifiers" else [child]
        decorations = [c for c in inner if c.type in _DECORATIONS]
        if not decorations and child.type != "modifiers":
            break
        for c in decorations:
            row = max(row, c.end_point[0] + 1)
    return row


_IMPORT_PREFIXES = ("import ", "from ", "#include", "use ", "using ", "package ", "require",
                    "<?php", "namespace ", "'use strict'", '"use strict"', "extern crate",
                    "#!", "#pragma", "@file")
MODULE_SKELETON_LINES = 12
OUTLINE_MEMBERS = 12


def _members_outline(defs: list[_Def], lines: list[str], spec: CodeSpec) -> str:
    """One comment line listing the file's top-level definitions by their signatures."""
    sigs = []
    for d in defs:
        if d.parent >= 0 or d.kind in _DATA_KINDS:
            continue
        first = lines[d.node.start_point[0]].strip() if d.node.start_point[0] < len(lines) else ""
        sig = first.split("{", 1)[0].rstrip(" :=").strip()
        if len(sig) > 100:  # cut at a space: a part-word is no word of the file
            sig = sig[:100].rsplit(" ", 1)[0]
        sigs.append(sig or d.qual)
        if len(sigs) >= OUTLINE_MEMBERS:
            sigs.append("...")
            break
    if not sigs:
        return ""
    # only the file's own words: the cache checks derived views against the file
    return f"{spec.comment_prefixes[0]} " + "; ".join(sigs)


def _module_skeleton(lines: list[str], s: int, e: int, members: str) -> str:
    """Module code without its imports: the first line of each top-level statement (what
    it defines), or, for a run of imports alone, an outline of the file's definitions."""
    keep: list[str] = []
    elided = imports = False
    for r in range(s, e + 1):
        ln = lines[r]
        stripped = ln.strip()
        if not stripped:
            continue
        if stripped.startswith(_IMPORT_PREFIXES):
            imports = elided = True
            continue
        if ln[0] in " \t)]}" or stripped.startswith(("#", "//", "/*", "*")) or \
                len(keep) >= MODULE_SKELETON_LINES:
            elided = True
            continue
        keep.append(ln)
    if imports and members:  # the file's head: say what the file defines
        keep.append(members)
    return "\n".join(keep + (["..."] if elided else []))


def _generic_skeleton(lines: list[str], s: int, e: int, keep: int = 2) -> str:
    """First lines of a span and an ellipsis: the skeleton of code with no signature."""
    body = [ln for ln in lines[s : e + 1]]
    if len(body) <= keep + 1:
        return "\n".join(body)
    head = body[:keep]
    last = head[-1]
    indent = last[: len(last) - len(last.lstrip())]
    return "\n".join(head + [indent + "..."])


def fallback_chunks(src: SourceFile, max_chars: int) -> list[Chunk]:
    """Line windows for files whose syntax tree is mostly errors."""
    return window_chunks(src, max_chars)
