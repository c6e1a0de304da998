"""The reconciler's layers: the shared runtime depends on no daemon, and the config
server's decisions (compile, publish, fleet) do no I/O of their own."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_layers import IO_MODULES, ROOT, _files, _imports

PURE = ["reconciler/server/compile.py", "reconciler/server/published.py",
        "reconciler/server/fleet.py", "reconciler/core/backoff.py",
        "reconciler/core/conditions.py", "reconciler/core/stops.py",
        "reconciler/scaler/policy.py", "reconciler/scaler/pools.py",
        "reconciler/scaler/config.py"]


@pytest.mark.parametrize("path", _files("reconciler/core"), ids=lambda p: p.name)
def test_the_runtime_imports_no_daemon(path: Path) -> None:
    daemons = {n for n in _imports(path)
               if n.startswith("reconciler.") and not n.startswith("reconciler.core")}
    assert not daemons, f"{path} imports {daemons}"


@pytest.mark.parametrize("path", _files(*PURE), ids=lambda p: str(p.relative_to(ROOT)))
def test_decisions_do_no_io(path: Path) -> None:
    io = {n for n in _imports(path) if n.split(".")[0] in IO_MODULES | {"aiohttp"}}
    assert not io, f"{path} imports {io}"


@pytest.mark.parametrize("path", _files("reconciler/server"), ids=lambda p: p.name)
def test_the_server_does_not_import_other_daemons(path: Path) -> None:
    others = {n for n in _imports(path) if n.startswith("reconciler.")
              and n.split(".")[1] not in ("core", "server")}
    assert not others, f"{path} imports {others}"


@pytest.mark.parametrize("path", _files("reconciler/scaler", "reconciler/healer"),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_the_scaler_and_the_healer_share_only_the_runtime(path: Path) -> None:
    own = path.parent.name
    others = {n for n in _imports(path) if n.startswith("reconciler.")
              and n.split(".")[1] not in ("core", own)}
    assert not others, f"{path} imports {others}"
