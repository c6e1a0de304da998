"""A persistent, content-addressed cache of the work done per spec file.

A check spends most of its time on what depends on one file alone: parsing its YAML,
analysing its PromQL expressions and its Go templates. Each file's results are stored
under the SHA-256 of its path and bytes (and converge's code), so a re-check after a
one-file edit reloads the other files' results instead of recomputing them.

What an entry holds, and why it cannot change the output:

* the loaded file (`loader.LoadedFile`: its text, documents and YAML diagnostics): a
  function of the path and bytes alone;
* the PromQL analyses asked about its expressions, keyed by expression and dialect, and
  the template problems and label references asked about its templates, keyed by text,
  dialect and the names the target version lacks. Each answer carries its whole input
  in its key, so a Project that changes targets or versions asks other keys (misses)
  and never reads a stale answer.

Validation, expansion and every check still run each time: their diagnostics depend on
other files (names, references, routing) and on the Project, so none is stored.

Entries are pickles read by an unpickler that builds only the classes an entry is made
of (a crafted file cannot run code); any failure to read, unpickle or validate an entry
is a miss. Files are written to a temporary name and renamed into place, so concurrent
runs never see half an entry; the directory is pruned to `max_bytes` by age of last
use (a hit refreshes a file's mtime).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import os
import pickle
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from converge.compiler import diagnostics, loader
from converge.compiler.sources import SourceFile

FORMAT = 1
"""Bumped when an entry's layout changes."""
DEFAULT_MAX_BYTES = 512 * 2**20
"""The directory is pruned to this size (a 10,000-rule repository takes about 12 MB)."""
_PRUNED_TO = 0.8
"""Pruning removes the least recently used entries down to this share of the limit."""
_SUFFIX = ".entry"

Problems = Mapping[tuple[str, str, frozenset[str]], tuple[object, ...]]


@dataclasses.dataclass(frozen=True, slots=True)
class Entry:
    """One file's cached work."""

    loaded: loader.LoadedFile
    analyses: dict[tuple[str, str], tuple[object, object, object]]
    """PromQL analyses by (expression as written, dialect)."""
    problems: dict[tuple[str, str, frozenset[str]], tuple[object, ...]]
    """Template problems by (text, dialect, names unavailable)."""
    references: dict[str, tuple[object, ...]]
    """Template label references by text."""


def default_directory() -> Path:
    """`$XDG_CACHE_HOME/converge`, else `~/.cache/converge`."""
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "converge"


class Store:
    """The cache directory; every method is safe to call when the directory is unusable
    (the run then simply does all the work)."""

    def __init__(self, directory: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self._root = directory / f"v{FORMAT}"
        self._code = _code_fingerprint()

    def key(self, source: SourceFile) -> str:
        """The entry's name: a hash of the cache format, converge's code, path and bytes."""
        digest = hashlib.sha256(self._code)
        digest.update(source.path.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(source.data)
        return digest.hexdigest()

    def _file(self, key: str) -> Path:
        return self._root / key[:2] / (key[2:] + _SUFFIX)

    def lookup(self, sources: Sequence[SourceFile]) -> dict[str, Entry]:
        """The entries found for `sources`, by path; a missing or unreadable one is left out."""
        found: dict[str, Entry] = {}
        for source in sources:
            entry = self._read(self.key(source), source.path)
            if entry is not None:
                found[source.path] = entry
        return found

    def _read(self, key: str, path: str) -> Entry | None:
        file = self._file(key)
        try:
            data = file.read_bytes()
        except OSError:
            return None
        try:
            stored_key, entry = _Unpickler(io.BytesIO(data)).load()
            if stored_key != key or not _valid(entry, path):
                return None
        except Exception:  # noqa: BLE001 - a corrupt or foreign file is a miss, whatever it holds
            return None
        with contextlib.suppress(OSError):
            os.utime(file)  # last used: pruning keeps it longest
        return entry  # type: ignore[no-any-return]

    def save(self, sources: Sequence[SourceFile], entries: Mapping[str, Entry]) -> None:
        """Store `entries` (by path) for those of `sources` they belong to, then prune."""
        if not entries:
            return
        written = False
        for source in sources:
            entry = entries.get(source.path)
            if entry is not None:
                written = self._write(self.key(source), entry) or written
        if written:
            self.prune()

    def _write(self, key: str, entry: Entry) -> bool:
        file = self._file(key)
        try:
            file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            data = pickle.dumps((key, entry), protocol=pickle.HIGHEST_PROTOCOL)
            descriptor, temporary = tempfile.mkstemp(dir=file.parent, prefix=".tmp-")
            try:
                with os.fdopen(descriptor, "wb") as stream:
                    stream.write(data)
                os.replace(temporary, file)  # atomic: a reader sees all of it or none
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
        except (OSError, pickle.PicklingError, TypeError, AttributeError):
            return False
        return True

    def prune(self) -> None:
        """Remove the least recently used entries while the directory exceeds `max_bytes`."""
        files: list[tuple[float, int, str]] = []
        total = 0
        try:
            with os.scandir(self._root) as shards:
                for shard in shards:
                    if not shard.is_dir(follow_symlinks=False):
                        continue
                    with os.scandir(shard.path) as entries:
                        for item in entries:
                            try:
                                status = item.stat(follow_symlinks=False)
                            except OSError:
                                continue
                            files.append((status.st_mtime, status.st_size, item.path))
                            total += status.st_size
        except OSError:
            return
        if total <= self.max_bytes:
            return
        for _, size, path in sorted(files):
            with contextlib.suppress(OSError):
                os.unlink(path)  # another run may have removed it: fine
            total -= size
            if total <= self.max_bytes * _PRUNED_TO:
                break


def open_store(directory: Path | None, *, enabled: bool = True) -> Store | None:
    """The store at `directory` (default: `default_directory()`), or None when disabled."""
    if not enabled:
        return None
    return Store(directory if directory is not None else default_directory())


def template_texts(documents: Iterable[loader.Document]) -> set[str]:
    """Every string in `documents` that holds `{{` (what the template checks read)."""
    texts: set[str] = set()
    stack: list[object] = [document.body for document in documents]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if "{{" in value:
                texts.add(value)
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return texts


def _valid(entry: object, path: str) -> bool:
    return (isinstance(entry, Entry) and isinstance(entry.loaded, loader.LoadedFile)
            and entry.loaded.path == path and isinstance(entry.analyses, dict)
            and isinstance(entry.problems, dict) and isinstance(entry.references, dict))


_ALLOWED = {
    ("builtins", "frozenset"), ("builtins", "set"),
    ("converge.compiler.cache", "Entry"),
    ("converge.compiler.loader", "LoadedFile"),
    ("converge.compiler.loader", "Document"),
    ("converge.compiler.loader", "_Positions"),
    ("converge.compiler.diagnostics", "Diagnostic"),
    ("converge.compiler.diagnostics", "Span"),
    ("converge.compiler.diagnostics", "Severity"),
    ("converge.compiler.promql.values", "ParseProblem"),
    ("converge.compiler.promql.values", "LabelSet"),
    ("converge.compiler.promql.shape", "Shape"),
    ("converge.compiler.gotemplate.problems", "TemplateProblem"),
    ("converge.compiler.gotemplate.references", "LabelReference"),
}


def _enum_member(cls: object, name: str) -> object:
    """What Python 3.12+ pickles an enum member as (`getattr(Severity, "ERROR")`), for
    converge's enums only: a general getattr would reach any module from a class."""
    if cls is diagnostics.Severity and name in diagnostics.Severity.__members__:
        return diagnostics.Severity[name]
    raise pickle.UnpicklingError(f"{name!r} of {cls!r} is not part of a cache entry")


class _Unpickler(pickle.Unpickler):
    """Builds only the classes an entry is made of: a crafted entry cannot run code."""

    def find_class(self, module: str, name: str) -> object:
        if (module, name) == ("builtins", "getattr"):
            return _enum_member
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a cache entry")
        return super().find_class(module, name)


def _code_fingerprint() -> bytes:
    """The path, size and mtime of every source file of converge's compiler and specs:
    entries written by other code (an upgrade reinstalls the files, an edit in a checkout
    touches one) are never read. Not the distribution's version: `importlib.metadata`
    alone costs a check 40 ms to import."""
    digest = hashlib.sha256(f"converge-cache/{FORMAT}".encode())
    compiler = Path(__file__).resolve().parent
    for root in (compiler, compiler.parent / "specs"):
        _fingerprint_tree(digest, root)
    return digest.digest()


def _fingerprint_tree(digest: Any, root: Path) -> None:
    for directory, subdirectories, names in os.walk(root):
        subdirectories[:] = sorted(d for d in subdirectories if d != "__pycache__")
        for name in sorted(names):
            if name.endswith(".py"):
                try:
                    status = os.stat(os.path.join(directory, name))
                except OSError:
                    continue
                digest.update(f"{directory}/{name}:{status.st_size}:"
                              f"{status.st_mtime_ns}\n".encode())


__all__ = ["DEFAULT_MAX_BYTES", "FORMAT", "Entry", "Store", "default_directory", "open_store",
           "template_texts"]
