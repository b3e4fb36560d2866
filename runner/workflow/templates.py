"""Jinja2 templates in step inputs: sandboxed, strict, native types for whole expressions.

A string that is exactly one ``{{ expr }}`` evaluates to the expression's value
with its type (``"{{ inputs.n }}"`` stays an int); any other string renders to
text. Undefined names and sandbox violations raise ``TemplateError``.
"""

from __future__ import annotations

import contextlib
import functools
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, UndefinedError, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment

from runner.errors import LightlyRunError
from runner.workflow.diagnostics import did_you_mean

_WHOLE = re.compile(r"^\s*\{\{(?P<expr>.*)\}\}\s*$", re.S)
#: names a template may use without them being context variables
JINJA_GLOBALS = frozenset(
    {"range", "dict", "lipsum", "cycler", "joiner", "namespace", "loop", "true", "false", "none"}
)

#: the most items or characters ``*`` may build (Jinja's sandbox caps range() at 100,000)
MAX_REPEAT = 1_000_000
#: the most bits ``**`` may build: about 4,200 digits, under the 4,300 that Python will
#: print (``2 ** 10 ** 9`` would not finish)
MAX_POWER_BITS = 14_000


class _Sandbox(SandboxedEnvironment):
    """Jinja's sandbox, plus limits on the two operators that can fill memory in one step
    (``'x' * 10 ** 10`` took 19 GB before it was stopped)."""

    intercepted_binops = frozenset({"*", "**"})

    def getattr(self, obj: Any, attribute: str) -> Any:
        # a key wins over a method of the mapping: `steps.x.outputs.items` is the output
        # named items, not dict.items (Jinja tries attributes first)
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            _check_repeat(left, right)
            _check_repeat(right, left)
        elif operator == "**" and _power_bits(left, right) > MAX_POWER_BITS:
            raise SecurityError(f"{left!r} ** {right!r} is too large a number (over 4,200 digits)")
        return super().call_binop(context, operator, left, right)


def _check_repeat(sequence: Any, times: Any) -> None:
    sized = isinstance(sequence, (str, list, tuple)) and isinstance(times, int)
    if sized and len(sequence) * times > MAX_REPEAT:
        raise SecurityError(
            f"'*' would build {len(sequence) * times:,} characters or items "
            f"(at most {MAX_REPEAT:,})"
        )


def _power_bits(base: Any, exponent: Any) -> float:
    """How many bits ``base ** exponent`` has (0 for what is not a big integer)."""
    if not (isinstance(base, int) and isinstance(exponent, int)) or exponent <= 0:
        return 0
    return exponent * math.log2(abs(base)) if abs(base) > 1 else 0


_ENV = _Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


class _ReadOnlySandbox(ImmutableSandboxedEnvironment, _Sandbox):
    """The sandbox that evaluates an expression a second time, to mask what it makes of a
    secret: it must not change anything (``inputs.l.pop()`` would pop twice)."""


_READ_ONLY = _ReadOnlySandbox(undefined=StrictUndefined, autoescape=False)
_READ_ONLY.filters = _ENV.filters
_READ_ONLY.tests = _ENV.tests


class TemplateError(LightlyRunError):
    """A template could not be rendered."""


def is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _whole_expression(text: str) -> str | None:
    match = _WHOLE.match(text)
    if match is None:
        return None
    expr = match.group("expr")
    return None if "{{" in expr or "}}" in expr or "{%" in text else expr


@functools.lru_cache(maxsize=4096)
def _compiled_expression(expr: str) -> Any:
    return _ENV.compile_expression(expr, undefined_to_none=False)


@functools.lru_cache(maxsize=4096)
def _compiled_template(text: str) -> Any:
    return _ENV.from_string(text)


def render(value: Any, context: Mapping[str, Any]) -> Any:
    """Render every template string inside ``value`` (dicts and lists recursively)."""
    if isinstance(value, dict):
        return {k: render(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, context) for v in value]
    if not is_template(value):
        return value
    try:
        expr = _whole_expression(value)
        if expr is not None:
            result = _compiled_expression(expr.strip())(**context)
            if isinstance(result, Undefined):
                result._fail_with_undefined_error()
            return result
        return _compiled_template(value).render(**context)
    except SecurityError as error:
        raise TemplateError(f"unsafe template {value.strip()!r}: {error}") from None
    except UndefinedError as error:
        raise TemplateError(f"in {value.strip()!r}: {_undefined_message(error)}") from None
    except TemplateSyntaxError as error:
        raise TemplateError(
            f"template syntax error in {value.strip()!r}: {error.message}"
        ) from None
    except (TypeError, ValueError, ArithmeticError, LookupError) as error:
        raise TemplateError(f"in {value.strip()!r}: {error}") from None


def _undefined_message(error: UndefinedError) -> str:
    message = str(error.message or error)
    return message.replace("'dict object'", "the mapping").replace("'list object'", "the list")


def is_whole_expression(text: str) -> bool:
    """Whether ``text`` is one whole ``{{ expression }}`` (so keeps the value's type)."""
    return _whole_expression(text) is not None


def whole_reference(text: str) -> tuple[str, ...] | None:
    """The name chain that ``text`` is, when it is nothing else (``"{{ inputs.o }}"``)."""
    expr = _whole_expression(text)
    if expr is None:
        return None
    try:
        body = _ENV.parse(f"{{{{{expr}}}}}").body
    except TemplateSyntaxError:
        return None
    if len(body) != 1 or not isinstance(body[0], nodes.Output) or len(body[0].nodes) != 1:
        return None
    parts = _parts(body[0].nodes[0], methods=False)
    return None if parts is None or None in parts else tuple(map(str, parts))


def sandbox_problems(text: str) -> tuple[str, ...]:
    """What the runner's sandbox cannot run in a template that parses: filters and tests
    it does not have, and other templates (it has none to include)."""
    try:
        return _sandbox_problems(text)
    except TemplateSyntaxError:
        return ()


@functools.lru_cache(maxsize=4096)
def _sandbox_problems(text: str) -> tuple[str, ...]:
    problems = []
    tree = _ENV.parse(text)
    for node in tree.find_all((nodes.Filter, nodes.Test)):
        kind, known = (
            ("filter", _ENV.filters) if isinstance(node, nodes.Filter) else ("test", _ENV.tests)
        )
        if node.name not in known:
            problems.append(
                f"unknown {kind} '{node.name}' in template{did_you_mean(node.name, known)}"
            )
    others = tree.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport))
    if next(others, None) is not None:
        problems.append("a template cannot extend, include or import other templates")
    return tuple(problems)


def syntax_error(text: str) -> tuple[str, int] | None:
    """(message, line within the text) of a template syntax error, or None."""
    try:
        _ENV.parse(text)
    except TemplateSyntaxError as error:
        return error.message or "invalid template", error.lineno or 1
    return None


def references(value: Any) -> list[tuple[str, ...]]:
    """Every name chain (``steps.x.outputs.y`` → ("steps","x","outputs","y")) the templates read."""
    found: list[tuple[str, ...]] = []
    for text in _template_texts(value):
        with contextlib.suppress(TemplateSyntaxError):
            found.extend(_template_references(text))
    return found


#: expressions whose value is a truth value, not something made of what they read
_TRUTH_VALUED = (nodes.Compare, nodes.Test, nodes.Not)


def derived_values(
    value: Any, context: Mapping[str, Any], reads_secret: Callable[[tuple[str, ...]], bool]
) -> list[Any]:
    """What the ``{{ … }}`` expressions of ``value``'s templates make of a secret
    (``reads_secret`` tells which references are secrets), evaluated in ``context``:
    ``secrets.X | reverse``, ``secrets.X[:10]``, either branch of ``a if c else b`` and
    either side of ``and``/``or`` that does so. Not a secret as it is (masked already),
    nor a truth value, nor a fallback (``default(…)``, ``env.get(name, fallback)``).
    Evaluated read-only: what would change something, or cannot be evaluated alone (a
    loop's variable), is left out; so are ``{% set %}``, ``{% for %}`` and
    ``{% filter %}`` blocks."""
    found: list[Any] = []
    for text in _template_texts(value):
        for reads, compiled in _candidates(text):
            if any(reads_secret(ref) for ref in reads):
                with contextlib.suppress(Exception):
                    found.append(compiled.make_module(vars=dict(context)).derived_value)
    return found


def _template_texts(value: Any) -> list[str]:
    """The template strings in ``value`` (dicts and lists recursively)."""
    if isinstance(value, dict):
        return [t for v in value.values() for t in _template_texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _template_texts(v)]
    return [value] if is_template(value) else []


@functools.lru_cache(maxsize=1024)
def _candidates(text: str) -> tuple[tuple[tuple[tuple[str, ...], ...], Any], ...]:
    """Each expression of ``text`` that may make a value of what it reads: what it
    reads, and its read-only compiled form (compiled once per text: a for_each
    evaluates it per item)."""
    try:
        tree = _ENV.parse(text)
    except TemplateSyntaxError:
        return ()  # rendering says what is wrong
    found = []
    for output in tree.find_all(nodes.Output):
        for node in output.nodes:
            for candidate in _made_of_what_they_read(node):
                reads: list[tuple[str, ...]] = []
                _collect(candidate, reads)
                found.append((tuple(reads), _compiled_value(candidate)))
    return tuple(found)


def _made_of_what_they_read(node: nodes.Node) -> list[nodes.Node]:
    """The parts of an expression whose value is made of what they read."""
    if isinstance(node, (nodes.TemplateData, nodes.Const, *_TRUTH_VALUED)):
        return []
    if isinstance(node, nodes.CondExpr):  # its value is a branch's, not the test's
        branches = [node.expr1] if node.expr2 is None else [node.expr1, node.expr2]
        return [c for branch in branches for c in _made_of_what_they_read(branch)]
    if isinstance(node, (nodes.And, nodes.Or)):  # its value is one of its sides
        return [c for side in (node.left, node.right) for c in _made_of_what_they_read(side)]
    if isinstance(node, nodes.Concat):  # 'prefix-' ~ secrets.X: each part is shown as it is
        return [c for part in node.nodes for c in _made_of_what_they_read(part)]
    if isinstance(node, nodes.Filter) and node.name in ("default", "d") and node.node is not None:
        # the value itself, or else the fallback, each as it is made
        return [c for part in (node.node, *node.args) for c in _made_of_what_they_read(part)]
    if _is_get_with_fallback(node):
        assert isinstance(node, nodes.Call)
        return [c for fallback in node.args[1:] for c in _made_of_what_they_read(fallback)]
    parts = _parts(node, methods=False)
    if parts is not None and None not in parts:
        return []  # a value as it is
    return [node]


def _is_get_with_fallback(node: nodes.Node) -> bool:
    """``mapping.get('name', fallback)`` of a named mapping: the value as it is, or the
    fallback."""
    if not (isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr)):
        return False
    named = _parts(node.node.node, methods=False)
    return (
        node.node.attr == "get"
        and len(node.args) >= 1
        and isinstance(node.args[0], nodes.Const)
        and named is not None
        and None not in named
    )


def _compiled_value(node: nodes.Node) -> Any:
    """``node`` as a read-only template whose module's ``derived_value`` is its value."""
    target = nodes.Name("derived_value", "store", lineno=1)
    template = nodes.Template([nodes.Assign(target, node, lineno=1)], lineno=1)
    template.set_environment(_READ_ONLY)
    return _READ_ONLY.from_string(template)


@functools.lru_cache(maxsize=4096)
def _template_references(text: str) -> tuple[tuple[str, ...], ...]:
    tree = _ENV.parse(text)
    local = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    chains: list[tuple[str, ...]] = []
    _collect(tree, chains)
    return tuple(c for c in chains if c[0] not in local and c[0] not in JINJA_GLOBALS)


def _chain(node: nodes.Node) -> tuple[str, ...] | None:
    """The name chain ``node`` reads, cut where a part is not known before the run:
    ``env[name]``, ``env.items()`` and ``env.get(name)`` read ("env",), all of it, while
    ``env.get('NAME', 'none')`` reads ("env", "NAME") as ``env['NAME']`` does."""
    parts = _parts(node)
    if parts is None:
        return None
    known = parts.index(None) if None in parts else len(parts)
    return tuple(str(part) for part in parts[:known])


def _parts(node: nodes.Node, *, methods: bool = True) -> list[str | None] | None:
    """The chain's names, None for a part computed at run time (None: no chain; nor one
    that calls a method, unless ``methods``)."""
    if isinstance(node, nodes.Name):
        return [node.name]
    if isinstance(node, nodes.Getattr):
        inner = _parts(node.node, methods=methods)
        return None if inner is None else [*inner, node.attr]
    if isinstance(node, nodes.Getitem):
        inner = _parts(node.node, methods=methods)
        key = str(node.arg.value) if isinstance(node.arg, nodes.Const) else None
        return None if inner is None else [*inner, key]
    if methods and isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr):
        # a method of what the chain gives: get('name', …) reads one key, any other
        # (items(), keys(), a get of a computed name) may read them all
        inner = _parts(node.node.node)
        first = node.args[0] if node.args else None
        key = None
        if node.node.attr == "get" and isinstance(first, nodes.Const):
            key = str(first.value)
        return None if inner is None else [*inner, key]
    return None


def _arguments(node: nodes.Node) -> list[nodes.Node]:
    """What a chain's subscripts and method calls are given (``env[inputs.name]`` and
    ``env.get('A', inputs.b)`` read ``inputs`` too)."""
    found: list[nodes.Node] = []
    while isinstance(node, (nodes.Getattr, nodes.Getitem, nodes.Call)):
        if isinstance(node, nodes.Getitem):
            found.append(node.arg)
        elif isinstance(node, nodes.Call):  # a method: its Getattr comes next
            found.extend(node.args)
            found.extend(keyword.value for keyword in node.kwargs)
            found.extend(n for n in (node.dyn_args, node.dyn_kwargs) if n is not None)
        node = node.node
    return found


def _collect(node: nodes.Node, out: list[tuple[str, ...]]) -> None:
    if (
        isinstance(node, (nodes.Name, nodes.Getattr, nodes.Getitem, nodes.Call))
        and getattr(node, "ctx", "load") == "load"
    ):
        chain = _chain(node)
        if chain is not None:
            out.append(chain)
            for argument in _arguments(node):
                _collect(argument, out)
            return
    for child in node.iter_child_nodes():
        _collect(child, out)
