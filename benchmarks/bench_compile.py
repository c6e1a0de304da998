"""Benchmark `converge compile` against `promtool check rules` on the files it produced.

    python benchmarks/bench_compile.py [--rules 1000,10000,50000] [--runs 5]

For each size, `generate.py` writes a converge repository (cached under
`benchmarks/.generated/`, shared with `bench_check.py`). converge compiles it into
`benchmarks/.generated/compiled-N/`, and promtool checks the Prometheus rule files of that
bundle. Both run as whole processes, paired in one loop (the order alternates each run),
after one unmeasured warm-up run of each:

    converge compile DIR -o OUT           must exit 0, print nothing on stderr, and write
                                          OUT/manifest.json whose rule counts are the
                                          generated ones and whose bundle hash never changes
    promtool check rules OUT/prometheus/rules/*.yaml
                                          must exit 0 with no lint output and count the
                                          rules of the manifest

Every run replaces OUT, as users do: converge renders, hashes and writes every file into a
staging directory beside OUT, syncs it, swaps it in with one atomic rename and removes the
previous bundle, all inside the timed process; it never skips an unchanged bundle, so each
run is a full write. The bundle is byte-identical in every run (same bundle hash), so
promtool always checks exactly what each compile produced.

Each child's wall time (fork to reap) and peak RSS (`ru_maxrss` from `os.wait4` of that
child) are recorded. The table shows medians, the ratio compile/promtool of the medians,
and the targets with PASS/FAIL. Results are merged by size into
`benchmarks/results/compile.json`, with the machine's description.

Exit status: 0 when every command succeeded (even if a target fails: this is a report),
1 when a command failed, produced diagnostics or a wrong bundle, 2 on bad arguments.
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

RESULTS = harness.HERE / "results" / "compile.json"
RULE_TARGETS = ("prometheus", "vmalert")
"""The bundle's targets that receive every generated rule group."""


@dataclasses.dataclass(frozen=True)
class Targets:
    """The performance targets of `converge compile` (whole process, median)."""

    at_10k_seconds: float = 1.5
    at_50k_seconds: float = 8.0
    at_10k_peak_mb: float = 400.0


TARGETS = Targets()


def output_dir(workdir: Path, n: int) -> Path:
    """Beside the repository, not in it (converge would read the bundle's YAML as specs)."""
    return workdir / f"compiled-{n}"


def _shown(path: Path) -> str:
    path = path.absolute()
    return str(path.relative_to(harness.ROOT) if path.is_relative_to(harness.ROOT) else path)


def converge_argv(converge: str, repo: Path, out: Path) -> list[str]:
    # --no-cache: every run does all the work (bench_shapes.py measures the cache)
    return [converge, "compile", str(repo), "-o", str(out), "--no-cache"]


def expected_counts(manifest: Mapping[str, object]) -> dict[str, int]:
    """What each rule target of the bundle must count: tiered alerts expanded, one file
    per group."""
    def count(key: str) -> int:
        value = manifest[key]
        if not isinstance(value, int):
            raise CommandFailed(f"the generator's manifest has no count {key!r}")
        return value

    return {"files": count("groups"), "groups": count("groups"),
            "rules": count("promtool_rules"),
            "alerts": count("alerts") + count("promtool_rules") - count("rules"),
            "records": count("records")}


def verify_compile(sample: Sample, argv: list[str], out: Path,
                   manifest: Mapping[str, object], allow: bool,
                   bundle_hash: str | None = None) -> dict[str, object]:
    """The run exited 0 and wrote the right bundle (its hash, when given); what it holds."""
    shown = " ".join(argv)
    if sample.exit_code != 0:
        raise CommandFailed(f"{shown} exited {sample.exit_code}\n"
                            f"{harness.tail(sample.stderr)}{harness.tail(sample.stdout)}")
    if sample.stderr.strip() and not allow:
        raise CommandFailed(f"{shown}: the generated repository should compile clean, but "
                            f"converge reported:\n{harness.tail(sample.stderr)}"
                            "(rerun with --allow-diagnostics to time it anyway)")
    try:
        bundle = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        targets = bundle["targets"]
        found = {name: {key: targets[name][key] for key in ("files", "groups", "rules",
                                                              "alerts", "records")}
                 for name in RULE_TARGETS}
        files = bundle["files"]
        digest = bundle["bundleHash"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CommandFailed(f"{shown}: no readable {out / 'manifest.json'} ({error})\n"
                            f"{harness.tail(sample.stdout)}") from None
    expected = expected_counts(manifest)
    for name, counts in found.items():
        if counts != expected:
            raise CommandFailed(f"{shown}: manifest.json counts {name} {counts}, the "
                                f"generated repository has {expected}")
    on_disk = len(list((out / "prometheus" / "rules").glob("*.yaml")))
    if on_disk != expected["files"]:
        raise CommandFailed(f"{shown}: {on_disk} files in {out}/prometheus/rules, "
                            f"expected {expected['files']}")
    if bundle_hash is not None and digest != bundle_hash:
        raise CommandFailed(f"{shown}: bundle hash {digest} differs from the warm-up's "
                            f"{bundle_hash}: the output is not deterministic")
    return {"hash": digest, "files": len(files),
            "bytes": sum(int(f["size"]) for f in files),
            "targets": {name: {k: v for k, v in info.items() if k != "hash"}
                        for name, info in sorted(targets.items())}}


def prepare(n: int, repo: Path, manifest: Mapping[str, object],
            options: harness.Options) -> harness.Pair:
    """converge compiles the repository into OUT; promtool checks OUT's Prometheus files."""
    out = output_dir(options.workdir, n)
    c_argv = converge_argv(options.converge, repo, out)

    # warm-up (page cache, .pyc files, a first bundle to replace), also the correctness gate
    warm = harness.run(c_argv, cwd=harness.ROOT, env=options.env)
    bundle = verify_compile(warm, c_argv, out, manifest, options.allow_diagnostics)
    bundle_hash = str(bundle["hash"])
    files = sorted((out / "prometheus" / "rules").glob("*.yaml"))
    p_argv = harness.promtool_argv(options.promtool, files)
    expected_rules = expected_counts(manifest)["rules"]

    def converge() -> Sample:
        sample = harness.run(c_argv, cwd=harness.ROOT, env=options.env)
        verify_compile(sample, c_argv, out, manifest, options.allow_diagnostics, bundle_hash)
        return sample

    def promtool() -> Sample:
        sample = harness.run(p_argv)
        harness.verify_promtool(sample, p_argv, expected_rules)
        return sample

    promtool()
    return harness.Pair(converge, promtool,
                        {"output": _shown(out), "bundle": bundle,
                         "promtool_files": len(files)})


BENCHMARK = harness.Benchmark(
    program="bench_compile.py",
    description=(__doc__ or "").split("\n\n")[0],
    results=RESULTS,
    benchmark=("converge compile DIR -o OUT vs promtool check rules "
               "OUT/prometheus/rules/*.yaml (the files that compile produced)"),
    method=("whole processes; one unmeasured warm-up each, then N paired runs in "
            "alternating order; medians; wall time from fork to reap; peak RSS "
            "is the child's ru_maxrss from wait4; every compile replaces OUT (render, hash, "
            "write every file to a staging directory, syncfs, atomic swap, removal of the "
            "previous bundle), with the same bundle hash each run; ratio = compile median / "
            "promtool median"),
    label="compile",
    targets=(
        harness.Target("10,000 rules: compile median < 1.5 s", 10000,
                       ("converge", "median_s"), TARGETS.at_10k_seconds, "s"),
        harness.Target("10,000 rules: compile peak RSS < 400 MB", 10000,
                       ("converge", "peak_rss_mb"), TARGETS.at_10k_peak_mb, "MB"),
        harness.Target("10,000 rules: ratio compile / promtool check rules on its output",
                       10000, ("ratio",), None, "×"),
        harness.Target("50,000 rules: compile median < 8 s", 50000,
                       ("converge", "median_s"), TARGETS.at_50k_seconds, "s"),
    ),
    prepare=prepare,
)


def main(argv: list[str] | None = None) -> int:
    return harness.main(BENCHMARK, argv)


if __name__ == "__main__":
    sys.exit(main())
