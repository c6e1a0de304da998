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

The machinery (generation, paired runs, wait4, statistics, results) is in `harness.py`,
shared with `bench_compile.py`.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Mapping
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402  (a sibling script, not a package)
from harness import CommandFailed, Sample  # noqa: E402

RESULTS = harness.HERE / "results" / "check.json"


@dataclasses.dataclass(frozen=True)
class Targets:
    """The performance targets (docs and /work/shared/notes/performance.md)."""

    at_10k_seconds: float = 1.0
    at_50k_seconds: float = 5.0
    at_10k_peak_mb: float = 300.0


TARGETS = Targets()


def converge_argv(converge: str, repo: Path) -> list[str]:
    # --no-cache: every run does all the work (bench_shapes.py measures the cache)
    return [converge, "check", str(repo), "--format", "json", "--no-cache"]


def verify_converge(sample: Sample, argv: list[str], allow: bool) -> dict[str, int]:
    shown = " ".join(argv)
    if sample.exit_code != 0:
        raise CommandFailed(f"{shown} exited {sample.exit_code}\n"
                            f"{harness.tail(sample.stderr)}{harness.tail(sample.stdout)}")
    try:
        report = json.loads(sample.stdout)
        summary = report["summary"]
    except (ValueError, KeyError, TypeError) as error:
        raise CommandFailed(f"{shown}: output is not converge's JSON report ({error})\n"
                            f"{harness.tail(sample.stdout)}") from None
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


def prepare(n: int, repo: Path, manifest: Mapping[str, object],
            options: harness.Options) -> harness.Pair:
    """converge on the repository, promtool on the generator's plain rule files."""
    promtool_dir = Path(str(manifest["promtool_dir"]))
    files = [promtool_dir / f for f in manifest["promtool_files"]]  # type: ignore[attr-defined]
    c_argv = converge_argv(options.converge, repo)
    p_argv = harness.promtool_argv(options.promtool, files)
    expected_rules = int(manifest["promtool_rules"])  # type: ignore[call-overload]

    def converge() -> Sample:
        sample = harness.run(c_argv, cwd=harness.ROOT, env=options.env)
        verify_converge(sample, c_argv, options.allow_diagnostics)
        return sample

    def promtool() -> Sample:
        sample = harness.run(p_argv)
        harness.verify_promtool(sample, p_argv, expected_rules)
        return sample

    # warm-up (page cache, .pyc files), also the correctness gate
    summary = verify_converge(harness.run(c_argv, cwd=harness.ROOT, env=options.env), c_argv,
                              options.allow_diagnostics)
    promtool()
    return harness.Pair(converge, promtool, {"converge_summary": summary})


BENCHMARK = harness.Benchmark(
    program="bench_check.py",
    description=(__doc__ or "").split("\n\n")[0],
    results=RESULTS,
    benchmark="converge check DIR --format json vs promtool check rules FILE...",
    method=("whole processes; one unmeasured warm-up each, then N paired runs in "
            "alternating order; medians; wall time from fork to reap; peak RSS "
            "is the child's ru_maxrss from wait4; ratio = converge median / "
            "promtool median"),
    label="converge",
    targets=(
        harness.Target("10,000 rules: converge median < 1.0 s", 10000,
                       ("converge", "median_s"), TARGETS.at_10k_seconds, "s"),
        harness.Target("10,000 rules: faster than promtool (ratio < 1)", 10000,
                       ("ratio",), 1.0, "×"),
        harness.Target("50,000 rules: converge median < 5 s", 50000,
                       ("converge", "median_s"), TARGETS.at_50k_seconds, "s"),
        harness.Target("10,000 rules: converge peak RSS < 300 MB", 10000,
                       ("converge", "peak_rss_mb"), TARGETS.at_10k_peak_mb, "MB"),
    ),
    prepare=prepare,
)


def main(argv: list[str] | None = None) -> int:
    return harness.main(BENCHMARK, argv)


if __name__ == "__main__":
    sys.exit(main())
