"""Benchmark `converge check` against `promtool check rules` on generated repositories.

    python benchmarks/bench_check.py [--rules 1000,10000,50000] [--runs 5]

For each size, `generate.py` writes a converge repository and the equivalent plain
Prometheus rule files (cached under `benchmarks/.generated/`, git-ignored, and rebuilt when
the generator changes). Both commands then run as whole processes, paired in one loop
(the order alternates each run so neither always runs on a warmer machine), after one
unmeasured warm-up run of each:

    converge check DIR --format json      must exit 0 with no diagnostics
    promtool check rules FILE...          must exit 0 with no lint output

Each child's wall time (fork to reap) and peak RSS (`ru_maxrss` from `os.wait4` of that
child, not of this process) are recorded. The table shows medians, the ratio
converge/promtool of the medians, and the targets with PASS/FAIL. Results are merged by
size into `benchmarks/results/check.json`, with the machine's description.

Exit status: 0 when every command succeeded (even if a target fails: this is a report),
1 when a command failed or produced diagnostics, 2 on bad arguments.
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
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402  (a sibling script, not a package)

DEFAULT_SIZES = (1000, 10000, 50000)
RESULTS = HERE / "results" / "check.json"
WORKDIR = HERE / ".generated"


@dataclasses.dataclass(frozen=True)
class Targets:
    """The performance targets (docs and /work/shared/notes/performance.md)."""

    at_10k_seconds: float = 1.0
    at_50k_seconds: float = 5.0
    at_10k_peak_mb: float = 300.0


TARGETS = Targets()


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


def converge_argv(converge: str, repo: Path) -> list[str]:
    return [converge, "check", str(repo), "--format", "json"]


def promtool_argv(promtool: str, files: list[Path]) -> list[str]:
    return [promtool, "check", "rules", *map(str, files)]


def verify_converge(sample: Sample, argv: list[str], allow: bool) -> dict[str, int]:
    shown = " ".join(argv)
    if sample.exit_code != 0:
        raise CommandFailed(f"{shown} exited {sample.exit_code}\n"
                            f"{_tail(sample.stderr)}{_tail(sample.stdout)}")
    try:
        report = json.loads(sample.stdout)
        summary = report["summary"]
    except (ValueError, KeyError, TypeError) as error:
        raise CommandFailed(f"{shown}: output is not converge's JSON report ({error})\n"
                            f"{_tail(sample.stdout)}") from None
    if report.get("diagnostics") and not allow:
        first = report["diagnostics"][:5]
        raise CommandFailed(
            f"{shown}: the generated repository should check clean, but got "
            f"{summary.get('errors')} error(s), {summary.get('warnings')} warning(s), "
            f"{summary.get('infos')} info(s); first:\n" + "\n".join(
                f"  {d.get('path')}:{d.get('line')}:{d.get('column')}: {d.get('severity')}"
                f"[{d.get('code')}] {d.get('message')}" for d in first)
            + "\n(rerun with --allow-diagnostics to time it anyway)")
    return {k: int(summary.get(k, 0)) for k in ("files", "errors", "warnings", "infos")}


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


def _tail(data: bytes, limit: int = 3000) -> str:
    text = data.decode(errors="replace")
    return (text[-limit:] + "\n") if text.strip() else ""


def ensure_generated(n: int, workdir: Path, seed: int) -> tuple[Path, dict[str, object]]:
    """The repository of n rules, regenerated unless an identical one is cached."""
    repo = workdir / f"rules-{n}"
    manifest_path = repo / generate.MANIFEST
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if (manifest.get("generator") == generate.generator_hash()
                and manifest.get("seed") == seed and manifest.get("rules") == n
                and Path(str(manifest.get("promtool_dir"))).is_dir()):
            return repo, manifest
    started = time.perf_counter()
    manifest = generate.write(n, repo, seed=seed, force=True)
    print(f"generated {n:,} rules in {time.perf_counter() - started:.1f} s: {repo}",
          file=sys.stderr)
    return repo, manifest


def measure(n: int, runs: int, converge: str, promtool: str, workdir: Path, seed: int,
            allow: bool, env: dict[str, str]) -> dict[str, object]:
    repo, manifest = ensure_generated(n, workdir, seed)
    promtool_dir = Path(str(manifest["promtool_dir"]))
    files = [promtool_dir / f for f in manifest["promtool_files"]]  # type: ignore[union-attr]
    c_argv = converge_argv(converge, repo)
    p_argv = promtool_argv(promtool, files)
    expected_rules = int(manifest["promtool_rules"])  # type: ignore[call-overload]

    # warm-up (page cache, .pyc files), also the correctness gate
    summary = verify_converge(run(c_argv, cwd=ROOT, env=env), c_argv, allow)
    verify_promtool(run(p_argv), p_argv, expected_rules)

    converge_samples: list[Sample] = []
    promtool_samples: list[Sample] = []
    load_before = os.getloadavg()
    for i in range(runs):
        order = ("converge", "promtool") if i % 2 == 0 else ("promtool", "converge")
        for which in order:
            if which == "converge":
                sample = run(c_argv, cwd=ROOT, env=env)
                verify_converge(sample, c_argv, allow)
                converge_samples.append(sample)
            else:
                sample = run(p_argv)
                verify_promtool(sample, p_argv, expected_rules)
                promtool_samples.append(sample)
        print(f"  {n:>7,} rules run {i + 1}/{runs}: converge "
              f"{converge_samples[-1].seconds:.3f} s, promtool "
              f"{promtool_samples[-1].seconds:.3f} s", file=sys.stderr)
    c_median = statistics.median(s.seconds for s in converge_samples)
    p_median = statistics.median(s.seconds for s in promtool_samples)
    pair_ratios = [c.seconds / p.seconds for c, p in zip(converge_samples, promtool_samples,
                                                         strict=True)]
    return {
        "rules": n,
        "date": _now(),
        "runs": runs,
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "repository": {k: v for k, v in manifest.items()
                       if k not in ("promtool_files", "promtool_dir")},
        "converge_summary": summary,
        "converge": _stats(converge_samples),
        "promtool": _stats(promtool_samples),
        "ratio": round(c_median / p_median, 3),
        "ratio_median_of_pairs": round(statistics.median(pair_ratios), 3),
        "bytecode_cache": "PYTHONDONTWRITEBYTECODE" not in env,
    }


def _stats(samples: list[Sample]) -> dict[str, object]:
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


def judge(sizes: dict[str, dict[str, object]]) -> list[dict[str, object]]:
    """Each target with the measured value and PASS, FAIL or NOT MEASURED."""
    def get(n: int, *path: str) -> float | None:
        node: object = sizes.get(str(n))
        for key in path:
            if not isinstance(node, dict):
                return None
            node = node.get(key)
        return float(node) if isinstance(node, (int, float)) else None

    rows = [
        ("10,000 rules: converge median < 1.0 s", get(10000, "converge", "median_s"),
         TARGETS.at_10k_seconds, "s"),
        ("10,000 rules: faster than promtool (ratio < 1)", get(10000, "ratio"), 1.0, "×"),
        ("50,000 rules: converge median < 5 s", get(50000, "converge", "median_s"),
         TARGETS.at_50k_seconds, "s"),
        ("10,000 rules: converge peak RSS < 300 MB", get(10000, "converge", "peak_rss_mb"),
         TARGETS.at_10k_peak_mb, "MB"),
    ]
    return [{"target": name, "value": value, "limit": limit, "unit": unit,
             "result": "NOT MEASURED" if value is None else
             ("PASS" if value < limit else "FAIL")} for name, value, limit, unit in rows]


def table(sizes: dict[str, dict[str, object]], only: list[int] | None = None) -> str:
    head = ("| rules | converge median s | promtool median s | ratio converge/promtool "
            "| converge peak MB | promtool peak MB | converge CPU s | promtool CPU s | runs |")
    lines = [head, "|" + "---:|" * 9]
    for key in sorted(sizes, key=int):
        if only is not None and int(key) not in only:
            continue
        s = sizes[key]
        c, p = s["converge"], s["promtool"]
        assert isinstance(c, dict) and isinstance(p, dict)
        lines.append(f"| {int(key):,} | {c['median_s']:.3f} | {p['median_s']:.3f} | "
                     f"{s['ratio']:.2f} | {c['peak_rss_mb']:.0f} | {p['peak_rss_mb']:.0f} | "
                     f"{c.get('cpu_median_s', float('nan')):.3f} | "
                     f"{p.get('cpu_median_s', float('nan')):.3f} | {s['runs']} |")
    lines.append("")
    lines.append("| target | measured | result |")
    lines.append("|---|---:|---|")
    for row in judge(sizes):
        value = row["value"]
        shown = "—" if value is None else (
            f"{value:.2f}" if row["unit"] == "×" else f"{value:.3g} {row['unit']}")
        lines.append(f"| {row['target']} | {shown} | {row['result']} |")
    return "\n".join(lines)


def _now() -> str:
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules", type=parse_sizes, default=list(DEFAULT_SIZES),
                        help="comma-separated sizes (default: 1000,10000,50000)")
    parser.add_argument("--runs", type=int, default=5, help="paired runs per size (default 5)")
    parser.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    parser.add_argument("--workdir", type=Path, default=WORKDIR,
                        help="where generated repositories are cached "
                             "(default: benchmarks/.generated)")
    parser.add_argument("--converge", default=default_converge())
    parser.add_argument("--promtool", default=shutil.which("promtool") or "promtool")
    parser.add_argument("--output", type=Path, default=RESULTS,
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
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    measured: dict[str, dict[str, object]] = {}
    env = child_environment(args.workdir, not args.no_bytecode_cache)
    try:
        for n in args.rules:
            measured[str(n)] = measure(n, args.runs, args.converge, args.promtool,
                                       args.workdir, args.seed, args.allow_diagnostics, env)
    except (CommandFailed, FileNotFoundError, PermissionError) as error:
        print(f"bench_check.py: FAILED: {error}", file=sys.stderr)
        return 1

    sizes: dict[str, dict[str, object]] = {}
    if args.output.exists() and not args.fresh:
        try:
            sizes = dict(json.loads(args.output.read_text()).get("sizes", {}))
        except ValueError:
            sizes = {}
    sizes.update(measured)
    sizes = dict(sorted(sizes.items(), key=lambda item: int(item[0])))
    print(table(measured))
    if set(sizes) != set(measured):
        print("\nwith earlier results from " + str(args.output) + ":\n")
        print(table(sizes))
    if not args.no_write:
        document = {
            "benchmark": "converge check DIR --format json vs promtool check rules FILE...",
            "method": ("whole processes; one unmeasured warm-up each, then N paired runs in "
                       "alternating order; medians; wall time from fork to reap; peak RSS "
                       "is the child's ru_maxrss from wait4; ratio = converge median / "
                       "promtool median"),
            "updated": _now(),
            "machine": machine(args.converge, args.promtool),
            "sizes": sizes,
            "targets": judge(sizes),
        }
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n",
                               encoding="utf-8")
        shown = args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output
        print(f"\nwrote {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
