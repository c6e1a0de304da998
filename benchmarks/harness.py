"""What the benchmarks share: generated repositories, whole-process runs measured with
`wait4`, paired runs in alternating order, statistics, the machine's description, results
merged by size, and the table with the targets.

A benchmark script (`bench_check.py`, `bench_compile.py`) describes itself as a `Benchmark`
(its converge command, how a run is verified, its targets, its results file) and calls
`main`. Not a package: the scripts put this directory on `sys.path` and `import harness`.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402  (a sibling script, not a package)

DEFAULT_SIZES = (1000, 10000, 50000)
WORKDIR = HERE / ".generated"


class CommandFailed(Exception):
    pass


@dataclasses.dataclass
class Sample:
    seconds: float
    cpu_seconds: float
    """User + system CPU time of the child: less sensitive than wall time to a busy machine."""
    peak_mb: float
    exit_code: int
    stdout: bytes
    stderr: bytes


@dataclasses.dataclass(frozen=True)
class Options:
    """The command line, as every benchmark's `prepare` needs it."""

    converge: str
    promtool: str
    workdir: Path
    seed: int
    allow_diagnostics: bool
    env: dict[str, str]
    """The children's environment (`child_environment`)."""


@dataclasses.dataclass
class Pair:
    """The two commands of one size, ready to be measured: each call runs one process,
    verifies it (raising CommandFailed) and returns its sample."""

    converge: Callable[[], Sample]
    promtool: Callable[[], Sample]
    details: dict[str, object]
    """Stored with the size's results, after `repository` (what the warm-up reported)."""


@dataclasses.dataclass(frozen=True)
class Target:
    name: str
    rules: int
    """The size whose results it is judged on."""
    path: tuple[str, ...]
    """Where the value is in that size's results, e.g. ("converge", "median_s")."""
    limit: float | None
    """PASS below it; None: the value is only reported."""
    unit: str


@dataclasses.dataclass(frozen=True)
class Benchmark:
    program: str
    """The script's name, in error messages."""
    description: str
    results: Path
    benchmark: str
    """The JSON's `benchmark`: the two commands."""
    method: str
    """The JSON's `method`."""
    label: str
    """converge's name in the table and the progress lines ("converge", "compile")."""
    targets: tuple[Target, ...]
    prepare: Callable[[int, Path, Mapping[str, object], Options], Pair]
    """For one size: the repository and its generator manifest -> the warmed-up pair.

    It runs each command once unmeasured (page cache, `.pyc` files), which is also the
    correctness gate."""


def child_environment(workdir: Path, bytecode_cache: bool) -> dict[str, str]:
    """The children's environment: with Python's bytecode cache on, as an installed converge
    runs (its .pyc files are written at install), even where PYTHONDONTWRITEBYTECODE is set;
    the cache goes to WORKDIR/pycache so the source tree is left alone."""
    env = dict(os.environ)
    if bytecode_cache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.setdefault("PYTHONPYCACHEPREFIX", str((workdir / "pycache").resolve()))
    return env


def run(argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> Sample:
    """Run one child to completion; its wall time and its own peak RSS (from wait4)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                   cwd=cwd, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped: keep Popen quiet
        out.seek(0)
        err.seek(0)
        # Linux reports ru_maxrss in KiB (macOS in bytes)
        scale = 1 if sys.platform == "darwin" else 1024
        return Sample(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * scale / 2**20,
                      process.returncode,
                      out.read(), err.read())


def promtool_argv(promtool: str, files: list[Path]) -> list[str]:
    return [promtool, "check", "rules", *map(str, files)]


def verify_promtool(sample: Sample, argv: list[str], rules: int) -> None:
    text = (sample.stdout + sample.stderr).decode(errors="replace")
    if sample.exit_code != 0:
        raise CommandFailed(f"promtool check rules ({len(argv) - 3} files) exited "
                            f"{sample.exit_code}\n{text[-3000:]}")
    found = sum(int(line.split()[1]) for line in text.splitlines()
                if line.strip().startswith("SUCCESS:") and line.split()[1].isdigit())
    lint = [line for line in text.splitlines()
            if line.strip() and not line.startswith("Checking ")
            and not line.strip().startswith("SUCCESS:")]
    if lint:
        raise CommandFailed("promtool check rules printed more than SUCCESS lines:\n"
                            + "\n".join(lint[:10]))
    if found != rules:
        raise CommandFailed(f"promtool found {found} rules, expected {rules}")


def tail(data: bytes, limit: int = 3000) -> str:
    text = data.decode(errors="replace")
    return (text[-limit:] + "\n") if text.strip() else ""


def ensure_generated(n: int, workdir: Path, seed: int, *,
                     shape: str = "clean") -> tuple[Path, dict[str, object]]:
    """The repository of n rules of a `generate.SHAPES` shape, regenerated unless an
    identical one is cached."""
    repo = workdir / (f"rules-{n}" if shape == "clean" else f"{shape}-{n}")
    manifest_path = repo / generate.MANIFEST
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if (manifest.get("generator") == generate.generator_hash()
                and manifest.get("seed") == seed and manifest.get("rules") == n
                and Path(str(manifest.get("promtool_dir"))).is_dir()):
            return repo, manifest
    started = time.perf_counter()
    manifest = generate.write(n, repo, seed=seed, force=True, shape=generate.SHAPES[shape])
    print(f"generated {n:,} rules in {time.perf_counter() - started:.1f} s: {repo}",
          file=sys.stderr)
    return repo, manifest


def measure(bench: Benchmark, n: int, runs: int, options: Options) -> dict[str, object]:
    """Warm up, then `runs` paired runs in alternating order; the size's results."""
    repo, manifest = ensure_generated(n, options.workdir, options.seed)
    pair = bench.prepare(n, repo, manifest, options)

    converge_samples: list[Sample] = []
    promtool_samples: list[Sample] = []
    load_before = os.getloadavg()
    for i in range(runs):
        order = ("converge", "promtool") if i % 2 == 0 else ("promtool", "converge")
        for which in order:
            if which == "converge":
                converge_samples.append(pair.converge())
            else:
                promtool_samples.append(pair.promtool())
        print(f"  {n:>7,} rules run {i + 1}/{runs}: {bench.label} "
              f"{converge_samples[-1].seconds:.3f} s, promtool "
              f"{promtool_samples[-1].seconds:.3f} s", file=sys.stderr)
    c_median = statistics.median(s.seconds for s in converge_samples)
    p_median = statistics.median(s.seconds for s in promtool_samples)
    pair_ratios = [c.seconds / p.seconds for c, p in zip(converge_samples, promtool_samples,
                                                         strict=True)]
    return {
        "rules": n,
        "date": now(),
        "runs": runs,
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "repository": {k: v for k, v in manifest.items()
                       if k not in ("promtool_files", "promtool_dir")},
        **pair.details,
        "converge": stats(converge_samples),
        "promtool": stats(promtool_samples),
        "ratio": round(c_median / p_median, 3),
        "ratio_median_of_pairs": round(statistics.median(pair_ratios), 3),
        "bytecode_cache": "PYTHONDONTWRITEBYTECODE" not in options.env,
    }


def stats(samples: list[Sample]) -> dict[str, object]:
    seconds = [s.seconds for s in samples]
    peaks = [s.peak_mb for s in samples]
    return {
        "median_s": round(statistics.median(seconds), 4),
        "min_s": round(min(seconds), 4),
        "max_s": round(max(seconds), 4),
        "seconds": [round(x, 4) for x in seconds],
        "cpu_median_s": round(statistics.median(s.cpu_seconds for s in samples), 4),
        "cpu_seconds": [round(s.cpu_seconds, 4) for s in samples],
        "peak_rss_mb": round(max(peaks), 1),
        "peak_rss_mb_median": round(statistics.median(peaks), 1),
    }


def judge(targets: tuple[Target, ...],
          sizes: dict[str, dict[str, object]]) -> list[dict[str, object]]:
    """Each target with the measured value and PASS, FAIL, REPORTED (no limit) or
    NOT MEASURED."""
    def get(n: int, path: tuple[str, ...]) -> float | None:
        node: object = sizes.get(str(n))
        for key in path:
            if not isinstance(node, dict):
                return None
            node = node.get(key)
        return float(node) if isinstance(node, (int, float)) else None

    rows: list[dict[str, object]] = []
    for target in targets:
        value = get(target.rules, target.path)
        if value is None:
            result = "NOT MEASURED"
        elif target.limit is None:
            result = "REPORTED"
        else:
            result = "PASS" if value < target.limit else "FAIL"
        rows.append({"target": target.name, "value": value, "limit": target.limit,
                     "unit": target.unit, "result": result})
    return rows


def table(bench: Benchmark, sizes: dict[str, dict[str, object]],
          only: list[int] | None = None) -> str:
    c = bench.label
    head = (f"| rules | {c} median s | promtool median s | ratio {c}/promtool "
            f"| {c} peak MB | promtool peak MB | {c} CPU s | promtool CPU s | runs |")
    lines = [head, "|" + "---:|" * 9]
    for key in sorted(sizes, key=int):
        if only is not None and int(key) not in only:
            continue
        s = sizes[key]
        cs, ps = s["converge"], s["promtool"]
        assert isinstance(cs, dict) and isinstance(ps, dict)
        lines.append(f"| {int(key):,} | {cs['median_s']:.3f} | {ps['median_s']:.3f} | "
                     f"{s['ratio']:.2f} | {cs['peak_rss_mb']:.0f} | {ps['peak_rss_mb']:.0f} | "
                     f"{cs.get('cpu_median_s', float('nan')):.3f} | "
                     f"{ps.get('cpu_median_s', float('nan')):.3f} | {s['runs']} |")
    lines.append("")
    lines.append("| target | measured | result |")
    lines.append("|---|---:|---|")
    for row in judge(bench.targets, sizes):
        value = row["value"]
        shown = "—" if not isinstance(value, float) else (
            f"{value:.2f}" if row["unit"] == "×" else f"{value:.3g} {row['unit']}")
        lines.append(f"| {row['target']} | {shown} | {row['result']} |")
    return "\n".join(lines)


def now() -> str:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat()


def _version(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except OSError as error:
        return f"unavailable ({error})"
    return ((done.stdout or done.stderr).strip().splitlines() or ["?"])[0]


def _git(*args: str) -> str | None:
    """A read-only git query (never takes the index lock)."""
    try:
        done = subprocess.run(["git", "--no-optional-locks", "-C", str(ROOT), *args],
                              capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return None
    return done.stdout.rstrip("\n") if done.returncode == 0 else None


def _uncommitted() -> list[str] | None:
    """Files of the measured code (compiler, specs) that differ from the commit."""
    status = _git("status", "--porcelain", "--", "compiler", "specs", "pyproject.toml")
    return None if status is None else [line[3:] for line in status.splitlines()]


def machine(converge: str, promtool: str) -> dict[str, object]:
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = None
    memory = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    cpu = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "usable_cpus": affinity,
        "cpu": cpu,
        "memory_gib": memory,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "converge": _version([converge, "--version"]),
        "promtool": _version([promtool, "--version"]),
        "git_commit": (_git("rev-parse", "HEAD") or "").strip() or None,
        "uncommitted_code": _uncommitted(),
    }


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of integers: {text!r}") from None
    if not sizes or any(n < 1 for n in sizes):
        raise argparse.ArgumentTypeError("sizes must be positive integers")
    return sizes


def default_converge() -> str:
    beside = Path(sys.executable).parent / "converge"
    if beside.exists():
        return str(beside)
    venv = ROOT / ".venv" / "bin" / "converge"
    return str(venv) if venv.exists() else (shutil.which("converge") or "converge")


def _parser(bench: Benchmark) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=bench.description)
    parser.add_argument("--rules", type=parse_sizes, default=list(DEFAULT_SIZES),
                        help="comma-separated sizes (default: 1000,10000,50000)")
    parser.add_argument("--runs", type=int, default=5, help="paired runs per size (default 5)")
    parser.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    parser.add_argument("--workdir", type=Path, default=WORKDIR,
                        help="where generated repositories are cached "
                             "(default: benchmarks/.generated)")
    parser.add_argument("--converge", default=default_converge())
    parser.add_argument("--promtool", default=shutil.which("promtool") or "promtool")
    parser.add_argument("--output", type=Path, default=bench.results,
                        help="results file; sizes measured now replace the same sizes there")
    parser.add_argument("--no-write", action="store_true", help="do not write the results")
    parser.add_argument("--fresh", action="store_true",
                        help="drop the sizes already in the results file")
    parser.add_argument("--no-bytecode-cache", action="store_true",
                        help="run converge with the environment as it is (by default "
                             "PYTHONDONTWRITEBYTECODE is dropped and .pyc files are cached "
                             "under WORKDIR/pycache, as for an installed converge)")
    parser.add_argument("--allow-diagnostics", action="store_true",
                        help="time converge even if it reports diagnostics on the generated "
                             "repository")
    return parser


def main(bench: Benchmark, argv: list[str] | None = None) -> int:
    """The command line every benchmark script shares; the exit status."""
    parser = _parser(bench)
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    measured: dict[str, dict[str, object]] = {}
    options = Options(args.converge, args.promtool, args.workdir, args.seed,
                      args.allow_diagnostics,
                      child_environment(args.workdir, not args.no_bytecode_cache))
    code = {"git_commit": (_git("rev-parse", "HEAD") or "").strip() or None,
            "uncommitted_code": _uncommitted()}
    try:
        for n in args.rules:
            measured[str(n)] = measure(bench, n, args.runs, options)
            measured[str(n)].update(code)
    except (CommandFailed, FileNotFoundError, PermissionError) as error:
        print(f"{bench.program}: FAILED: {error}", file=sys.stderr)
        return 1

    sizes = merge(args.output, measured, fresh=args.fresh)
    print(table(bench, measured))
    if set(sizes) != set(measured):
        print("\nwith earlier results from " + str(args.output) + ":\n")
        print(table(bench, sizes))
    if not args.no_write:
        document = {
            "benchmark": bench.benchmark,
            "method": bench.method,
            "updated": now(),
            "machine": machine(args.converge, args.promtool),
            "sizes": sizes,
            "targets": judge(bench.targets, sizes),
        }
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n",
                               encoding="utf-8")
        shown = args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output
        print(f"\nwrote {shown}")
    return 0


def merge(output: Path, measured: dict[str, dict[str, object]],
          fresh: bool) -> dict[str, dict[str, object]]:
    """The sizes of the results file with those measured now in their place, by size."""
    sizes: dict[str, dict[str, object]] = {}
    if output.exists() and not fresh:
        try:
            sizes = dict(json.loads(output.read_text()).get("sizes", {}))
        except ValueError:
            sizes = {}
    sizes.update(measured)
    return dict(sorted(sizes.items(), key=lambda item: int(item[0])))
