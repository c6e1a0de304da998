"""A Jinja2 sandbox that also bounds time and memory: a hostile template ends, quickly.

Jinja2's sandbox blocks escapes (private attributes, mutating methods, unsafe callables)
but not exhaustion: `{{ 'a' * 10**9 }}`, `{% set s = s ~ s %}` twenty times, a
`'{:999999999}'.format(1)` or three nested `range(100000)` loops hang a renderer or take
gigabytes. Every message template (`converge check` renders them against samples, the
notifier for every message) runs here instead, under four bounds:

* **sizes** — every operation that builds a value (`+`, `*`, `**`, `%`, `~`, filters,
  method calls) is checked before it runs where the size is known (a repeated string,
  a format width, an exponent) and after it runs otherwise: no text over `MAX_TEXT`
  characters, no list over `MAX_ITEMS` items, no integer over `MAX_INT_BITS` bits, no
  number argument over `MAX_NUMBER`, `range()` of at most `MAX_ITEMS`;
* **allocation** — those results add up per render; past `MAX_ALLOCATED` characters the
  render stops (a loop cannot pile up copies within the bounds above);
* **output** — the template's output is read in chunks and stops past `MAX_OUTPUT`;
* **time** — a watchdog raises in the rendering thread once `TIME_BUDGET` seconds pass
  (a loop that builds nothing still ends): SIGALRM in the main thread, a timer thread in
  others.

Any bound reached raises `BoundError` (a `jinja2.TemplateRuntimeError`) naming the bound
and, when known, the template line.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import functools
import itertools
import re
import signal
import string
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jinja2
import jinja2.compiler
import jinja2.nodes
import jinja2.sandbox
from jinja2.runtime import Context

MAX_TEXT = 256 * 1024
"""Characters in any one string a template builds."""
MAX_ITEMS = 10_000
"""Items in any list a template builds; the largest `range()`."""
MAX_INT_BITS = 4096
"""Bits in any integer a template builds."""
MAX_NUMBER = 100_000
"""The largest number argument to a filter or a method (a width, a count)."""
MAX_ALLOCATED = 8 * 1024 * 1024
"""Characters (or items) all checked operations of one render may build together."""
MAX_OUTPUT = 256 * 1024
"""Characters one render may output."""
TIME_BUDGET = 1.0
"""Seconds one render may take."""

_FORMAT_WIDTH = re.compile(r"%[-#0 +]*(\*|\d{6,})|%[-#0 +]*\d*\.(\*|\d{6,})")


class BoundError(jinja2.TemplateRuntimeError):
    """A template went past one of the bounds; `lineno` is its line when known."""

    def __init__(self, message: str, lineno: int | None = None) -> None:
        super().__init__(message)
        self.lineno = lineno


class _Timeout(BaseException):
    """Raised asynchronously in the rendering thread by the watchdog (never caught by a
    template's own code, which only catches `Exception`)."""


@dataclasses.dataclass(slots=True)
class _Budget:
    allocated: int = 0


_current = threading.local()


def _charge(size: int) -> None:
    budget: _Budget | None = getattr(_current, "budget", None)
    if budget is None:
        return
    budget.allocated += size
    if budget.allocated > MAX_ALLOCATED:
        raise BoundError(f"the template builds over {MAX_ALLOCATED} characters in all")


def _size(value: Any) -> int:
    if isinstance(value, str | bytes | list | tuple | dict | set | frozenset):
        return len(value)
    return 0


def _checked(value: Any) -> Any:
    """`value` if within the size bounds (and charged to the render), else BoundError."""
    if isinstance(value, str | bytes) and len(value) > MAX_TEXT:
        raise BoundError(f"text of {len(value)} characters (the bound is {MAX_TEXT})")
    if isinstance(value, list | tuple | dict | set | frozenset) and len(value) > MAX_ITEMS:
        raise BoundError(f"a collection of {len(value)} items (the bound is {MAX_ITEMS})")
    if isinstance(value, int) and not isinstance(value, bool) and (
            value.bit_length() > MAX_INT_BITS):
        raise BoundError(f"a number of {value.bit_length()} bits (the bound is "
                         f"{MAX_INT_BITS})")
    _charge(_size(value))
    return value


def _check_arguments(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, int | float) and not isinstance(value, bool) and (
                abs(value) > MAX_NUMBER):
            raise BoundError(f"the argument {value:g} is over {MAX_NUMBER}"
                             if isinstance(value, float) else
                             f"an argument over {MAX_NUMBER}")


def _predict(op: str, left: Any, right: Any) -> None:
    """Refuse before running an operation whose result would be too large."""
    sized = (str, bytes, list, tuple)
    if op == "*":
        for seq, count in ((left, right), (right, left)):
            if isinstance(seq, sized) and isinstance(count, int):
                limit = MAX_TEXT if isinstance(seq, str | bytes) else MAX_ITEMS
                if len(seq) * max(count, 0) > limit:
                    raise BoundError(f"repeating {len(seq)} items {count} times is over "
                                     f"{limit}")
        if isinstance(left, int) and isinstance(right, int) and (
                left.bit_length() + right.bit_length() > MAX_INT_BITS + 1):
            raise BoundError(f"a product over {MAX_INT_BITS} bits")
    elif op == "**":
        if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and (
                right > MAX_INT_BITS or left.bit_length() * right > MAX_INT_BITS):
            raise BoundError(f"a power over {MAX_INT_BITS} bits")
    elif op == "+":
        if isinstance(left, sized) and isinstance(right, sized):
            limit = MAX_TEXT if isinstance(left, str | bytes) else MAX_ITEMS
            if len(left) + len(right) > limit:
                raise BoundError(f"joining {len(left)} and {len(right)} items is over {limit}")
    elif op == "%" and isinstance(left, str) and _FORMAT_WIDTH.search(left):
        raise BoundError("a %-format with a width or precision over 5 digits (or *)")


def _check_format(text: str) -> None:
    """Refuse `str.format` specs with a huge width or precision (`{:999999999}`)."""
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError:
        return  # str.format itself reports it
    for _, _, spec, _ in fields:
        if spec and (re.search(r"\d{6,}", spec) or "{" in spec):
            raise BoundError("a format spec with a width or precision over 5 digits")


def _check_method(method: Any, args: tuple[Any, ...]) -> None:
    """Refuse a str method that would multiply its text (`sep.join`, `replace`,
    `expandtabs`) past the bound before it runs."""
    text = getattr(method, "__self__", None)
    name = getattr(method, "__name__", "")
    if not isinstance(text, str) or not args:
        return
    estimate = 0
    if name == "join" and hasattr(args[0], "__len__"):
        estimate = len(args[0]) * (len(text) + 1)
    elif name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(
            args[1], str):
        estimate = len(text) + (text.count(args[0]) if args[0] else len(text) + 1) * len(
            args[1])
    elif name == "expandtabs" and isinstance(args[0], int):
        estimate = len(text) + text.count("\t") * args[0]
    if estimate > MAX_TEXT:
        raise BoundError(f"str.{name} would build over {MAX_TEXT} characters")


def _safe_range(*args: int) -> range:
    found = range(*args)
    if len(found) > MAX_ITEMS:
        raise BoundError(f"range() of {len(found)} items (the bound is {MAX_ITEMS})")
    return found


_PASSED = (Context, jinja2.Environment, jinja2.nodes.EvalContext)
"""What Jinja2 passes a filter before its value (`pass_context` and the like)."""


def _estimate(name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """How large a filter's result can get, for the filters that multiply their input."""
    value: Any = args[0] if args else None
    rest = [*args[1:], *kwargs.values()]
    if name == "join" and value is not None and hasattr(value, "__len__"):
        separator = next((a for a in rest if isinstance(a, str)), "")
        texts: int = sum(len(item) for item in value if isinstance(item, str))
        return len(value) * (len(separator) + 1) + texts
    if name == "replace" and isinstance(value, str) and len(rest) >= 2 and (
            isinstance(rest[0], str) and isinstance(rest[1], str)):
        count = value.count(rest[0]) if rest[0] else len(value) + 1
        return len(value) + count * len(rest[1])
    if name == "indent" and isinstance(value, str):
        width = rest[0] if rest else 4
        size = width if isinstance(width, int) else len(str(width))
        return len(value) + (value.count("\n") + 1) * size
    if name == "format" and isinstance(value, str) and _FORMAT_WIDTH.search(value):
        return MAX_TEXT + 1
    return 0


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        plain = [a for a in args if not isinstance(a, _PASSED)]
        _check_arguments(tuple(plain[1:]), kwargs)
        if name == "join" and plain and not hasattr(plain[0], "__len__") and (
                hasattr(plain[0], "__iter__")):  # a generator (`map`, `select`): take it
            items = list(itertools.islice(plain[0], MAX_ITEMS + 1))
            if len(items) > MAX_ITEMS:
                raise BoundError(f"joining over {MAX_ITEMS} items")
            position = len(args) - len(plain)
            args = (*args[:position], items, *args[position + 1:])
            plain[0] = items
        if _estimate(name, tuple(plain), kwargs) > MAX_TEXT:
            raise BoundError(f"the {name} filter would build over {MAX_TEXT} characters")
        return _checked(function(*args, **kwargs))

    return wrapper


def _join(parts: tuple[Any, ...]) -> str:
    texts = [str(part) for part in parts]
    total = sum(len(text) for text in texts)
    if total > MAX_TEXT:
        raise BoundError(f"joining text of {total} characters (the bound is {MAX_TEXT})")
    _charge(total)
    return "".join(texts)


class _CodeGenerator(jinja2.compiler.CodeGenerator):
    """Routes `~` through the environment, which bounds it."""

    def visit_Concat(self, node: jinja2.nodes.Concat, frame: jinja2.compiler.Frame) -> None:
        self.write("environment.bounded_join((")
        for argument in node.nodes:
            self.visit(argument, frame)
            self.write(", ")
        self.write("))")


class BoundedEnvironment(jinja2.sandbox.ImmutableSandboxedEnvironment):
    """`ImmutableSandboxedEnvironment` whose operations are bounded (see the module)."""

    code_generator_class = _CodeGenerator
    intercepted_binops = frozenset({"+", "*", "**", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = _safe_range
        self.globals.pop("lipsum", None)
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}

    def bounded_join(self, parts: tuple[Any, ...]) -> str:
        return _join(parts)

    def call_binop(self, context: Context, operator_: str, left: Any, right: Any) -> Any:
        _predict(operator_, left, right)
        return _checked(self.binop_table[operator_](left, right))

    def call(__self, __context: Context, __obj: Any,  # noqa: N805 (Jinja's signature)
             *args: Any, **kwargs: Any) -> Any:
        _check_arguments(args, kwargs)
        owner = getattr(getattr(__obj, "__wrapped__", None), "__self__", None)
        if getattr(__obj, "__name__", None) in ("format", "format_map") and isinstance(
                owner, str):
            _check_format(owner)
        _check_method(__obj, args)
        return _checked(super().call(__context, __obj, *args, **kwargs))


@functools.lru_cache(maxsize=1)
def _set_async_exc() -> Callable[[int, object], int]:
    """CPython's `PyThreadState_SetAsyncExc(thread, exc)`; `exc` NULL clears a pending one."""
    function = ctypes.pythonapi.PyThreadState_SetAsyncExc
    function.argtypes = [ctypes.c_ulong, ctypes.py_object]
    function.restype = ctypes.c_int
    return function


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[Callable[[], bool]]:
    """Raise `_Timeout` in this thread once `seconds` pass; yields "did it fire".

    In the main thread (`converge check` and `compile`) an interval timer's SIGALRM does
    it, so no thread is started: the compiler forks its workers only from a process with
    one thread, and a watchdog thread per render (still exiting after its cancel) made it
    skip them. Elsewhere (the notifier renders in worker threads) a timer thread does.
    """
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        with _alarm(seconds) as fired:
            yield fired
        return
    thread = threading.get_ident()
    lock = threading.Lock()
    state = {"done": False, "fired": False}

    def interrupt() -> None:
        with lock:
            if not state["done"]:
                state["fired"] = True
                _set_async_exc()(thread, _Timeout)

    timer = threading.Timer(seconds, interrupt)
    timer.daemon = True
    timer.start()
    try:
        yield lambda: state["fired"]
    finally:
        timer.cancel()
        with lock:
            state["done"] = True
        if state["fired"]:
            _set_async_exc()(thread, ctypes.py_object())  # clear one not delivered yet


@contextlib.contextmanager
def _alarm(seconds: float) -> Iterator[Callable[[], bool]]:
    """`_deadline` for the main thread: SIGALRM after `seconds`, the previous handler and
    timer put back afterwards."""
    state = {"fired": False, "armed": True}

    def interrupt(_signum: int, _frame: object) -> None:
        if state["armed"]:
            state["fired"] = True
            raise _Timeout

    previous = signal.signal(signal.SIGALRM, interrupt)
    earlier = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield lambda: state["fired"]
    finally:
        state["armed"] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if earlier[0] > 0:  # someone else's alarm: give it back what was left of it
            signal.setitimer(signal.ITIMER_REAL, *earlier)


def render(template: jinja2.Template, context: Mapping[str, Any], *,
           budget: float = TIME_BUDGET) -> str:
    """Render `template` (made by a `BoundedEnvironment`) within the bounds.

    Raises:
        BoundError: a bound was reached.
        jinja2.TemplateError, and whatever a failing expression raises.
    """
    _current.budget = _Budget()
    chunks: list[str] = []
    size = 0
    try:
        with _deadline(budget) as fired:
            try:
                for chunk in template.generate(context):
                    size += len(chunk)
                    if size > MAX_OUTPUT:
                        raise BoundError(f"the output is over {MAX_OUTPUT} characters")
                    chunks.append(chunk)
            except _Timeout as error:
                raise BoundError(f"rendering took over {budget:g}s",
                                 _template_line(error.__traceback__)) from None
            if fired():
                raise BoundError(f"rendering took over {budget:g}s")
    except _Timeout:  # delivered after the render ended, before the watchdog was cleared
        raise BoundError(f"rendering took over {budget:g}s") from None
    finally:
        _current.budget = None
    return "".join(chunks)


def _template_line(traceback: Any) -> int | None:
    """The template line of the innermost template frame of a traceback Jinja2 did not
    rewrite (a `_Timeout` is no `Exception`, so Jinja2 leaves it as it is)."""
    line = None
    while traceback is not None:
        frame = traceback.tb_frame
        found = frame.f_globals.get("__jinja_template__")
        if frame.f_code.co_filename == "<template>" and found is not None:
            line = found.get_corresponding_lineno(traceback.tb_lineno)
        traceback = traceback.tb_next
    return line


__all__ = ["MAX_ALLOCATED", "MAX_INT_BITS", "MAX_ITEMS", "MAX_NUMBER", "MAX_OUTPUT",
           "MAX_TEXT", "TIME_BUDGET", "BoundError", "BoundedEnvironment", "render"]
