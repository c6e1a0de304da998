"""PromQL checks that need a real parser: where a parse error is, and which labels survive.

`promql_parser` (Rust, the grammar of Prometheus) says *what* is wrong with an expression
but never *where*, and a check that cannot point at the bad token is half a check. This
module finds the offset itself: a small tokenizer places the structural errors (brackets,
strings, durations, stray characters); a search over token prefixes places the rest, and
in particular the parser's bare "invalid promql query", at the first token after which no
completion of the expression parses.

vmalert evaluates MetricsQL, a superset of PromQL; the `metricsql` dialect accepts its
functions by registering them with the parser for the one parse that needs them (the
registry is process-global, so Prometheus parses never see them).

`output_labels` answers which labels an expression's result series can carry, so that an
alert annotation using `$labels.x` after `sum by (y) (...)` can be flagged before it
renders empty.

Everything here is pure: strings in, values out.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal, NamedTuple

import promql_parser

__all__ = [
    "LabelSet",
    "METRICSQL_FUNCTIONS",
    "ParseProblem",
    "output_labels",
    "parse_problem",
]

_Dialect = Literal["prometheus", "metricsql"]


# --------------------------------------------------------------------------- public values


@dataclasses.dataclass(frozen=True, slots=True)
class ParseProblem:
    """Why an expression does not parse, and the 0-based character offset of the cause."""

    message: str
    offset: int


@dataclasses.dataclass(frozen=True, slots=True)
class LabelSet:
    """The labels an expression's result series may carry.

    If `any` is true a series may carry any label except those in `names`; otherwise it
    carries at most the labels in `names`. The metric name is not tracked.
    """

    any: bool
    names: frozenset[str]

    def may_have(self, label: str) -> bool:
        """Whether some result series may carry `label`."""
        return (label not in self.names) if self.any else (label in self.names)

    def union(self, other: LabelSet) -> LabelSet:
        """The labels of series that come from either side (as `a or b` does)."""
        if self.any and other.any:
            return LabelSet(True, self.names & other.names)
        if self.any:
            return LabelSet(True, self.names - other.names)
        if other.any:
            return LabelSet(True, other.names - self.names)
        return LabelSet(False, self.names | other.names)


_EMPTY = LabelSet(False, frozenset())
_ANY = LabelSet(True, frozenset())


def _restrict(labels: LabelSet, names: Collection[str]) -> LabelSet:
    """Keep only `names` (`by`, `on`)."""
    if labels.any:
        return LabelSet(False, frozenset(names) - labels.names)
    return LabelSet(False, labels.names & frozenset(names))


def _drop(labels: LabelSet, names: Collection[str]) -> LabelSet:
    """Remove `names` (`without`, `ignoring`)."""
    if not names:
        return labels
    if labels.any:
        return LabelSet(True, labels.names | frozenset(names))
    return LabelSet(False, labels.names - frozenset(names))


def _add(labels: LabelSet, names: Collection[str]) -> LabelSet:
    """Add `names` (`group_left(...)`, `label_replace`)."""
    if not names:
        return labels
    if labels.any:
        return LabelSet(True, labels.names - frozenset(names))
    return LabelSet(False, labels.names | frozenset(names))


# --------------------------------------------------------------------------- MetricsQL

_M = promql_parser.ValueType.Matrix
_V = promql_parser.ValueType.Vector
_S = promql_parser.ValueType.Scalar
_STR = promql_parser.ValueType.String

# Signatures are as loose as the parser allows: MetricsQL converts argument types
# implicitly and many functions take optional arguments (see `_LENIENT`).
_SIGNATURE_FAMILIES: tuple[tuple[tuple[Any, ...], int, str], ...] = (
    # rollups over a range, with optional scalar parameters
    (
        (_M, _S),
        -1,
        "ascent_over_time changes_prometheus count_eq_over_time count_gt_over_time"
        " count_le_over_time count_ne_over_time decreases_over_time default_rollup"
        " delta_prometheus deriv_fast descent_over_time distinct_over_time duration_over_time"
        " geomean_over_time histogram_over_time holt_winters ideriv increase_prometheus"
        " increase_pure increases_over_time integrate lag lifetime median_over_time"
        " mode_over_time outlier_iqr_over_time range_over_time rate_over_sum scrape_interval"
        " share_eq_over_time share_gt_over_time share_le_over_time stale_samples_over_time"
        " sum2_over_time sum_eq_over_time sum_gt_over_time sum_le_over_time tfirst_over_time"
        " timestamp_with_name tlast_change_over_time tlast_over_time tmax_over_time"
        " tmin_over_time zscore_over_time",
    ),
    # rollups with an optional rollup-kind string ("min", "max", "avg", ...)
    (
        (_M, _STR),
        -1,
        "rollup rollup_candlestick rollup_delta rollup_deriv rollup_increase rollup_rate"
        " rollup_scrape_interval",
    ),
    ((_S, _M), 0, "hoeffding_bound_lower hoeffding_bound_upper"),
    ((_STR, _M), 0, "aggr_over_time count_values_over_time"),
    ((_STR, _S, _M), 0, "quantiles_over_time"),
    # transforms of an instant vector, with optional scalar parameters
    (
        (_V, _S),
        -1,
        "bitmap_and bitmap_or bitmap_xor drop_empty_series interpolate keep_last_value"
        " keep_next_value label_graphite_group prometheus_buckets range_avg range_first"
        " range_last range_linear_regression range_mad range_max range_median range_min"
        " range_stddev range_stdvar range_sum range_zscore remove_resets running_avg"
        " running_max running_min running_sum smooth_exponential ttf",
    ),
    ((_V,), -1, "drop_common_labels range_normalize ru union"),
    # label manipulation: a vector, then label names and values
    (
        (_V, _STR),
        -1,
        "label_copy label_del label_keep label_lowercase label_map label_match"
        " label_mismatch label_move label_set label_transform label_uppercase label_value"
        " label_values labels_equal sort_by_label_numeric sort_by_label_numeric_desc",
    ),
    ((_S, _V), 0, "buckets_limit range_quantile range_trim_outliers range_trim_spikes"),
    ((_S, _V), 0, "range_trim_zscore"),
    ((_S, _S, _V), 0, "limit_offset"),
    ((_S, _V, _STR), 1, "histogram_share"),
    ((), 0, "now"),
    ((_S,), 1, "rand rand_exponential rand_normal"),
    ((_STR,), 0, "timezone_offset"),
    # aggregations, in their function-call form (`median(x)`; see `_rewrite_aggregations`)
    (
        (_V,),
        -1,
        "any distinct geomean histogram mad median mode outliers_iqr share sum2 utilization zscore",
    ),
    ((_S, _V), 0, "outliers_mad outliersk"),
    (
        (_S, _V, _STR),
        1,
        "bottomk_avg bottomk_last bottomk_max bottomk_median bottomk_min topk_avg topk_last"
        " topk_max topk_median topk_min",
    ),
    ((_STR, _S, _V), 0, "quantiles"),
)

_SIGNATURES: dict[str, tuple[tuple[Any, ...], int]] = {
    name: (args, variadic)
    for args, variadic, names in _SIGNATURE_FAMILIES
    for name in names.split()
}

METRICSQL_FUNCTIONS: frozenset[str] = frozenset(_SIGNATURES)
"""Functions of MetricsQL (vmalert, VictoriaMetrics) that Prometheus does not have."""

_EXTRA_FUNCTIONS = [
    promql_parser.Function(name, list(args), _V, variadic)
    for name, (args, variadic) in sorted(_SIGNATURES.items())
]

_PROMETHEUS_AGGREGATIONS = frozenset(
    "sum avg count min max group stddev stdvar topk bottomk quantile count_values limitk"
    " limit_ratio".split()
)
_METRICSQL_AGGREGATIONS = frozenset(
    "any bottomk_avg bottomk_last bottomk_max bottomk_median bottomk_min distinct geomean"
    " histogram mad median mode outliers_iqr outliers_mad outliersk quantiles share sum2"
    " topk_avg topk_last topk_max topk_median topk_min utilization zscore".split()
)
# Aggregations taking `(k, q)`: they are parsed as `topk` when they carry a modifier.
_METRICSQL_K_AGGREGATIONS = frozenset(
    "bottomk_avg bottomk_last bottomk_max bottomk_median bottomk_min outliers_mad outliersk"
    " topk_avg topk_last topk_max topk_median topk_min".split()
)
# Aggregations that select or score series rather than merge them: input labels survive.
_PRESERVING_AGGREGATIONS = frozenset(
    "topk bottomk limitk limit_ratio any outliers_iqr outliers_mad outliersk share zscore"
    " topk_avg topk_last topk_max topk_median topk_min bottomk_avg bottomk_last bottomk_max"
    " bottomk_median bottomk_min".split()
)

# MetricsQL is lenient where PromQL is strict: `rate(x)` (implicit window), extra optional
# arguments. Such errors are accepted in the metricsql dialect.
_LENIENT = re.compile(
    r"expected (?:type \w+ in call to function|(?:at (?:least|most) )?\d+ argument\(s\) in"
    r" call to) '"
)

_LOCK = threading.Lock()


@contextmanager
def _metricsql_functions() -> Iterator[None]:
    """Register the MetricsQL functions for the block; the caller holds `_LOCK`."""
    promql_parser.register_extra_functions(_EXTRA_FUNCTIONS)
    try:
        yield
    finally:
        promql_parser.clear_extra_functions()


def _error_of(text: str) -> str | None:
    """The parser's message for `text`, or None if it parses."""
    try:
        promql_parser.parse(text)
    except ValueError as err:
        return str(err)
    return None


# --------------------------------------------------------------------------- tokens

_TOKEN_PATTERN = r"""
    (?P<space>\s+)
    |(?P<comment>\#[^\r\n]*)
    |(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
    |(?P<badstr>["'`])
    |(?P<num>(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)[A-Za-z0-9_.]*)
    |(?P<ident>IDENT)
    |(?P<op>==|!=|<=|>=|=~|!~|[-+*/%^<>=!,@:])
    |(?P<open>[(\[{])
    |(?P<close>[)\]}])
    |(?P<other>.)
"""
_TOKEN_RE = re.compile(
    _TOKEN_PATTERN.replace("IDENT", "[A-Za-z_:][A-Za-z0-9_:]*"), re.VERBOSE | re.DOTALL
)
# Inside `[...]` a colon separates the range from the subquery step.
_BRACKET_TOKEN_RE = re.compile(
    _TOKEN_PATTERN.replace("IDENT", "[A-Za-z_][A-Za-z0-9_]*"), re.VERBOSE | re.DOTALL
)
_CLOSER = {"(": ")", "[": "]", "{": "}"}
_ESCAPE_RE = re.compile(r"\\(.)", re.DOTALL)
_BINARY_OPERATORS = frozenset("+ - * / % ^ == != < > <= >= and or unless atan2".split())


class _Token(NamedTuple):
    kind: str  # space/comment never appear; badstr runs to the end of the text
    text: str
    start: int
    end: int
    inside: str  # the innermost enclosing bracket: "", "(", "[" or "{"


@dataclasses.dataclass(frozen=True, slots=True)
class _Lexed:
    text: str
    tokens: list[_Token]
    pairs: dict[int, int]  # opener index <-> closer index, both ways
    stray: list[int]  # closers with no opener
    unclosed: list[int]  # openers never closed, outermost first


def _lex(text: str) -> _Lexed:
    """Tokens of `text`, skipping spaces, comments and the insides of strings."""
    tokens: list[_Token] = []
    pairs: dict[int, int] = {}
    stray: list[int] = []
    stack: list[int] = []
    pos = 0
    while True:
        in_brackets = bool(stack) and tokens[stack[-1]].text == "["
        match = (_BRACKET_TOKEN_RE if in_brackets else _TOKEN_RE).match(text, pos)
        if match is None:
            break
        kind = match.lastgroup or "other"
        pos = len(text) if kind == "badstr" else match.end()
        if kind in ("space", "comment"):
            continue
        index = len(tokens)
        inside = tokens[stack[-1]].text if stack else ""
        tokens.append(_Token(kind, text[match.start() : pos], match.start(), pos, inside))
        if kind == "open":
            stack.append(index)
        elif kind == "close" and stack and _CLOSER[tokens[stack[-1]].text] == match[0]:
            opener = stack.pop()
            pairs[opener] = index
            pairs[index] = opener
        elif kind == "close":
            stray.append(index)
    return _Lexed(text, tokens, pairs, stray, stack)


def _is_binary_operator(token: _Token) -> bool:
    return token.kind in ("op", "ident") and token.text.lower() in _BINARY_OPERATORS


def _walk_back(lexed: _Lexed, index: int) -> Iterator[int]:
    """Indexes from `index` down to 0, jumping over bracketed groups closed before it."""
    i = index
    while i >= 0:
        yield i
        token = lexed.tokens[i]
        i = lexed.pairs[i] - 1 if token.kind == "close" and i in lexed.pairs else i - 1


def _nearest(lexed: _Lexed, index: int, wanted: Callable[[_Token], bool]) -> int | None:
    """The start of the closest token at or before `index`, at its nesting level or above."""
    for i in _walk_back(lexed, index):
        if wanted(lexed.tokens[i]):
            return lexed.tokens[i].start
    return None


def _call_name(lexed: _Lexed, paren: int) -> int:
    """The index of the function or aggregation name before the argument list at `paren`."""
    tokens = lexed.tokens
    name = paren - 1
    if name >= 0 and tokens[name].text == ")" and name in lexed.pairs:
        modifier = lexed.pairs[name] - 1  # `sum by (a) (...)`
        if modifier >= 0 and tokens[modifier].text.lower() in ("by", "without"):
            name = modifier - 1
    return name if name >= 0 and tokens[name].kind == "ident" else paren


def _enclosing_call(lexed: _Lexed, index: int) -> int | None:
    """The start of the name of the innermost call still open at token `index`."""
    for i in _walk_back(lexed, index - 1):
        if lexed.tokens[i].text == "(":
            return lexed.tokens[_call_name(lexed, i)].start
    return None


def _unescape_char(text: str) -> str:
    """A character as Rust's `{:?}` prints it (`\\\\`, `\\'`, `\\n`, `\\u{301}`)."""
    simple = {"\\\\": "\\", "\\'": "'", '\\"': '"', "\\n": "\n", "\\t": "\t", "\\r": "\r"}
    if text in simple:
        return simple[text]
    if match := re.fullmatch(r"\\u\{([0-9a-fA-F]+)\}", text):
        return chr(int(match[1], 16))
    return text


# --------------------------------------------------------------------------- locators
# Each takes the lexed text and the match of its message pattern; None means "not found".

_Locator = Callable[[_Lexed, re.Match[str]], int | None]


def _first(tokens: Sequence[_Token], wanted: Callable[[_Token], bool]) -> int | None:
    return next((token.start for token in tokens if wanted(token)), None)


def _last(tokens: Sequence[_Token], wanted: Callable[[_Token], bool]) -> int | None:
    return next((token.start for token in reversed(tokens) if wanted(token)), None)


def _at_unknown_function(lexed: _Lexed, match: re.Match[str]) -> int | None:
    tokens, name = lexed.tokens, match["name"]
    for i, token in enumerate(tokens[:-1]):
        if token.kind == "ident" and token.text == name and tokens[i + 1].text == "(":
            return token.start
    return _first(tokens, lambda t: t.text == name)


def _at_unclosed(lexed: _Lexed, match: re.Match[str]) -> int | None:
    opener = {"parenthesis": "(", "brackets": "[", "braces": "{"}[match["what"]]
    return _last([lexed.tokens[i] for i in lexed.unclosed], lambda t: t.text == opener)


def _at_stray_closer(lexed: _Lexed, match: re.Match[str]) -> int | None:
    closer = match["char"]
    found = _first([lexed.tokens[i] for i in lexed.stray], lambda t: t.text == closer)
    return found if found is not None else _first(lexed.tokens, lambda t: t.text == closer)


def _at_unterminated(lexed: _Lexed, match: re.Match[str]) -> int | None:
    return _first(lexed.tokens, lambda t: t.kind == "badstr")


def _at_fragment(lexed: _Lexed, match: re.Match[str]) -> int | None:
    fragment = match["fragment"]
    return _first(lexed.tokens, lambda t: lexed.text.startswith(fragment, t.start))


def _at_zero_duration(lexed: _Lexed, match: re.Match[str]) -> int | None:
    tokens = lexed.tokens
    for i, token in enumerate(tokens):
        in_range = token.inside == "[" or (i > 0 and tokens[i - 1].text.lower() == "offset")
        if token.kind == "num" and in_range and not re.search(r"[1-9]", token.text):
            return token.start
    return None


def _at_missing_duration(lexed: _Lexed, match: re.Match[str]) -> int | None:
    """`x[]`: point where the duration should be."""
    tokens = lexed.tokens
    for i, token in enumerate(tokens[:-1]):
        if token.text == "[" and tokens[i + 1].text in ("]", ":"):
            return tokens[i + 1].start
    return None


def _at_colon(lexed: _Lexed, match: re.Match[str]) -> int | None:
    """A colon in `[...]` that is either the first thing or the second colon."""
    colons = 0
    for i, token in enumerate(lexed.tokens):
        if token.text == "[":
            colons = 0
        elif token.text == ":" and token.inside == "[":
            colons += 1
            if colons == 2 or lexed.tokens[i - 1].text == "[":
                return token.start
    return None


def _at_char_after(lexed: _Lexed, match: re.Match[str]) -> int | None:
    first, then = match["first"], _unescape_char(match["then"])
    if not then:  # "'!' can not be at the end"
        return _last(lexed.tokens, lambda t: t.text.startswith(first))
    return _first(
        lexed.tokens,
        lambda t: (
            t.kind not in ("str", "badstr")
            and t.text.startswith(first)
            and lexed.text.startswith(then, t.start + 1)
        ),
    )


def _at_char(lexed: _Lexed, match: re.Match[str]) -> int | None:
    char = _unescape_char(match["char"])
    inside = {"braces": "{", "brackets": "[", None: None}[match["where"]]
    return _first(
        lexed.tokens,
        lambda t: (
            t.kind not in ("str", "badstr")
            and t.text.startswith(char)
            and (inside is None or t.inside == inside)
        ),
    )


def _at_nested_opener(lexed: _Lexed, match: re.Match[str]) -> int | None:
    opener = match["char"]
    return _first(lexed.tokens, lambda t: t.text == opener and t.inside == opener)


def _at_escape(lexed: _Lexed, match: re.Match[str]) -> int | None:
    char = _unescape_char(match["char"])
    for token in lexed.tokens:
        if token.kind not in ("str", "badstr"):
            continue
        for escape in _ESCAPE_RE.finditer(token.text, 1):
            if escape[1] == char:
                return token.start + escape.start()
    return None


_RULES: tuple[tuple[re.Pattern[str], _Locator], ...] = tuple(
    (re.compile(pattern, re.DOTALL), locator)
    for pattern, locator in (
        (r"unknown function with name '(?P<name>[^']*)'", _at_unknown_function),
        (r"unclosed left (?P<what>parenthesis)", _at_unclosed),
        (r"unexpected end of input inside (?P<what>brackets|braces)", _at_unclosed),
        (r"unexpected right (?:parenthesis|brace|bracket) '(?P<char>.)'", _at_stray_closer),
        (r"unterminated quoted string", _at_unterminated),
        (
            r"(?:bad number or duration syntax|bad duration syntax|not a valid duration string)"
            r": (?P<fragment>.+)$",
            _at_fragment,
        ),
        (r"duration must be greater than 0", _at_zero_duration),
        (r"missing unit character in duration", _at_missing_duration),
        (r"unexpected second colon|expect duration before first colon", _at_colon),
        (
            r"unexpected character after '(?P<first>.)'(?: inside braces)?: '(?P<then>.+)'$",
            _at_char_after,
        ),
        (r"'(?P<first>!)' can not be at the end(?P<then>)", _at_char_after),
        (r"unexpected left brace '(?P<char>.)' inside", _at_nested_opener),
        (
            r"unexpected character(?: inside (?P<where>braces|brackets))?: '?(?P<char>.+?)'?$",
            _at_char,
        ),
        (r"unknown escape sequence '(?P<char>.+)'$", _at_escape),
        (r"no expression found", lambda lexed, match: 0),
    )
)

# --------------------------------------------------------------------------- prefix searches

_GENERIC = "invalid promql query"
# Messages about the shape of the text rather than about types or semantics.
_SYNTAX_PREFIXES = (
    _GENERIC,
    "unexpected",
    "unclosed",
    "unterminated",
    "bad number",
    "bad duration",
    "not a valid duration",
    "'!'",
    "escape sequence",
    "unknown escape",
    "expect duration",
    "missing unit",
    "invalid label matcher",
    "invalid syntax",
    "no expression",
    "too many",
)
# How many prefixes past a dead end are tried (see `_dead_end`).
_LOOKAHEAD = 4
# What may follow a prefix to make it whole: an operand, a string, a matcher, a duration,
# a number, a call, a grouping, ...; then the open brackets are closed; then an operand.
_COMPLETIONS = ("", " x", " (x)", "()", ' "v"', '="v"', " 5m", " 1", " (a) x", " (a) (x)")
_TAILS = ("", " x", " (x)")


def _prefixes(lexed: _Lexed) -> list[tuple[str, str]]:
    """For each token, the text up to and including it, and the closers its brackets need."""
    stack: list[str] = []
    prefixes: list[tuple[str, str]] = []
    for token in lexed.tokens:
        if token.kind == "open":
            stack.append(_CLOSER[token.text])
        elif token.kind == "close" and stack and stack[-1] == token.text:
            stack.pop()
        prefixes.append((lexed.text[: token.end], "".join(reversed(stack))))
    return prefixes


def _after_last(prefixes: list[tuple[str, str]], holds: Callable[[str, str], bool]) -> int:
    """The index after the last prefix for which `holds` (0 if none does).

    A bisection would assume the property flips once, but closing a prefix's brackets can
    make errors the whole text does not have (`rate(x` closes to `rate(x)`); so this scans
    from the end and stops at the first prefix that holds.
    """
    for index in range(len(prefixes) - 1, -1, -1):
        if holds(*prefixes[index]):
            return index + 1
    return 0


def _complete(
    prefix: str, closers: str, parse: Callable[[str], str | None]
) -> tuple[bool, str | None]:
    """Whether some completion of `prefix` is syntactically valid, and its parse message."""
    for middle in _COMPLETIONS:
        for tail in _TAILS:
            message = parse(prefix + middle + closers + tail)
            if message is None or not message.startswith(_SYNTAX_PREFIXES):
                return True, message
    return False, None


def _trailing_operator(lexed: _Lexed) -> int | None:
    """The index of a binary operator that ends the text (with its modifiers), if any."""
    tokens = lexed.tokens
    i = len(tokens) - 1
    for keywords in (("group_left", "group_right"), ("on", "ignoring")):
        if i > 0 and tokens[i].text == ")" and i in lexed.pairs:
            before = lexed.pairs[i] - 1
            i = before - 1 if before >= 0 and tokens[before].text.lower() in keywords else i
        elif i >= 0 and tokens[i].text.lower() in keywords:
            i -= 1
    if i >= 0 and tokens[i].text.lower() == "bool":
        i -= 1
    return i if i >= 0 and _is_binary_operator(tokens[i]) else None


def _describe(token: _Token) -> str:
    kind = {"ident": "identifier ", "num": "number ", "str": "string "}.get(token.kind, "")
    return f"{kind}{token.text}" if token.kind == "str" else f'{kind}"{token.text}"'


def _dead_end(prefixes: list[tuple[str, str]], parse: Callable[[str], str | None]) -> int:
    """The index of the first token after which nothing parses (`len(prefixes)` if none).

    A bisection, as a prefix that cannot be completed cannot be once extended either; but
    only "some completion parses" is certain, "none of those tried does" is a guess, so a
    few prefixes past the one found are tried too, and if one is viable the search goes on
    from there.
    """

    @functools.cache
    def viable(index: int) -> bool:
        return _complete(*prefixes[index], parse)[0]

    start = 0
    while True:
        low, high = start, len(prefixes)
        while low < high:
            middle = (low + high) // 2
            low, high = (middle + 1, high) if viable(middle) else (low, middle)
        ahead = range(low + 1, min(low + 1 + _LOOKAHEAD, len(prefixes)))
        revived = next((i for i in ahead if viable(i)), None)
        if revived is None:
            return low
        start = revived + 1


def _syntax_problem(lexed: _Lexed, parse: Callable[[str], str | None]) -> ParseProblem:
    """Place the parser's bare "invalid promql query" at the token nothing valid can reach.

    That is the first token whose prefix no completion makes valid; a few later prefixes
    are tried too, since that a completion parses is proof but that none of those tried
    does is a guess.
    """
    tokens = lexed.tokens
    if not tokens:
        return ParseProblem("syntax error: empty expression", 0)
    index = _dead_end(_prefixes(lexed), parse)
    if index < len(tokens):
        token = tokens[index]
        return ParseProblem(f"syntax error: unexpected {_describe(token)}", token.start)
    operator = _trailing_operator(lexed)
    if operator is not None:
        token = tokens[operator]
        return ParseProblem(
            f'syntax error: operator "{token.text}" has no right-hand side', token.start
        )
    return ParseProblem(
        f"syntax error: unexpected end of input after {_describe(tokens[-1])}", tokens[-1].start
    )


def _reproduce(lexed: _Lexed, message: str, parse: Callable[[str], str | None]) -> int | None:
    """The token from which on the prefixes (brackets closed) fail with `message`.

    This is the token after the largest prefix that parses, or fails otherwise; a prefix
    that is merely incomplete (`... +`) is judged by its first completion that parses
    (`... + x`), or skipped if there is none.
    """

    def differs(prefix: str, closers: str) -> bool:
        found = parse(prefix + closers)
        if found == message:
            return False
        if found is None or not found.startswith(_SYNTAX_PREFIXES):
            return True
        completed, found = _complete(prefix, closers, parse)
        return completed and found != message

    prefixes = _prefixes(lexed)
    index = _after_last(prefixes, differs)
    return index if index < len(prefixes) else None


# Once the prefix search has found the token where a semantic error shows, where to point.
_ANCHORS: tuple[tuple[str, Callable[[_Token], bool]], ...] = (
    ("metric name must not be set twice", lambda t: t.text == "__name__"),
    ("vector selector must contain", lambda t: t.text == "{"),
    ("ranges only allowed", lambda t: t.text == "["),
    ("no offset modifiers allowed before range", lambda t: t.text == "["),
    ("offset", lambda t: t.text.lower() == "offset"),
    ("@ ", lambda t: t.text == "@"),
    ("unary expression", lambda t: t.text in ("-", "+")),
    ("binary expression", _is_binary_operator),
    ("comparisons between scalars", _is_binary_operator),
    ("bool modifier", _is_binary_operator),
    ("vector matching", _is_binary_operator),
    ("set operator", _is_binary_operator),
    ("no grouping allowed", _is_binary_operator),
)


def _quoted_token(lexed: _Lexed, index: int, message: str) -> int | None:
    """The closest token at or before `index` spelled like the first quoted word of `message`."""
    quoted = re.search(r"'([^']+)'", message)
    if quoted is None:
        return None
    word = quoted[1]

    def spelled(token: _Token) -> bool:
        return token.text == word or token.text.lower() == word.lower() or token.text[1:-1] == word

    found = _last(lexed.tokens[: index + 1], spelled)
    return found if found is not None else _first(lexed.tokens, spelled)


def _anchor(lexed: _Lexed, index: int, message: str) -> int | None:
    if "in call to" in message or "aggregat" in message:
        found = _enclosing_call(lexed, index)
        if found is not None:
            return found
    for start, wanted in _ANCHORS:
        if message.startswith(start) or (len(start) > 3 and start in message):
            found = _nearest(lexed, index, wanted)
            if found is not None:
                return found
            break
    found = _quoted_token(lexed, index, message)
    return found if found is not None else lexed.tokens[index].start


def _locate(lexed: _Lexed, message: str, parse: Callable[[str], str | None]) -> ParseProblem:
    """Where in `lexed.text` the parser's `message` comes from."""
    for pattern, locator in _RULES:
        match = pattern.match(message)
        if match is not None:
            offset = locator(lexed, match)
            if offset is not None:
                return ParseProblem(message, offset)
            break
    if message == _GENERIC:
        return _syntax_problem(lexed, parse)
    index = _reproduce(lexed, message, parse)
    if index is not None:
        offset = _anchor(lexed, index, message)
    else:
        offset = _quoted_token(lexed, len(lexed.tokens) - 1, message)
    return ParseProblem(message, offset or 0)


# --------------------------------------------------------------------------- MetricsQL text


def _aggregation_args(lexed: _Lexed, index: int) -> int | None:
    """The index of the `(` of the arguments of an aggregation named at `index`."""
    tokens = lexed.tokens
    i = index + 1
    if i < len(tokens) and tokens[i].text.lower() in ("by", "without"):
        if i + 1 >= len(tokens) or i + 1 not in lexed.pairs:
            return None
        i = lexed.pairs[i + 1] + 1
    return i if i < len(tokens) and tokens[i].text == "(" else None


def _arguments(lexed: _Lexed, paren: int) -> list[tuple[int, int]] | None:
    """The token index ranges (first, last) of the arguments in the parentheses at `paren`."""
    close = lexed.pairs.get(paren)
    if close is None:
        return None
    arguments: list[tuple[int, int]] = []
    first, i = paren + 1, paren + 1
    while i < close:
        if lexed.tokens[i].kind == "open":
            i = lexed.pairs.get(i, close)
        elif lexed.tokens[i].text == ",":
            arguments.append((first, i - 1))
            first = i + 1
        i += 1
    if first < close:
        arguments.append((first, close - 1))
    return arguments


def _calls_or_aggregates(lexed: _Lexed, index: int) -> bool:
    """Whether the identifier at `index` is used as a function or aggregation name."""
    tokens = lexed.tokens
    if tokens[index].kind != "ident" or tokens[index].inside == "{" or index + 1 >= len(tokens):
        return False
    return tokens[index + 1].text == "(" or tokens[index + 1].text.lower() in ("by", "without")


def _metricsql_names(lexed: _Lexed) -> list[int]:
    """Indexes of MetricsQL function names used as such."""
    return [
        i
        for i, token in enumerate(lexed.tokens)
        if token.text.lower() in METRICSQL_FUNCTIONS and _calls_or_aggregates(lexed, i)
    ]


class _Aggregation(NamedTuple):
    """An aggregation as written, before `_rewrite_aggregations` renamed it."""

    name: str
    strings: tuple[str, ...]  # its string arguments, "" for the others


def _stand_in(name: str, count: int) -> tuple[str, range] | None:
    """The PromQL aggregation a MetricsQL one is parsed as, and which arguments it keeps."""
    if name in _METRICSQL_K_AGGREGATIONS and count >= 2:
        return "topk", range(2)  # (k, q, "other_label")
    if name == "quantiles" and count >= 3:
        return "sum", range(count - 1, count)  # ("phi_label", phi1, ..., q)
    if name not in _METRICSQL_K_AGGREGATIONS and count == 1:
        return "sum", range(1)
    return None


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


def _rewrite_aggregation(lexed: _Lexed, text: str, index: int) -> tuple[str, _Aggregation] | None:
    """Rename the MetricsQL aggregation at `index` and blank the arguments its stand-in lacks."""
    tokens = lexed.tokens
    paren = _aggregation_args(lexed, index)
    arguments = _arguments(lexed, paren) if paren is not None else None
    stand_in = _stand_in(tokens[index].text.lower(), len(arguments)) if arguments else None
    if arguments is None or stand_in is None or len(stand_in[0]) > len(tokens[index].text):
        return None
    replacement, kept = stand_in
    strings = tuple(
        tokens[first].text[1:-1] if first == last and tokens[first].kind == "str" else ""
        for first, last in arguments
    )
    for number, (first, last) in enumerate(arguments):
        if number in kept:
            continue
        # the argument and the comma after it, or, for the last argument, the comma before
        start = tokens[first].start if number + 1 < len(arguments) else tokens[first - 1].start
        end = tokens[last + 1].end if number + 1 < len(arguments) else tokens[last].end
        text = _blank(text, start, end)
    name = tokens[index]
    text = text[: name.start] + replacement.ljust(len(name.text)) + text[name.end :]
    return text, _Aggregation(name.text.lower(), strings)


def _rewrite_aggregations(lexed: _Lexed) -> tuple[str, list[_Aggregation]]:
    """Let the parser read MetricsQL aggregations (`median by (job) (x)`).

    Each is renamed, in place and padded to its length so that offsets stay true, to a
    PromQL aggregation of the same shape (`sum` or `topk`), and the arguments that one
    does not take are blanked. Returns the new text and all aggregations as written, in
    text order, which is the order `_analyze` meets them in.
    """
    text = lexed.text
    aggregations: list[_Aggregation] = []
    for i, token in enumerate(lexed.tokens):
        name = token.text.lower()
        if not _calls_or_aggregates(lexed, i):
            continue
        if name in _PROMETHEUS_AGGREGATIONS:
            aggregations.append(_Aggregation(name, ()))
        elif name in _METRICSQL_AGGREGATIONS:
            rewritten = _rewrite_aggregation(lexed, text, i)
            if rewritten is not None:
                text, aggregation = rewritten
                aggregations.append(aggregation)
    return text, aggregations


# --------------------------------------------------------------------------- parse problems


def _rephrase(problem: ParseProblem, dialect: _Dialect) -> ParseProblem:
    match = re.match(r"unknown function with name '([^']*)'", problem.message)
    if match is None:
        return problem
    name = match[1]
    if dialect == "prometheus" and name in METRICSQL_FUNCTIONS:
        return ParseProblem(
            f'unknown function "{name}" (a MetricsQL function: vmalert only)', problem.offset
        )
    return ParseProblem(f'unknown function "{name}"', problem.offset)


def _prometheus_problem(expr: str, message: str) -> ParseProblem:
    lexed = _lex(expr)
    if message == _GENERIC:
        for i in _metricsql_names(lexed):
            name = lexed.tokens[i].text
            if name.lower() in _METRICSQL_AGGREGATIONS:
                return ParseProblem(
                    f'unknown aggregation "{name}" (a MetricsQL function: vmalert only)',
                    lexed.tokens[i].start,
                )
    return _rephrase(_locate(lexed, message, _error_of), "prometheus")


def _metricsql_problem(expr: str, message: str) -> ParseProblem | None:
    if _LENIENT.match(message):
        return None
    lexed = _lex(expr)
    if not _metricsql_names(lexed):
        return _rephrase(_locate(lexed, message, _error_of), "metricsql")
    text, _ = _rewrite_aggregations(lexed)
    with _metricsql_functions():
        rewritten = _error_of(text)
        if rewritten is None or _LENIENT.match(rewritten):
            return None
        return _rephrase(_locate(_lex(text), rewritten, _error_of), "metricsql")


def parse_problem(expr: str, *, dialect: _Dialect = "prometheus") -> ParseProblem | None:
    """Why `expr` does not parse, and where; None if it parses.

    Args:
        expr: The PromQL (or MetricsQL) expression.
        dialect: "prometheus", or "metricsql" for vmalert, which also accepts the
            functions in `METRICSQL_FUNCTIONS` and is lenient about argument types.

    Returns:
        The parser's message (reworded where it is vague) and the 0-based character
        offset of the problem, always within `0..len(expr)`; or None.
    """
    with _LOCK:
        try:
            promql_parser.parse(expr)
        except ValueError as err:
            message = str(err)
        else:
            return None
        if dialect == "metricsql":
            problem = _metricsql_problem(expr, message)
        else:
            problem = _prometheus_problem(expr, message)
    if problem is None:
        return None
    return ParseProblem(problem.message, max(0, min(problem.offset, len(expr))))


# --------------------------------------------------------------------------- output labels

# (is the value a scalar or string, the labels its series may carry)
_Shape = tuple[bool, LabelSet]

# Functions adding the label named by some of their string arguments.
_ADDS_LABEL_ARGUMENTS: dict[str, slice] = {
    "label_replace": slice(1, 2),
    "label_join": slice(1, 2),
    "label_set": slice(1, None, 2),
    "label_copy": slice(2, None, 2),
    "label_move": slice(2, None, 2),
    "count_values_over_time": slice(0, 1),
    "quantiles_over_time": slice(0, 1),
    # MetricsQL: ("phi", 0.5, ..., q); Prometheus (experimental): (q, "phi", 0.5, ...)
    "histogram_quantiles": slice(0, 2),
}
_REMOVES_LABEL_ARGUMENTS: dict[str, slice] = {
    "label_del": slice(1, None),
    "label_move": slice(1, None, 2),
}
_ADDS_LABELS: dict[str, frozenset[str]] = {
    "histogram_over_time": frozenset({"vmrange"}),
    "prometheus_buckets": frozenset({"le"}),
    "aggr_over_time": frozenset({"rollup"}),
}
_DROPS_LABELS: dict[str, frozenset[str]] = {
    "histogram_quantile": frozenset({"le"}),
    "histogram_fraction": frozenset({"le"}),
    "histogram_share": frozenset({"le"}),
    "histogram_quantiles": frozenset({"le"}),
    "prometheus_buckets": frozenset({"vmrange"}),
}
# `rollup(m[5m])` returns one series per kind, labelled `rollup="min"` and so on.
_ROLLUP_LABEL = frozenset(name for name in _SIGNATURES if name.startswith("rollup"))


_RELABELLING = frozenset(
    {*_ADDS_LABEL_ARGUMENTS, *_REMOVES_LABEL_ARGUMENTS, *_ADDS_LABELS, *_DROPS_LABELS}
    | _ROLLUP_LABEL
    | {"label_keep"}
)


def _strings(args: Sequence[Any]) -> list[str]:
    return [arg.val if isinstance(arg, promql_parser.StringLiteral) else "" for arg in args]


def _named(strings: list[str], which: slice) -> frozenset[str]:
    return frozenset(name for name in strings[which] if name)


def _absent_labels(arg: Any) -> LabelSet:
    """`absent(x{a="b"})` carries the labels of the selector's equality matchers."""
    while isinstance(arg, promql_parser.ParenExpr):
        arg = arg.expr
    if isinstance(arg, promql_parser.MatrixSelector):
        arg = arg.vector_selector
    if not isinstance(arg, promql_parser.VectorSelector):
        return _EMPTY
    matchers = [*arg.matchers.matchers, *(m for group in arg.matchers.or_matchers for m in group)]
    return LabelSet(
        False,
        frozenset(
            m.name
            for m in matchers
            if m.op == promql_parser.MatchOp.Equal and m.name != "__name__" and m.value
        ),
    )


def _relabel(name: str, labels: LabelSet, strings: list[str]) -> LabelSet:
    """What a function does to the labels of its vector argument."""
    labels = _drop(labels, _DROPS_LABELS.get(name, frozenset()))
    if name in _REMOVES_LABEL_ARGUMENTS:
        labels = _drop(labels, _named(strings, _REMOVES_LABEL_ARGUMENTS[name]))
    if name == "label_keep":
        labels = _restrict(labels, _named(strings, slice(1, None)))
    if name in _ADDS_LABEL_ARGUMENTS:
        labels = _add(labels, _named(strings, _ADDS_LABEL_ARGUMENTS[name]))
    if name in _ROLLUP_LABEL and len(strings) < 2:
        labels = _add(labels, {"rollup"})
    return _add(labels, _ADDS_LABELS.get(name, frozenset()))


def _metricsql_aggregation(
    name: str, grouped: LabelSet, inner: LabelSet, strings: list[str]
) -> LabelSet:
    if name in _PRESERVING_AGGREGATIONS:
        return inner
    if name == "histogram":
        return _add(grouped, {"vmrange"})
    if name == "quantiles":
        return _add(grouped, _named(strings, slice(0, 1)))
    return grouped


def _call(node: Any, aggregations: Iterator[_Aggregation] | None) -> _Shape:
    function, args = node.func, node.args
    name: str = function.name
    shapes = [_analyze(arg, aggregations) for arg in args]
    if function.return_type == promql_parser.ValueType.Scalar:
        return True, _EMPTY
    if name in ("absent", "absent_over_time"):
        return False, _absent_labels(args[0]) if args else _EMPTY
    if name == "info":
        return False, _ANY  # adds the labels of info metrics
    vectors = [labels for scalar, labels in shapes if not scalar]
    labels = functools.reduce(LabelSet.union, vectors) if vectors else _EMPTY
    if name in _METRICSQL_AGGREGATIONS:
        return False, _metricsql_aggregation(name, _EMPTY, labels, _strings(args))
    if name in _RELABELLING:
        return False, _relabel(name, labels, _strings(args))
    return False, labels


def _grouping(modifier: Any, inner: LabelSet) -> LabelSet:
    if modifier is None:
        return _EMPTY
    if modifier.type == promql_parser.AggModifierType.By:
        return _restrict(inner, modifier.labels)
    return _drop(inner, modifier.labels)


def _aggregate(node: Any, aggregations: Iterator[_Aggregation] | None) -> LabelSet:
    written = _Aggregation(str(node.op).lower(), ())
    if aggregations is not None:
        written = next(aggregations, written)
    if node.param is not None:
        _analyze(node.param, aggregations)
    _, inner = _analyze(node.expr, aggregations)
    grouped = _grouping(node.modifier, inner)
    if written.name == "count_values":
        return _add(grouped, _named(_strings([node.param]), slice(0, 1)))
    return _metricsql_aggregation(written.name, grouped, inner, list(written.strings))


def _binary(node: Any, aggregations: Iterator[_Aggregation] | None) -> _Shape:
    left_scalar, left = _analyze(node.lhs, aggregations)
    right_scalar, right = _analyze(node.rhs, aggregations)
    if left_scalar or right_scalar:
        return left_scalar and right_scalar, right if left_scalar else left
    operator = str(node.op).lower()
    modifier = node.modifier
    if operator == "or":
        return False, left.union(right)
    if operator in ("and", "unless") or modifier is None:
        return False, left
    cardinality = promql_parser.VectorMatchCardinality
    if modifier.card == cardinality.ManyToOne:
        return False, _add(left, modifier.group_labels or [])
    if modifier.card == cardinality.OneToMany:
        return False, _add(right, modifier.group_labels or [])
    matching = modifier.matching
    if matching is None:
        return False, left
    if matching.type == promql_parser.LabelModifierType.Include:
        return False, _restrict(left, matching.labels)
    return False, _drop(left, matching.labels)


def _inner(node: Any, aggregations: Iterator[_Aggregation] | None) -> _Shape:
    return _analyze(node.expr, aggregations)


_ANALYZERS: dict[type, Callable[[Any, Iterator[_Aggregation] | None], _Shape]] = {
    promql_parser.NumberLiteral: lambda node, aggregations: (True, _EMPTY),
    promql_parser.StringLiteral: lambda node, aggregations: (True, _EMPTY),
    promql_parser.VectorSelector: lambda node, aggregations: (False, _ANY),
    promql_parser.MatrixSelector: lambda node, aggregations: (False, _ANY),
    promql_parser.ParenExpr: _inner,
    promql_parser.UnaryExpr: _inner,
    promql_parser.SubqueryExpr: _inner,
    promql_parser.AggregateExpr: lambda node, aggregations: (False, _aggregate(node, aggregations)),
    promql_parser.BinaryExpr: _binary,
    promql_parser.Call: _call,
}


def _analyze(node: Any, aggregations: Iterator[_Aggregation] | None) -> _Shape:
    """The shape of `node`; `aggregations` lists its aggregations as written, if renamed."""
    analyzer = _ANALYZERS.get(type(node))
    return analyzer(node, aggregations) if analyzer is not None else (False, _ANY)


def _parse_tree(expr: str, dialect: _Dialect) -> tuple[Any, list[_Aggregation] | None] | None:
    """The AST of `expr`, and the original aggregation names if they had to be renamed."""
    try:
        return promql_parser.parse(expr), None
    except ValueError:
        if dialect != "metricsql":
            return None
    lexed = _lex(expr)
    if not _metricsql_names(lexed):
        return None
    text, names = _rewrite_aggregations(lexed)
    with _metricsql_functions():
        try:
            return promql_parser.parse(text), names
        except ValueError:
            return None


def output_labels(expr: str, *, dialect: _Dialect = "prometheus") -> LabelSet | None:
    """Which labels the series `expr` returns can carry.

    Args:
        expr: The PromQL (or MetricsQL) expression.
        dialect: As for `parse_problem`.

    Returns:
        The labels (an over-approximation: a label it allows may still be absent), or
        None if `expr` does not parse (in the metricsql dialect, also when it is only
        accepted leniently, as `rate(x)` is).
    """
    with _LOCK:
        parsed = _parse_tree(expr, dialect)
    if parsed is None:
        return None
    tree, names = parsed
    scalar, labels = _analyze(tree, iter(names) if names is not None else None)
    return _EMPTY if scalar else labels


def analyze(expr: str, *, dialect: _Dialect = "prometheus") -> tuple[ParseProblem | None,
                                                                      LabelSet | None]:
    """`parse_problem` and `output_labels` at once, parsing a valid expression only once."""
    with _LOCK:
        try:
            tree = promql_parser.parse(expr)
        except ValueError:
            tree = None
    if tree is None:
        return parse_problem(expr, dialect=dialect), output_labels(expr, dialect=dialect)
    scalar, labels = _analyze(tree, None)
    return None, _EMPTY if scalar else labels
