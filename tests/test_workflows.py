"""The GitHub workflows and the action we ship call converge with commands and options that
exist, keep untrusted input out of their scripts, and the action's scripts do what its
inputs and outputs say (run here with bash on a real Git repository)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from convergecli import check_converge_args, command_lines, converge_args, simple_commands

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "action.yml"
WORKFLOWS = sorted([*ROOT.glob(".github/workflows/*.yml"),
                    *ROOT.glob("repo-example/.github/workflows/*.yml")])
FILES = [*WORKFLOWS, ACTION]
USES_ACTION = re.compile(r"^(\./|[\w.-]+/converge@[\w.-]+)$")
"""How a workflow runs converge's action: `./` in this repository, `<owner>/converge@<ref>`
anywhere else."""
MARKER = "<!-- converge-preview -->"


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


def _steps(path: Path) -> Iterator[dict[str, Any]]:
    document = _load(path)
    if "runs" in document:
        yield from document["runs"]["steps"]
        return
    for job in document["jobs"].values():
        yield from job["steps"]


def _invocations(path: Path) -> Iterator[list[str]]:
    """Every `converge …` command of the file's run steps, as argv after `converge`."""
    for step in _steps(path):
        script = str(step.get("run", "")).splitlines()
        for _, line in command_lines("sh", 1, script):
            for words in simple_commands(line):
                args = converge_args(words)
                if args is not None:
                    yield args


def _action_steps(path: Path) -> list[dict[str, Any]]:
    return [step for step in _steps(path) if USES_ACTION.match(str(step.get("uses", "")))]


def test_workflows_exist() -> None:
    names = {_name(path) for path in WORKFLOWS}
    assert {".github/workflows/ci.yml", ".github/workflows/preview.yml",
            "repo-example/.github/workflows/converge.yml"} <= names


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_every_converge_call_parses(path: Path) -> None:
    calls = list(_invocations(path))
    assert calls or _action_steps(path), f"{_name(path)} never runs converge"
    for argv in calls:
        check_converge_args(argv)


def _scripts(path: Path) -> Iterator[tuple[str, str]]:
    """Each step's code: its `run:` script, or an actions/github-script `script:`."""
    for step in _steps(path):
        name = str(step.get("name") or step.get("uses") or step.get("run"))
        if "run" in step:
            yield name, str(step["run"])
        if str(step.get("uses", "")).startswith("actions/github-script@"):
            yield name, str(step.get("with", {}).get("script", ""))


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_no_untrusted_input_inside_scripts(path: Path) -> None:
    """`${{ github.event.* }}` (a pull request's title, a branch name) pasted into a script
    is code injection: such values go through `env:` and are read as variables. The
    action puts no expression at all into its scripts: its inputs are as untrusted."""
    for name, script in _scripts(path):
        expressions = re.findall(r"\$\{\{(.*?)\}\}", script)
        if path == ACTION:
            assert not expressions, f"{_name(path)}: step {name!r} interpolates {expressions}"
        untrusted = [e for e in expressions if re.search(r"github\.(event|head_ref)", e)]
        assert not untrusted, f"{_name(path)}: step {name!r} interpolates {untrusted}"


# --- the action --------------------------------------------------------------------------

def _action() -> dict[str, Any]:
    return _load(ACTION)


def test_action_is_a_composite_action() -> None:
    action = _action()
    assert action["name"] and action["description"]
    assert action["runs"]["using"] == "composite"
    for name, spec in action["inputs"].items():
        assert spec.get("description"), f"input {name} has no description"
        assert "default" in spec or spec.get("required"), f"input {name}: no default"
    for name, spec in action["outputs"].items():
        assert spec.get("description") and spec.get("value"), f"output {name}"
    for step in action["runs"]["steps"]:
        assert step.get("name"), f"a step of action.yml has no name: {step}"
        if "run" in step:
            assert step.get("shell") == "bash", f"{step['name']}: composite steps need a shell"
        else:
            # Only GitHub's own actions: nothing third-party runs with the caller's token.
            assert str(step["uses"]).startswith("actions/"), step["uses"]


def test_action_inputs_are_declared_and_used() -> None:
    text = ACTION.read_text(encoding="utf-8")
    declared = set(_action()["inputs"])
    used = set(re.findall(r"\binputs\.([A-Za-z0-9_-]+)", text))
    assert used - declared == set(), f"used but not declared: {sorted(used - declared)}"
    assert declared - used == set(), f"declared but never used: {sorted(declared - used)}"


def test_action_outputs_come_from_its_steps() -> None:
    steps = {step.get("id"): step for step in _action()["runs"]["steps"]}
    for name, spec in _action()["outputs"].items():
        [(step_id, key)] = re.findall(r"steps\.([\w-]+)\.outputs\.([\w-]+)", spec["value"])
        assert step_id in steps, f"output {name}: no step {step_id}"
        code = str(steps[step_id].get("run", "")) + str(steps[step_id].get("with", {}))
        assert f"{key}=" in code or f"setOutput('{key}'" in code, f"{step_id} never sets {key}"


def test_action_posts_one_comment_and_the_job_summary() -> None:
    text = ACTION.read_text(encoding="utf-8")
    assert MARKER in text
    assert "updateComment" in text and "createComment" in text
    assert "$GITHUB_STEP_SUMMARY" in text


def test_every_input_and_output_is_in_ci_md() -> None:
    ci = (ROOT / "docs/ci.md").read_text(encoding="utf-8")
    action = _action()
    for name in [*action["inputs"], *action["outputs"]]:
        assert re.search(rf"^\| `{re.escape(name)}` \|", ci, flags=re.MULTILINE), \
            f"docs/ci.md has no row for `{name}`"


_COMMENT_HARNESS = r"""
const [script, scenario] = [process.argv[1], JSON.parse(process.argv[2])];
const calls = [];
const answer = (what, id) => {
  calls.push([what, id]);
  if (scenario.status) throw Object.assign(new Error('refused'), {status: scenario.status});
  return {data: {html_url: `https://github.test/${id}`}};
};
const github = {
  paginate: async () => scenario.comments,
  rest: {
    issues: {listComments: null,
             updateComment: async (a) => answer('update', a.comment_id),
             createComment: async (a) => answer('create', a.issue_number)},
    users: {getAuthenticated: async () => {
      if (scenario.login) return {data: {login: scenario.login}};
      throw Object.assign(new Error('Resource not accessible by integration'), {status: 403});
    }},
  },
};
const context = {repo: {owner: 'o', repo: 'r'}, payload: {pull_request: {
  number: 7, head: {repo: {full_name: scenario.head || 'o/r'}}, base: {repo: {full_name: 'o/r'}}}}};
const core = {setOutput: (k, v) => calls.push(['output', k, v]),
              warning: () => calls.push(['warning'])};
const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
new AsyncFunction('require', 'github', 'context', 'core', script)(require, github, context, core)
  .then(() => console.log(JSON.stringify(calls)),
        (error) => console.log(JSON.stringify([...calls, ['threw', error.status]])));
"""

_BOT = {"type": "Bot", "login": "github-actions[bot]"}
_ME = {"type": "User", "login": "me"}


@pytest.mark.parametrize(("scenario", "default_token", "expected"), [
    pytest.param({"comments": [{"id": 1, "body": f"{MARKER}\nold", "user": _ME},
                               {"id": 2, "body": f"{MARKER}\nold", "user": _BOT},
                               {"id": 3, "body": f"{MARKER}\nnewer", "user": _BOT}]},
                 True, [["update", 2], ["output", "url", "https://github.test/2"]],
                 id="updates-its-own"),
    pytest.param({"comments": [{"id": 1, "body": None, "user": _BOT},
                               {"id": 2, "body": f"quoting {MARKER}", "user": _BOT}]},
                 True, [["create", 7], ["output", "url", "https://github.test/7"]],
                 id="creates-the-first"),
    pytest.param({"comments": [{"id": 4, "body": f"{MARKER}\nold", "user": _ME}],
                  "login": "me"},
                 False, [["update", 4], ["output", "url", "https://github.test/4"]],
                 id="a-personal-token-updates-its-user's"),
    pytest.param({"comments": [], "status": 403, "head": "someone/r"},
                 True, [["create", 7], ["warning"]], id="a-fork-warns"),
    pytest.param({"comments": [], "status": 403},
                 True, [["create", 7], ["threw", 403]], id="no-permission-fails"),
])
def test_the_comment_script(scenario: dict[str, Any], default_token: bool,
                            expected: list[Any], tmp_path: Path) -> None:
    """actions/github-script's script, run by node against a stand-in of its API."""
    node = _need("node", "the runner's JavaScript, as actions/github-script")
    [step] = [s for s in _action()["runs"]["steps"] if s.get("id") == "comment"]
    preview = tmp_path / "preview.md"
    preview.write_text("### converge diff\n")
    done = subprocess.run(
        [node, "-e", _COMMENT_HARNESS, step["with"]["script"], json.dumps(scenario)],
        capture_output=True, text=True, timeout=60, check=True,
        env={**os.environ, "PREVIEW": str(preview),
             "DEFAULT_TOKEN": str(default_token).lower()})
    assert json.loads(done.stdout) == expected


@pytest.mark.parametrize("path", WORKFLOWS, ids=_name)
def test_workflows_give_the_action_only_its_inputs(path: Path) -> None:
    declared = set(_action()["inputs"])
    for step in _action_steps(path):
        given = set(step.get("with", {}))
        assert given <= declared, f"{_name(path)}: {sorted(given - declared)} not inputs"


def test_ci_md_example_gives_the_action_only_its_inputs() -> None:
    ci = (ROOT / "docs/ci.md").read_text(encoding="utf-8")
    examples = [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", ci, re.S)]
    steps = [step for example in examples if isinstance(example, dict) and "jobs" in example
             for job in example["jobs"].values() for step in job["steps"]
             if USES_ACTION.match(str(step.get("uses", "")))]
    assert steps, "docs/ci.md shows no workflow that uses the action"
    declared = set(_action()["inputs"])
    for step in steps:
        assert set(step.get("with", {})) <= declared, step


def test_preview_is_the_action() -> None:
    path = ROOT / ".github/workflows/preview.yml"
    [step] = _action_steps(path)
    assert step["uses"] == "./"
    assert "fetch-depth: 0" in path.read_text(encoding="utf-8")


def test_repo_example_uses_the_action_as_a_user_would() -> None:
    path = ROOT / "repo-example/.github/workflows/converge.yml"
    [step] = _action_steps(path)
    assert step["uses"] != "./", "in a user's repository the action is not at ./"
    ci = (ROOT / "docs/ci.md").read_text(encoding="utf-8")
    assert f"uses: {step['uses']}" in ci, "docs/ci.md names the action differently"


# --- the action's scripts, run -----------------------------------------------------------

_TOKEN = re.compile(r"\s*('[^']*'|==|!=|\|\||&&|!|\(|\)|[A-Za-z_][\w.-]*)")


class _Expression:
    """The part of GitHub's expression language the action uses: context lookups,
    'strings', ==, !=, !, &&, || and parentheses."""

    def __init__(self, text: str, context: dict[str, Any]) -> None:
        self.tokens = _TOKEN.findall(text)
        assert "".join(self.tokens) == re.sub(r"\s+", "", text), f"cannot read: {text}"
        self.context = context

    def value(self) -> Any:
        result = self._or()
        assert not self.tokens, f"left over: {self.tokens}"
        return result

    def _take(self, token: str) -> bool:
        if self.tokens and self.tokens[0] == token:
            self.tokens.pop(0)
            return True
        return False

    def _or(self) -> Any:
        left = self._and()
        while self._take("||"):
            right = self._and()
            left = left if left else right
        return left

    def _and(self) -> Any:
        left = self._comparison()
        while self._take("&&"):
            right = self._comparison()
            left = right if left else left
        return left

    def _comparison(self) -> Any:
        left = self._unary()
        for operator in ("==", "!="):
            if self._take(operator):
                equal = str(left or "") == str(self._unary() or "")
                return equal if operator == "==" else not equal
        return left

    def _unary(self) -> Any:
        if self._take("!"):
            return not self._unary()
        if self._take("("):
            inner = self._or()
            assert self._take(")")
            return inner
        token = self.tokens.pop(0)
        if token.startswith("'"):
            return token[1:-1]
        found: Any = self.context
        for part in token.split("."):
            found = found.get(part) if isinstance(found, dict) else None
        return found


def _evaluate(text: str, context: dict[str, Any]) -> str:
    """TEXT with each `${{ … }}` replaced by its value, as the runner does."""
    def one(match: re.Match[str]) -> str:
        value = _Expression(match.group(1), context).value()
        return str(value).lower() if isinstance(value, bool) else str(value or "")
    return re.sub(r"\$\{\{(.*?)\}\}", one, text)


def _run_action(workspace: Path, inputs: dict[str, str], event: dict[str, Any],
                tmp: Path) -> tuple[dict[str, Any], list[str], subprocess.CompletedProcess[str]]:
    """Run action.yml's shell steps in WORKSPACE as the runner would, with this
    checkout's converge and Python: not setup-python and the install (the environment
    has converge already) nor the comment (GitHub's API). Returns the action's outputs,
    the steps skipped by their `if:` and the last step run."""
    action = _action()
    given = {name: inputs.get(name, str(spec.get("default", "")))
             for name, spec in action["inputs"].items()}
    context: dict[str, Any] = {"github": {"event": event, "token": "the-token"},
                               "steps": {}}
    context["inputs"] = {name: _evaluate(value, context) for name, value in given.items()}
    summary = tmp / "summary.md"
    environment = {**os.environ, "RUNNER_TEMP": str(tmp), "GITHUB_ACTION_PATH": str(ROOT),
                   "GITHUB_STEP_SUMMARY": str(summary),
                   "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    skipped: list[str] = []
    result = subprocess.CompletedProcess[str]([], 0, "", "")
    for index, step in enumerate(action["runs"]["steps"]):
        condition = step.get("if")
        if condition and not _Expression(str(condition), context).value():
            skipped.append(step["name"])
            continue
        if "run" not in step or "pip install" in step["run"]:
            continue
        output = tmp / f"output-{index}"
        output.write_text("")
        env = {name: _evaluate(str(value), context) for name, value in
               step.get("env", {}).items()}
        result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                                 step["run"]], cwd=workspace, capture_output=True, text=True,
                                env={**environment, **env, "GITHUB_OUTPUT": str(output)},
                                timeout=120, check=False)
        outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
        context["steps"][step.get("id", f"step{index}")] = {"outputs": outputs}
        if result.returncode:
            break
    values = {name: _evaluate(spec["value"], context) for name, spec in action["outputs"].items()}
    values["summary"] = summary.read_text() if summary.exists() else ""
    return values, skipped, result


def _git(workspace: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(workspace), *args], check=True,
                          capture_output=True, text=True)
    return done.stdout.strip()


@pytest.fixture
def pull_request(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """A Git repository with the example's specs in specs/, a base commit and a head
    commit that lowers a threshold: a pull request's checkout."""
    if shutil.which("git") is None:
        _need("git", "the action's diff step")
    workspace = tmp_path / "workspace"
    shutil.copytree(ROOT / "repo-example", workspace / "specs",
                    ignore=shutil.ignore_patterns(".github"))
    _git(workspace.parent, "init", "-q", "-b", "main", str(workspace))
    for key, value in (("user.name", "t"), ("user.email", "t@example.com")):
        _git(workspace, "config", key, value)
    _git(workspace, "add", "-A")
    _git(workspace, "commit", "-q", "-m", "base")
    base = _git(workspace, "rev-parse", "HEAD")
    rules = workspace / "specs/rules/database.yaml"
    rules.write_text(rules.read_text().replace("critical: 95", "critical: 90", 1))
    _git(workspace, "commit", "-q", "-am", "head")
    return workspace, {"pull_request": {"number": 7, "base": {"sha": base}}}


def test_action_previews_a_pull_request(pull_request: tuple[Path, dict[str, Any]],
                                        tmp_path: Path) -> None:
    workspace, event = pull_request
    outputs, skipped, last = _run_action(workspace, {"path": "specs"}, event, tmp_path)
    assert last.returncode == 0, last.stderr
    assert outputs["check-exit-code"] == "0" and outputs["errors"] == "false"
    assert outputs["diff-exit-code"] == "1" and outputs["changed"] == "true"
    preview = Path(outputs["preview"]).read_text()
    assert preview.startswith("### converge diff") and "95" in preview and "90" in preview
    assert preview in outputs["summary"]
    # compile-check is off; the comment would be posted (its step's condition holds).
    assert skipped == ["converge compile --check (the committed bundle is current)"]


def test_action_outside_a_pull_request_only_checks(pull_request: tuple[Path, dict[str, Any]],
                                                   tmp_path: Path) -> None:
    workspace, _ = pull_request
    outputs, skipped, last = _run_action(workspace, {"path": "specs", "check-args": "--no-color"},
                                         {}, tmp_path)
    assert last.returncode == 0, last.stderr
    assert outputs["errors"] == "false"
    assert outputs["preview"] == "" and outputs["diff-exit-code"] == ""
    assert "post or update the preview comment" in skipped


def test_action_fails_on_errors_and_a_stale_bundle_after_the_preview(
        pull_request: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    workspace, event = pull_request
    rules = workspace / "specs/rules/database.yaml"
    rules.write_text(rules.read_text().replace("critical: 90", "critical: [90", 1))
    _git(workspace, "commit", "-q", "-am", "broken")
    outputs, _, last = _run_action(
        workspace, {"path": "specs", "compile-check": "true", "diff-args": "--head HEAD"},
        event, tmp_path)
    assert outputs["errors"] == "true" and outputs["stale"] == "true"
    assert outputs["diff-exit-code"] == "2" and outputs["preview"]  # the report says why
    assert last.returncode == 1
    assert "converge check: errors" in last.stderr
    assert "converge compile --check" in last.stderr and "converge diff" in last.stderr


def _need(tool: str, why: str) -> str:
    """The tool's path; a missing one skips the test locally and fails it in CI (`CI` set),
    where scripts/install-tools must have installed it."""
    found = shutil.which(tool)
    if found is None:
        message = f"needs {tool} ({why}); scripts/install-tools installs it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found
