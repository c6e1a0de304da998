"""Bring up the demo's stack on loopback: the config server on the demo repository, real
Prometheus, Alertmanager and vmalert each with its sidecar, and the notifier.

Only orchestration lives here (which process, which flags, in which order); what the demo
then shows is in `steps`.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import git

from converge.reconciler.demo import local, processes, workspace

TOKEN = "converge-demo-token"
CLUSTER = "demo"
FIRST_THRESHOLD = 50
TARGETS = ("prometheus", "alertmanager", "vmalert")
CONTAINER_DAEMONS = ("healer", "scaler")

CONVERGE = [sys.executable, "-c", "from converge.compiler.commands.main import run; run()"]


def binary(name: str) -> str:
    """The path of a target's binary (Debian's names), or a clear error."""
    found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists()
                                   else None)
    if found is None:
        raise processes.StartError(f"{name} is not installed: run scripts/install-tools")
    return found


@dataclasses.dataclass
class Stack:
    """What is running: URLs of each part, the demo repository and the local servers."""

    workdir: Path
    repo: git.Repo
    exporter: local.Exporter
    sink: local.Sink
    server_url: str
    notifier_url: str
    target_urls: dict[str, str]
    dests: dict[str, Path]
    daemon_ports: dict[str, int]
    """The ports kept for the healer and the scaler (the console already lists them)."""

    @property
    def console_url(self) -> str:
        """The console, with the token that sets its cookie."""
        return f"{self.server_url}/ui/?token={TOKEN}"

    @property
    def auth(self) -> dict[str, str]:
        """The header the config server wants."""
        return {"Authorization": f"Bearer {TOKEN}"}


def start(sup: processes.Supervisor, *, example: Path, say: Callable[[str], None],
          container_daemons: bool = True) -> Stack:
    """Start everything but the container daemons, each ready before the next one starts.

    With `container_daemons`, ports are kept for the healer and the scaler and the config
    server's console lists them from the start (unavailable until they run)."""
    exporter = local.Exporter()
    exporter.set("demo_queue_length", 0)
    sink = local.Sink()
    try:
        return _start(sup, example=example, say=say, exporter=exporter, sink=sink,
                      later=CONTAINER_DAEMONS if container_daemons else ())
    except BaseException:
        exporter.close()
        sink.close()
        raise


def _start(sup: processes.Supervisor, *, example: Path, say: Callable[[str], None],
           exporter: local.Exporter, sink: local.Sink, later: tuple[str, ...]) -> Stack:
    workdir = sup.workdir
    ports = {name: processes.free_port()
             for name in ("server", "notifier", *TARGETS, "sc-prometheus", "sc-alertmanager",
                          "sc-vmalert", *later)}
    url = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    repo, secret_names = workspace.create(
        example=example, root=workdir / "repo", sink_url=sink.url,
        notifier_url=url["notifier"], threshold=FIRST_THRESHOLD)
    say(f"demo repository: {repo.working_dir} ({repo.head.commit.hexsha[:12]})")
    token_file = workdir / "token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    secrets = {name: f"{sink.url}/secret/{name}" for name in secret_names}
    # each daemon reads only the secrets it is allowed: the demo's files and variables
    allowed = ["--secrets-dir", str(workdir / "secrets"),
               *(flag for name in sorted(secrets) for flag in ("--secret-env", name))]

    server = sup.start("server", [
        *CONVERGE, "serve", "--repo", str(workdir / "repo"), "--branch", "main",
        "--listen", f"127.0.0.1:{ports['server']}", "--interval", "1s",
        "--token-file", str(token_file), "--db", str(workdir / "server" / "state.db"),
        "--cache-dir", str(workdir / "server" / "git"), "--compile-in", "thread",
        "--log-format", "text",
        *(flag for name in ("notifier", *later) for flag in ("--daemon", f"{name}={url[name]}"))
    ])
    sup.wait_ready(server, url["server"] + "/health/ready", timeout=60)
    say(f"config server      {url['server']}")

    dests = {target: workdir / target / "converge" for target in TARGETS}
    for target in TARGETS:
        dests[target].parent.mkdir(parents=True, exist_ok=True)

    def sidecar_argv(target: str, *extra: str) -> list[str]:
        return [*CONVERGE, "sidecar", "--source", url["server"], "--target", target,
                "--dest", str(dests[target]), "--reload-url", f"{url[target]}/-/reload",
                "--cluster-id", CLUSTER, "--interval", "1s", "--token-file", str(token_file),
                "--listen", f"127.0.0.1:{ports['sc-' + target]}", "--log-format", "text",
                *allowed, *extra]

    # Alertmanager does not start without a configuration: publish it once first.
    sup.run("sidecar-alertmanager-once", sidecar_argv("alertmanager", "--once"), env=secrets)
    am = sup.start("alertmanager", [
        binary("prometheus-alertmanager"),
        f"--config.file={dests['alertmanager']}/alertmanager.yaml",
        f"--storage.path={workdir / 'alertmanager' / 'data'}",
        f"--web.listen-address=127.0.0.1:{ports['alertmanager']}",
        "--cluster.listen-address=", "--log.level=warn"])
    sup.wait_ready(am, url["alertmanager"] + "/-/ready")
    say(f"alertmanager       {url['alertmanager']}")

    config = workdir / "prometheus" / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"rule_files:\n  - {dests['prometheus']}/*.yaml\n"
        "scrape_configs:\n  - job_name: demo\n    static_configs:\n"
        f"      - targets: ['{exporter.url.removeprefix('http://')}']\n"
        "alerting:\n  alertmanagers:\n    - static_configs:\n"
        f"        - targets: ['127.0.0.1:{ports['alertmanager']}']\n", encoding="utf-8")
    prom = sup.start("prometheus", [
        binary("prometheus"), f"--config.file={config}",
        f"--storage.tsdb.path={workdir / 'prometheus' / 'data'}",
        f"--web.listen-address=127.0.0.1:{ports['prometheus']}", "--web.enable-lifecycle",
        "--web.enable-remote-write-receiver", "--log.level=warn"])
    sup.wait_ready(prom, url["prometheus"] + "/-/ready")
    say(f"prometheus         {url['prometheus']}")

    dests["vmalert"].mkdir(parents=True, exist_ok=True)
    vm = sup.start("vmalert", [
        binary("vmalert"), f"-rule={dests['vmalert']}/*.yaml",
        f"-datasource.url={url['prometheus']}", f"-remoteWrite.url={url['prometheus']}",
        f"-notifier.url={url['alertmanager']}",
        f"-httpListenAddr=127.0.0.1:{ports['vmalert']}", "-loggerLevel=ERROR"])
    sup.wait_ready(vm, url["vmalert"] + "/health")
    say(f"vmalert            {url['vmalert']}")

    for target in TARGETS:
        sidecar = sup.start(f"sidecar-{target}", sidecar_argv(target), env=secrets)
        sup.wait_ready(sidecar, f"{url['sc-' + target]}/health/live")
    say("sidecars           one next to each target, polling the server every second")

    notifier = sup.start("notifier", [
        *CONVERGE, "notifier", "--bundle", url["server"],
        "--listen", f"127.0.0.1:{ports['notifier']}", "--db", str(workdir / "notifier.db"),
        "--token-file", str(token_file), "--reload-interval", "1s", "--log-format", "text",
        *allowed, "--secret-env", workspace.DEMO_TOKEN_ENV],
        env={workspace.DEMO_TOKEN_ENV: "demo"})
    sup.wait_ready(notifier, url["notifier"] + "/health/live")
    say(f"notifier           {url['notifier']} → sink {sink.url}")
    return Stack(workdir=workdir, repo=repo, exporter=exporter, sink=sink,
                 server_url=url["server"], notifier_url=url["notifier"],
                 target_urls={t: url[t] for t in TARGETS}, dests=dests,
                 daemon_ports={name: ports[name] for name in later})


def close(stack: Stack) -> None:
    """Stop the in-process servers and close the repository."""
    stack.exporter.close()
    stack.sink.close()
    stack.repo.close()
