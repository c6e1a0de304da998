"""Benchmark `converge check` and `converge compile` against `promtool check rules` on the
repository shapes users have, not only clean ones.

    python benchmarks/bench_shapes.py [--shapes clean,warnings,small,warm,clean-50k]
                                      [--runs 5] [--cpus 0]

Shapes (`generate.py --shape`; cached under `benchmarks/.generated/`):

    clean       10,000 rules, 0 diagnostics (the repository of bench_check.py)
    warnings    the same layout, 20 % of alerts read a label their aggregation drops:
                one true template/unknown-label warning each (1,199)
    small       real-world-like: 1,200 rules (1,000 alerts) in 100 files, long multi-line
                annotations with `with`/`if`/links, 25 % of alerts warned (250)
    warm        the clean 10,000 with the cache filled, one file changed before each run
    clean-50k   50,000 rules, 0 diagnostics

Cold shapes run with an empty cache directory each time (as a CI job without a persisted
cache: the run writes its entries); `warm` appends a new comment line to one rule file
before each run, so exactly that file misses. For every shape, two pairs of whole
processes, each pair alternating its order, after one unmeasured warm-up of each command:

    converge check DIR --format json        vs  promtool check rules PLAIN/*.yaml
    converge compile DIR -o OUT             vs  promtool check rules OUT/prometheus/rules/*.yaml

Every converge run must report exactly the diagnostics its shape was generated with
(check: the JSON summary; compile: the warnings printed on stderr), or the benchmark
fails: a shape cannot silently become clean. With `--cpus 0`, both tools run under
`taskset -c 0` (one core). Results (medians, ratios to promtool from the same run, peak
RSS from wait4, load averages) go to `benchmarks/results/shapes.json` (or
`shapes-1cpu.json` with --cpus), keyed by shape.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate  # noqa: E402  (a sibling script, not a package)
import harness  # noqa: E402
from harness import CommandFailed, Sample  # noqa: E402

SHAPES = {
    "clean": ("clean", 10000, False),
    "warnings": ("warnings", 10000, False),
    "small": ("small", 1200, False),
    "warm": ("clean", 10000, True),
    "clean-50k": ("clean", 50000, False),
}
"""Benchmark shape: (generator shape, rules, warm cache with one file changed)."""

TARGETS = {
    "clean": (0.6, 0.8), "warnings": (0.65, 0.85), "small": (1.0, 1.3),
    "warm": (0.25, 0.4), "clean-50k": (0.6, 0.8),
}
"""Ratio to promtool (check, compile) each shape must stay under (issue 16)."""
MEMORY_TARGETS = {"clean-50k": (300.0, 400.0)}
"""Peak RSS in MB (check, compile)."""


def repository(shape: str, n: int, workdir: Path, seed: int) -> tuple[Path, dict[str, object]]:
    """The generated repository of a shape, regenerated unless an identical one is cached."""
    return harness.ensure_generated(n, workdir, seed, shape=shape)


def _expect(sample: Sample, argv: list[str], found: int, expected: int) -> None:
    if sample.exit_code != 0:
        raise CommandFailed(f"{' '.join(argv)} exited {sample.exit_code}\n"
                            f"{harness.tail(sample.stderr)}{harness.tail(sample.stdout)}")
    if found != expected:
        raise CommandFailed(f"{' '.join(argv)}: {found} warning(s), the shape has {expected}"
                            f"\n{harness.tail(sample.stderr)}")


def verify_check(sample: Sample, argv: list[str], expected: int) -> int:
    try:
        summary = json.loads(sample.stdout)["summary"]
    except (ValueError, KeyError, TypeError):
        raise CommandFailed(f"{' '.join(argv)}: not converge's JSON report\n"
                            f"{harness.tail(sample.stdout)}{harness.tail(sample.stderr)}"
                            ) from None
    if summary.get("errors") or summary.get("infos"):
        raise CommandFailed(f"{' '.join(argv)}: unexpected diagnostics {summary}")
    _expect(sample, argv, int(summary.get("warnings", -1)), expected)
    return expected


def verify_compile(sample: Sample, argv: list[str], expected: int, out: Path) -> int:
    text = sample.stderr.decode(errors="replace")
    found = sum(1 for line in text.splitlines() if ": warning[" in line)
    if ": error[" in text:
        raise CommandFailed(f"{' '.join(argv)}: errors\n{harness.tail(sample.stderr)}")
    _expect(sample, argv, found, expected)
    if not (out / "manifest.json").exists():
        raise CommandFailed(f"{' '.join(argv)}: no {out}/manifest.json")
    return found


class _Runner:
    """Runs one converge command with the cache as the shape wants it."""

    def __init__(self, argv: Callable[[Path], list[str]], *, warm: bool, repo: Path,
                 scratch: Path) -> None:
        self.argv, self.warm, self.repo, self.scratch = argv, warm, repo, scratch
        self.cache = scratch / "cache-warm"
        self.changed = sorted((repo / "rules").glob("*.yaml"))[0]
        self.original = self.changed.read_bytes()
        self.edits = 0

    def prepare(self) -> list[str]:
        if self.warm:
            self.edits += 1  # one file differs from every cached entry
            self.changed.write_bytes(self.original + f"# edit {self.edits}\n".encode())
            return self.argv(self.cache)
        cold = Path(tempfile.mkdtemp(prefix="cache-cold-", dir=self.scratch))
        return self.argv(cold)

    def restore(self) -> None:
        self.changed.write_bytes(self.original)


def measure(name: str, runs: int, options: argparse.Namespace) -> dict[str, object]:
    shape, n, warm = SHAPES[name]
    repo, manifest = repository(shape, n, options.workdir, options.seed)
    expected = int(manifest.get("expected_warnings", 0))  # type: ignore[call-overload]
    env = harness.child_environment(options.workdir, True)
    prefix = ["taskset", "-c", options.cpus] if options.cpus else []
    scratch = Path(tempfile.mkdtemp(prefix=f"bench-{name}-", dir=options.workdir))
    out = options.workdir / f"compiled-{name}"
    promtool_dir = Path(str(manifest["promtool_dir"]))
    plain = [promtool_dir / f for f in manifest["promtool_files"]]  # type: ignore[attr-defined]
    promtool_rules = int(manifest["promtool_rules"])  # type: ignore[call-overload]
    result: dict[str, object] = {
        "shape": name, "rules": n, "date": harness.now(), "runs": runs,
        "cpus": options.cpus or "all",
        "repository": {k: v for k, v in manifest.items()
                       if k not in ("promtool_files", "promtool_dir")},
        "expected_warnings": expected,
    }
    try:
        for command in ("check", "compile"):
            def argv(cache: Path, command: str = command) -> list[str]:
                base = [options.converge, command, str(repo)]
                extra = ["--format", "json"] if command == "check" else ["-o", str(out)]
                return [*prefix, *base, *extra, "--cache-dir", str(cache)]

            runner = _Runner(argv, warm=warm, repo=repo, scratch=scratch)

            def converge(runner: _Runner = runner, command: str = command) -> Sample:
                args = runner.prepare()
                sample = harness.run(args, cwd=harness.ROOT, env=env)
                if command == "check":
                    verify_check(sample, args, expected)
                else:
                    verify_compile(sample, args, expected, out)
                return sample

            try:
                converge()  # warm-up: page cache, .pyc files, the warm cache, a first OUT
                files = (plain if command == "check"
                         else sorted((out / "prometheus" / "rules").glob("*.yaml")))
                p_argv = [*prefix, *harness.promtool_argv(options.promtool, files)]

                def promtool(p_argv: list[str] = p_argv) -> Sample:
                    sample = harness.run(p_argv)
                    harness.verify_promtool(sample, p_argv[len(prefix):], promtool_rules)
                    return sample

                promtool()
                result[command] = _pairs(name, command, runs, converge, promtool)
            finally:
                runner.restore()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return result


def _pairs(name: str, command: str, runs: int, converge: Callable[[], Sample],
           promtool: Callable[[], Sample]) -> dict[str, object]:
    c_samples: list[Sample] = []
    p_samples: list[Sample] = []
    before = [round(x, 2) for x in os.getloadavg()]
    for i in range(runs):
        for which in (("c", "p") if i % 2 == 0 else ("p", "c")):
            (c_samples if which == "c" else p_samples).append(
                converge() if which == "c" else promtool())
        print(f"  {name:>9} {command:<7} run {i + 1}/{runs}: converge "
              f"{c_samples[-1].seconds:.3f} s, promtool {p_samples[-1].seconds:.3f} s",
              file=sys.stderr)
    c_median = statistics.median(s.seconds for s in c_samples)
    p_median = statistics.median(s.seconds for s in p_samples)
    return {
        "loadavg_before": before,
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "converge": harness.stats(c_samples),
        "promtool": harness.stats(p_samples),
        "ratio": round(c_median / p_median, 3),
        "ratio_median_of_pairs": round(statistics.median(
            c.seconds / p.seconds for c, p in zip(c_samples, p_samples, strict=True)), 3),
    }


def table(results: dict[str, dict[str, object]]) -> str:
    lines = ["| shape | command | converge s | promtool s | ratio | target | converge peak MB "
             "| warnings | load before → after |", "|---|---|---:|---:|---:|---|---:|---:|---|"]
    for name, result in results.items():
        for index, command in enumerate(("check", "compile")):
            found = result.get(command)
            if not isinstance(found, dict):
                continue
            c, p = found["converge"], found["promtool"]
            limit = TARGETS[name][index]
            verdict = "PASS" if found["ratio"] <= limit else "FAIL"
            memory = MEMORY_TARGETS.get(name)
            peak = f"{c['peak_rss_mb']:.0f}"
            if memory is not None:
                peak += " PASS" if c["peak_rss_mb"] <= memory[index] else " FAIL"
                peak += f" (≤ {memory[index]:.0f})"
            lines.append(
                f"| {name} | {command} | {c['median_s']:.3f} | {p['median_s']:.3f} | "
                f"{found['ratio']:.2f} | ≤ {limit} {verdict} | {peak} | "
                f"{result['expected_warnings']} | {found['loadavg_before'][0]} → "
                f"{found['loadavg_after'][0]} |")
    return "\n".join(lines)


_WRAPPER = """#!{python}
# converge as committed at {commit}, exported here by bench_shapes.py --at
import sys
sys.meta_path[:] = [f for f in sys.meta_path
                    if "editable" not in getattr(f, "__module__", "")
                    and "editable" not in getattr(f, "__name__", "")
                    and "editable" not in type(f).__module__]
sys.path.insert(0, {root!r})
from converge.compiler.commands.main import main
sys.argv[0] = "converge"
sys.exit(main())
"""


def export(ref: str, workdir: Path) -> tuple[str, str]:
    """`ref`'s converge exported from Git (the shared working tree may hold others'
    unfinished edits): the path of a `converge` that runs it, and the commit."""
    commit = harness._git("rev-parse", "--verify", f"{ref}^{{commit}}")
    if not commit:
        raise SystemExit(f"bench_shapes.py: no commit {ref!r}")
    root = workdir / f"at-{commit[:12]}"
    if not (root / "converge").is_dir():
        staging = Path(tempfile.mkdtemp(prefix="at-", dir=workdir))
        (staging / "converge").mkdir()
        archive = subprocess.run(["git", "-C", str(harness.ROOT), "archive", commit, "compiler",
                                  "specs", "templates", "reconciler"],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(staging / "converge")], input=archive,
                       check=True)
        (staging / "converge" / "__init__.py").write_text("", encoding="utf-8")
        os.replace(staging, root)
    script = root / "converge-at"
    script.write_text(_WRAPPER.format(python=sys.executable, commit=commit, root=str(root)),
                      encoding="utf-8")
    script.chmod(0o755)
    return str(script), commit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--shapes", default="clean,warnings,small,warm,clean-50k",
                        help="comma-separated: " + ", ".join(SHAPES))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cpus", default="", help="run both tools under taskset -c CPUS")
    parser.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    parser.add_argument("--workdir", type=Path, default=harness.WORKDIR)
    parser.add_argument("--converge", default=harness.default_converge())
    parser.add_argument("--promtool", default=shutil.which("promtool") or "promtool")
    parser.add_argument("--at", metavar="REF", default=None,
                        help="measure converge as committed at REF (exported from Git), not "
                             "the working tree")
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    names = [s.strip() for s in args.shapes.split(",") if s.strip()]
    unknown = [s for s in names if s not in SHAPES]
    if unknown or args.runs < 1:
        parser.error(f"unknown shapes {unknown}" if unknown else "--runs must be at least 1")
    args.workdir.mkdir(parents=True, exist_ok=True)
    measured_code: dict[str, object] = {"tree": "working tree",
                                        "uncommitted_code": harness._uncommitted()}
    if args.at:
        args.converge, commit = export(args.at, args.workdir)
        measured_code = {"tree": f"exported from Git at {args.at}", "commit": commit}
    output = args.output or harness.HERE / "results" / (
        "shapes-1cpu.json" if args.cpus else "shapes.json")
    measured: dict[str, dict[str, object]] = {}
    started = time.perf_counter()
    try:
        for name in names:
            measured[name] = measure(name, args.runs, args)
            measured[name]["code"] = measured_code
    except (CommandFailed, FileNotFoundError, PermissionError) as error:
        print(f"bench_shapes.py: FAILED: {error}", file=sys.stderr)
        return 1
    print(table(measured))
    print(f"\n{time.perf_counter() - started:.0f} s", file=sys.stderr)
    if not args.no_write:
        previous: dict[str, object] = {}
        if output.exists():
            try:
                previous = dict(json.loads(output.read_text()).get("shapes", {}))
            except ValueError:
                previous = {}
        previous.update(measured)
        document = {
            "benchmark": "converge check/compile vs promtool check rules, by repository shape",
            "method": ("whole processes; one unmeasured warm-up each, then N paired runs in "
                       "alternating order; medians; wall time fork to reap; peak RSS from "
                       "wait4; cold shapes use an empty --cache-dir per run, warm changes one "
                       "file per run; every run checked for its expected warnings"),
            "updated": harness.now(),
            "machine": harness.machine(args.converge, args.promtool),
            "targets": {"ratio": TARGETS, "peak_rss_mb": MEMORY_TARGETS},
            "shapes": previous,
        }
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n",
                          encoding="utf-8")
        shown = output.relative_to(harness.ROOT) if output.is_relative_to(harness.ROOT) else output
        print(f"\nwrote {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
