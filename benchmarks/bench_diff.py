"""Benchmark `converge diff` between two commits that differ in one rule.

    python benchmarks/bench_diff.py [--rules 1000,10000] [--runs 5]

For each size, the generated repository (`generate.py`, cached as for the other
benchmarks) is committed twice into a Git repository of its own under
`benchmarks/.generated/diff-N/`: commit A as generated, commit B with one tiered alert's
critical threshold changed in one rule file. Then, paired in one loop in alternating
order after one unmeasured warm-up run of each:

    converge diff DIR --base A --head B     must exit 1 and report exactly that change
    promtool check rules FILE...            the generator's plain rule files (same rules)

converge reads both commits from Git objects, checks, renders and hashes both sides, and
prints the report (text, with the unified diffs): the whole process is timed. promtool
checks one side's rules once; the ratio puts the figure in terms of this machine, which
is slower than the one the targets were set on. The warm-up also runs `--format json` and
fails the benchmark unless exactly the changed rule is reported.

Results are merged by size into `benchmarks/results/diff.json`. Without `--rules`, sizes
1,000 and 10,000 are measured (the target is at 10,000). Exit status as `bench_check.py`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate  # noqa: E402  (a sibling script, not a package)
import harness  # noqa: E402
from harness import CommandFailed, Sample  # noqa: E402

RESULTS = harness.HERE / "results" / "diff.json"
DEFAULT_SIZES = "1000,10000"
_GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
            "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
            "GIT_AUTHOR_DATE": "2024-06-01T12:00:00+00:00",
            "GIT_COMMITTER_DATE": "2024-06-01T12:00:00+00:00"}
_CRITICAL = re.compile(r"^(\s+critical: )(\S+)$", re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class Targets:
    at_10k_seconds: float = 3.0


TARGETS = Targets()


@dataclasses.dataclass(frozen=True)
class Change:
    """The one rule changed between the commits."""

    file: str
    before: str
    after: str


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), "-c", "commit.gpgsign=false", *args],
                          capture_output=True, text=True, check=False,
                          env={**os.environ, **_GIT_ENV})
    if done.returncode != 0:
        raise CommandFailed(f"git {' '.join(args)} failed in {repo}:\n{done.stderr}")
    return done.stdout.strip()


def change_one_rule(text: str) -> tuple[str, str, str] | None:
    """The file with its first critical threshold raised by a quarter, or None."""
    found = _CRITICAL.search(text)
    if found is None:
        return None
    before = found.group(2)
    after = generate.format_number(float(before) * 1.25)
    return text[:found.start(2)] + after + text[found.end(2):], before, after


def build_repository(source: Path, target: Path) -> tuple[str, str, Change]:
    """A fresh Git repository at `target` with commits A (as generated) and B (one rule
    changed); their SHAs and the change."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(generate.MANIFEST))
    _git(target, "init", "-q", "-b", "main")
    _git(target, "add", "-A")
    _git(target, "commit", "-q", "-m", "A: as generated")
    base = _git(target, "rev-parse", "HEAD")
    for path in sorted((target / "rules").glob("*.yaml")):
        changed = change_one_rule(path.read_text(encoding="utf-8"))
        if changed is not None:
            text, before, after = changed
            path.write_text(text, encoding="utf-8")
            change = Change(path.relative_to(target).as_posix(), before, after)
            break
    else:
        raise CommandFailed(f"{source}: no tiered alert to change")
    _git(target, "commit", "-q", "-am", "B: one threshold changed")
    return base, _git(target, "rev-parse", "HEAD"), change


def converge_argv(converge: str, repo: Path, base: str, head: str,
                  output_format: str = "text") -> list[str]:
    argv = [converge, "diff", str(repo), "--base", base, "--head", head]
    return argv if output_format == "text" else [*argv, "--format", output_format]


def verify_json(sample: Sample, argv: list[str], change: Change) -> dict[str, object]:
    """Exit 1 and exactly the one changed rule (both tiers' files, one rule field)."""
    shown = " ".join(argv)
    if sample.exit_code != 1:
        raise CommandFailed(f"{shown} exited {sample.exit_code}, expected 1 (changes)\n"
                            f"{harness.tail(sample.stderr)}{harness.tail(sample.stdout)}")
    try:
        report = json.loads(sample.stdout)
        rules, files = report["rules"], report["files"]
    except (ValueError, KeyError, TypeError) as error:
        raise CommandFailed(f"{shown}: output is not converge's diff JSON ({error})\n"
                            f"{harness.tail(sample.stdout)}") from None
    fields = [(f["field"], f["before"], f["after"]) for r in rules for f in r["fields"]]
    if len(rules) != 1 or fields != [("threshold", change.before, change.after)]:
        raise CommandFailed(f"{shown}: expected one rule with threshold {change.before} → "
                            f"{change.after}, got {json.dumps(rules)[:2000]}")
    paths = sorted(f["path"] for f in files)
    if len(paths) != 2 or not all(p.endswith(".yaml") for p in paths):
        raise CommandFailed(f"{shown}: expected the group's two rule files, got {paths}")
    return {"rule": rules[0]["name"], "tier": rules[0]["tier"], "group": rules[0]["group"],
            "files": paths, "targets": report["targets"]}


def verify_text(sample: Sample, argv: list[str], change: Change) -> None:
    shown = " ".join(argv)
    expected = f"threshold: {change.before} → {change.after}"
    if sample.exit_code != 1 or expected not in sample.stdout.decode(errors="replace"):
        raise CommandFailed(f"{shown} exited {sample.exit_code} without {expected!r}\n"
                            f"{harness.tail(sample.stderr)}{harness.tail(sample.stdout)}")
    if sample.stderr.strip():
        raise CommandFailed(f"{shown} wrote to stderr:\n{harness.tail(sample.stderr)}")


def prepare(n: int, repo: Path, manifest: Mapping[str, object],
            options: harness.Options) -> harness.Pair:
    """Two commits of the generated repository; converge diffs them, promtool checks the
    generator's plain rule files."""
    git_repo = options.workdir / f"diff-{n}"
    base, head, change = build_repository(repo, git_repo)
    c_argv = converge_argv(options.converge, git_repo, base, head)
    promtool_dir = Path(str(manifest["promtool_dir"]))
    files = [promtool_dir / f for f in manifest["promtool_files"]]  # type: ignore[attr-defined]
    p_argv = harness.promtool_argv(options.promtool, files)
    expected_rules = int(manifest["promtool_rules"])  # type: ignore[call-overload]

    json_argv = converge_argv(options.converge, git_repo, base, head, "json")
    reported = verify_json(harness.run(json_argv, cwd=harness.ROOT, env=options.env),
                           json_argv, change)

    def converge() -> Sample:
        sample = harness.run(c_argv, cwd=harness.ROOT, env=options.env)
        verify_text(sample, c_argv, change)
        return sample

    def promtool() -> Sample:
        sample = harness.run(p_argv)
        harness.verify_promtool(sample, p_argv, expected_rules)
        return sample

    converge()  # warm-up, also the correctness gate for the measured command
    promtool()
    return harness.Pair(converge, promtool, {
        "git_repository": str(git_repo.relative_to(harness.ROOT))
        if git_repo.is_relative_to(harness.ROOT) else str(git_repo),
        "commits": {"base": base, "head": head},
        "change": dataclasses.asdict(change), "reported": reported})


BENCHMARK = harness.Benchmark(
    program="bench_diff.py",
    description=(__doc__ or "").split("\n\n")[0],
    results=RESULTS,
    benchmark=("converge diff DIR --base A --head B (two commits differing in one rule) vs "
               "promtool check rules FILE... (the same rules, one side)"),
    method=("whole processes; one unmeasured warm-up each (and one --format json run that "
            "must report exactly the changed rule), then N paired runs in alternating "
            "order; medians; wall time from fork to reap; peak RSS is the child's "
            "ru_maxrss from wait4; ratio = diff median / promtool median"),
    label="diff",
    targets=(
        harness.Target("10,000 rules: diff median < 3 s", 10000,
                       ("converge", "median_s"), TARGETS.at_10k_seconds, "s"),
        harness.Target("10,000 rules: ratio diff / promtool check rules", 10000,
                       ("ratio",), None, "×"),
        harness.Target("10,000 rules: diff peak RSS", 10000,
                       ("converge", "peak_rss_mb"), None, "MB"),
    ),
    prepare=prepare,
)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not any(a == "--rules" or a.startswith("--rules=") for a in argv):
        argv = ["--rules", DEFAULT_SIZES, *argv]
    return harness.main(BENCHMARK, argv)


if __name__ == "__main__":
    sys.exit(main())
