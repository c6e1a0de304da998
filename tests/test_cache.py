"""The per-file cache (`compiler.cache`): entries survive a round trip, anything odd in the
directory is a miss, the directory stays bounded, and, for random edit sequences, a run
with the cache prints exactly what a run without it prints."""

from __future__ import annotations

import io
import os
import pickle
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import hypothesis
import pytest
from click.testing import CliRunner
from hypothesis import strategies as st

from converge.compiler import cache, exprs, loader, pipeline, templatecheck
from converge.compiler.commands.main import main
from converge.compiler.diagnostics import Severity
from converge.compiler.sources import SourceFile

EXAMPLE = Path(__file__).resolve().parent.parent / "repo-example"


def _source(path: str = "rules/a.yaml", text: str = "a: 1\n") -> SourceFile:
    return SourceFile(path, text.encode())


def _entry(source: SourceFile) -> cache.Entry:
    return cache.Entry(loader.load(source.path, source.data), {}, {}, {})


def test_an_entry_survives_the_round_trip(tmp_path: Path) -> None:
    store = cache.Store(tmp_path)
    source = _source(text="apiVersion: converge/v1\nkind: RuleGroup\nmetadata: {name: g}\n"
                          "spec: {rules: [{alert: A, expr: 'up == 0'}]}\n")
    result = pipeline.check([source], cached={})
    store.save([source], result.fresh)
    found = store.lookup([source])[source.path]
    assert found.loaded.documents[0].body == result.fresh[source.path].loaded.documents[0].body
    assert found.analyses == result.fresh[source.path].analyses
    assert ("up == 0", "prometheus") in found.analyses


def test_an_entry_is_found_only_for_the_same_path_and_bytes(tmp_path: Path) -> None:
    store = cache.Store(tmp_path)
    source = _source()
    store.save([source], {source.path: _entry(source)})
    assert store.lookup([_source(text="a: 2\n")]) == {}
    assert store.lookup([_source(path="rules/b.yaml")]) == {}
    assert list(store.lookup([source])) == [source.path]


class _Boom:
    def __reduce__(self) -> tuple[Callable[..., object], tuple[object, ...]]:
        return (os.system, ("touch /tmp/converge-cache-pwned",))


@pytest.mark.parametrize("damage", [
    pytest.param(lambda data, key: b"", id="empty"),
    pytest.param(lambda data, key: data[: len(data) // 2], id="truncated"),
    pytest.param(lambda data, key: b"\x80\x05garbage", id="garbage"),
    pytest.param(lambda data, key: pickle.dumps(("0" * 64, None)), id="another-key"),
    pytest.param(lambda data, key: pickle.dumps((key, {"not": "an entry"})), id="not-an-entry"),
    pytest.param(lambda data, key: pickle.dumps((key, _Boom())), id="code"),
])
def test_a_damaged_entry_is_a_miss(tmp_path: Path,
                                   damage: Callable[[bytes, str], bytes]) -> None:
    store = cache.Store(tmp_path)
    source = _source()
    store.save([source], {source.path: _entry(source)})
    [file] = [p for p in tmp_path.rglob("*.entry")]
    file.write_bytes(damage(file.read_bytes(), store.key(source)))
    assert store.lookup([source]) == {}
    assert not Path("/tmp/converge-cache-pwned").exists()


def test_the_directory_is_pruned_to_its_bound(tmp_path: Path) -> None:
    store = cache.Store(tmp_path, max_bytes=20_000)
    sources = [_source(path=f"rules/{i}.yaml", text=f"a: {'x' * 2000}{i}\n") for i in range(40)]
    for source in sources:
        store.save([source], {source.path: _entry(source)})
    sizes = [p.stat().st_size for p in tmp_path.rglob("*.entry")]
    assert sum(sizes) <= 20_000
    assert store.lookup(sources[-1:])  # the newest is kept


def test_concurrent_writers_never_leave_half_an_entry(tmp_path: Path) -> None:
    source = _source(text="a: " + "y" * 100_000 + "\n")
    entry = _entry(source)
    found: list[bool] = []

    def write() -> None:
        for _ in range(20):
            cache.Store(tmp_path).save([source], {source.path: entry})

    def read() -> None:
        for _ in range(200):
            hit = cache.Store(tmp_path).lookup([source])
            if hit:
                found.append(hit[source.path].loaded.text == entry.loaded.text)

    threads = [threading.Thread(target=write) for _ in range(3)] + [threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(found)
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".tmp-")]


def test_the_default_directory_follows_xdg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere")
    assert cache.default_directory() == Path("/somewhere/converge")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache.default_directory() == Path.home() / ".cache" / "converge"


def test_no_cache_writes_nothing(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["check", str(EXAMPLE), "--format", "json", "--no-cache",
                                  "--cache-dir", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "c").exists()
    runner.invoke(main, ["check", str(EXAMPLE), "--format", "json",
                         "--cache-dir", str(tmp_path / "c")])
    assert list((tmp_path / "c").rglob("*.entry"))


# Random edit sequences: cached and uncached runs print the same thing.

RULE_FILES = ("rules/http.yaml", "rules/database.yaml", "rules/tasks.yaml",
              "rules/recording.yaml", "rules/vmalert-anomalies.yaml")
REPLACEMENTS = (
    ("warning: 0.5", "warning: 0.7"),  # a threshold
    ("{{ $labels.job }}", "{{ $labels.zone }}"),  # a template/unknown-label warning
    ("{{ $value | humanizeDuration }}", "{{ $value | humanizeDuration }"),  # template/syntax
    ("{{ $labels.job }}", "{{ $labels.job | nosuch }}"),  # an unknown function
    (" > $threshold", " > > $threshold"),  # promql/syntax
    ("for: 5m", "for: 5 minutes"),  # duration/invalid
    ("component: http", "component: [http"),  # broken YAML
    ("alert: ", "alert: Renamed"),  # names change, references may break
)
PROJECT_REPLACEMENTS = (
    ('version: "2.42"', 'version: "2.30"'),  # Prometheus: other template names, features
    ('version: "1.79"', 'version: "1.95"'),  # vmalert
    ("interval: 1m", "interval: 30s"),
)

_edits = st.one_of(
    st.tuples(st.just("replace"), st.sampled_from(RULE_FILES),
              st.sampled_from(REPLACEMENTS)),
    st.tuples(st.just("replace"), st.just("converge.yaml"),
              st.sampled_from(PROJECT_REPLACEMENTS)),
    st.tuples(st.sampled_from(["delete", "restore", "copy"]), st.sampled_from(RULE_FILES),
              st.just(("", ""))),
)


def _apply(repo: Path, edit: tuple[str, str, tuple[str, str]]) -> None:
    kind, name, (old, new) = edit
    file = repo / name
    if kind == "restore":
        shutil.copyfile(EXAMPLE / name, file)
    elif kind == "delete":
        file.unlink(missing_ok=True)
    elif kind == "copy" and file.exists():
        shutil.copyfile(file, repo / "rules" / "copy.yaml")  # every name twice
    elif kind == "replace" and file.exists():
        file.write_text(file.read_text(encoding="utf-8").replace(old, new, 1),
                        encoding="utf-8")


def _forget() -> None:
    """Drop what this process remembers, so an uncached run computes everything."""
    templatecheck._known_problems.clear()
    templatecheck._known_references.clear()
    exprs._computed.cache_clear()


def _run(runner: CliRunner, args: list[str]) -> tuple[int, str]:
    _forget()
    result = runner.invoke(main, args)
    return result.exit_code, result.stdout


def _tree(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


@hypothesis.settings(max_examples=12, deadline=None,
                     suppress_health_check=[hypothesis.HealthCheck.too_slow])
@hypothesis.given(edits=st.lists(_edits, min_size=1, max_size=5))
def test_cached_and_uncached_runs_print_the_same(
        edits: list[tuple[str, str, tuple[str, str]]]) -> None:
    runner = CliRunner()
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        repo = work / "repo"
        shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns(".github", "*.md"))
        cache_dir = str(work / "cache")
        check = ["check", str(repo), "--format", "json"]
        assert _run(runner, [*check, "--cache-dir", cache_dir])[0] == 0  # fills the cache
        for edit in edits:
            _apply(repo, edit)
            cached = _run(runner, [*check, "--cache-dir", cache_dir])
            again = _run(runner, [*check, "--cache-dir", cache_dir])  # every file cached
            uncached = _run(runner, [*check, "--no-cache"])
            assert cached == uncached, edit
            assert again == uncached, edit
        compiled = _run(runner, ["compile", str(repo), "-o", str(work / "a"), "--format",
                                 "json", "--cache-dir", cache_dir])
        plain = _run(runner, ["compile", str(repo), "-o", str(work / "b"), "--format", "json",
                              "--no-cache"])
        assert compiled[0] == plain[0]
        assert compiled[1].replace(str(work / "a"), "OUT") == plain[1].replace(
            str(work / "b"), "OUT")
        assert _tree(work / "a") == _tree(work / "b")


def test_pickled_entries_use_only_allowed_classes(tmp_path: Path) -> None:
    """Whatever a real entry holds, the restricted unpickler can build it."""
    files = [SourceFile(p.relative_to(EXAMPLE).as_posix(), p.read_bytes())
             for p in sorted(EXAMPLE.rglob("*.yaml")) if ".github" not in p.parts]
    result = pipeline.check(files, cached={})
    for path, entry in result.fresh.items():
        data = pickle.dumps(("k", entry), protocol=pickle.HIGHEST_PROTOCOL)
        key, loaded = cache._Unpickler(io.BytesIO(data)).load()
        assert key == "k" and loaded.loaded.path == path


def test_an_entry_cannot_reach_a_module_through_getattr() -> None:
    """`builtins.getattr` would lead from an allowed class to a module's globals."""
    class Reach:
        def __reduce__(self) -> tuple[Callable[..., object], tuple[object, ...]]:
            return (getattr, (cache.Entry, "__init__"))

    with pytest.raises(pickle.UnpicklingError):
        cache._Unpickler(io.BytesIO(pickle.dumps(("key", Reach())))).load()
    member = pickle.dumps(("key", Severity.ERROR))  # Python 3.12 pickles it through getattr
    assert cache._Unpickler(io.BytesIO(member)).load() == ("key", Severity.ERROR)
    assert cache._enum_member(Severity, "ERROR") is Severity.ERROR
