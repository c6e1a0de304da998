"""Finding 14: a Jinja template could hang `converge check` or make it take 3.9 GB (the
sandbox blocks escapes, not exhaustion). Every hostile template now ends within a bound
with a positioned diagnostic, and the notifier dead-letters such a message with the reason
while its other channels keep delivering."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import notifierkit
import pytest

from converge.compiler import boundedjinja
from security.cli import converge as converge_cli

HOSTILE = [
    pytest.param("{{ 'a' * 10**9 }}", id="string-repeat"),
    pytest.param("{% set s = 'aaaaaaaaaaaaaaaa' %}" + "{% set s = s ~ s %}" * 40 + "{{ s }}",
                 id="concat-doubling"),
    pytest.param("{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}"
                 "{% endfor %}", id="nested-loops"),
    pytest.param("{{ '{:999999999}'.format(1) }}", id="format-width"),
    pytest.param("{{ '%999999999s' % 'a' }}", id="percent-width"),
    pytest.param("{{ 'a' | center(1000000000) }}", id="filter-width"),
    pytest.param("{{ range(10**9) | list | length }}", id="huge-range"),
    pytest.param("{% for a in range(10000) %}{{ 'x' * 1000 }}{% endfor %}", id="output"),
    pytest.param("{% set ns = namespace(l=[]) %}{% for i in range(10000) %}"
                 "{% set ns.l = ns.l + ['x' * 200000] %}{% endfor %}", id="piles-of-copies"),
    pytest.param("{{ 99 ** 99 ** 99 ** 99 ** 99 }}", id="power"),
]

PROJECT = "apiVersion: converge/v1\nkind: Project\nmetadata: {name: demo}\nspec: {}\n"
ROUTING = ("apiVersion: converge/v1\nkind: Routing\nmetadata: {name: main}\n"
           "spec:\n  route: {receiver: dt}\n")


def _channel(body: str) -> str:
    return ("apiVersion: converge/v1\nkind: Channel\nmetadata: {name: dt}\nspec:\n"
            "  type: dingtalk\n  accessToken: {env: DT}\n  template:\n"
            "    title: ok\n    body: |\n      first line\n      " + body + "\n")


@pytest.mark.parametrize("body", HOSTILE)
def test_check_ends_with_a_positioned_diagnostic(tmp_path: Path, body: str) -> None:
    (tmp_path / "converge.yaml").write_text(PROJECT)
    (tmp_path / "routing.yaml").write_text(ROUTING)
    (tmp_path / "channels.yaml").write_text(_channel(body))
    started = time.monotonic()
    done = converge_cli(["check", str(tmp_path)], timeout=30)
    elapsed = time.monotonic() - started
    assert done.returncode == 1, done.stdout + done.stderr
    # at the failing line; too much output is no one line's fault: the template's first
    line = "10:7" if "'x' * 1000" in body else "11:7"
    assert f"channels.yaml:{line}: error[channel/template]:" in done.stdout, done.stdout
    # within 2 s of the same check on a harmless template (the process starting and the
    # other checks cost the same on a busy machine; the render's own bound is 1 s)
    assert elapsed < 2 + _harmless_check(tmp_path.parent / "harmless"), (elapsed, done.stdout)


_HARMLESS: list[float] = []


def _harmless_check(root: Path) -> float:
    if not _HARMLESS:
        root.mkdir(exist_ok=True)
        (root / "converge.yaml").write_text(PROJECT)
        (root / "routing.yaml").write_text(ROUTING)
        (root / "channels.yaml").write_text(_channel("{{ alerts | length }}"))
        started = time.monotonic()
        done = converge_cli(["check", str(root)], timeout=30)
        assert done.returncode == 0, done.stdout
        _HARMLESS.append(time.monotonic() - started)
    return _HARMLESS[0]


@pytest.mark.parametrize("body", HOSTILE)
def test_each_render_is_bounded(body: str) -> None:
    template = boundedjinja.BoundedEnvironment().from_string(body)
    started = time.monotonic()
    with pytest.raises(boundedjinja.BoundError):
        boundedjinja.render(template, {})
    assert time.monotonic() - started < boundedjinja.TIME_BUDGET + 0.5


def test_a_harmless_template_is_unchanged() -> None:
    template = boundedjinja.BoundedEnvironment().from_string(
        "{% for i in range(3) %}{{ i ~ '-' ~ ('ab' * 2) }} {% endfor %}{{ '%05d' % 42 }} "
        "{{ '{:>6}'.format('x') }} {{ 'x' | center(5) }}|{{ 2 ** 10 }}")
    assert boundedjinja.render(template, {}) == "0-abab 1-abab 2-abab 00042      x   x  |1024"


def test_the_notifier_dead_letters_it_and_keeps_delivering(tmp_path: Path) -> None:
    from test_notifier_delivery import WECOM, setup

    hostile = {"type": "dingtalk", "accessToken": {"env": "DT"},
               "template": {"body": "{% for a in range(10000) %}{% for b in range(10000) %}"
                                    "{% endfor %}{% endfor %}"}}

    async def scenario() -> None:
        async with setup(tmp_path, {"dt": hostile, "wc": WECOM}) as (daemon, client, fakes):
            posted = time.monotonic()
            for name in ("dt", "wc"):
                answer = await client.post(f"/hooks/alertmanager/{name}",
                                           json=notifierkit.payload(group=name))
                assert answer.status_code == 200, answer.text
            await notifierkit.until(lambda: len(fakes.received["wecom"]) == 1, timeout=10)
            # the other channel went out while the hostile render was still running
            assert time.monotonic() - posted < boundedjinja.TIME_BUDGET
            letters: list[dict[str, object]] = []

            async def dead() -> None:
                letters[:] = (await client.get("/api/v1/dead-letters")).json()["deadLetters"]

            deadline = time.monotonic() + 10
            while not letters and time.monotonic() < deadline:
                await dead()
                await asyncio.sleep(0.1)
            assert [d["channel"] for d in letters] == ["dt"]
            assert "rendering took over" in str(letters[0]["reason"])
            assert fakes.received["dingtalk"] == []

    asyncio.run(scenario())


@pytest.mark.parametrize("body", [
    pytest.param("{{ range(10000) | join('a' * 200000) }}", id="join-separator"),
    pytest.param("{{ ('x' * 200000) | replace('x', 'yyyyyyyyyy') }}", id="replace"),
    pytest.param("{{ ('\\n' * 200000) | indent(100000) }}", id="indent"),
    pytest.param("{{ '%999999999s' | format('a') }}", id="format-filter"),
    pytest.param("{{ ('a' * 200000).join(range(10000) | map('string') | list) }}",
                 id="join-method"),
    pytest.param("{{ ('\t' * 200000).expandtabs(100000) }}", id="expandtabs-method"),
])
def test_filters_that_multiply_their_input_are_refused_before_they_run(body: str) -> None:
    template = boundedjinja.BoundedEnvironment().from_string(body)
    started = time.monotonic()
    with pytest.raises(boundedjinja.BoundError, match="would build"):
        boundedjinja.render(template, {})
    assert time.monotonic() - started < 0.5


SPIN = "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}"
"""Builds nothing, so only the time bound ends it."""


def test_the_time_bound_starts_no_thread_in_the_main_thread() -> None:
    """`converge check` and `compile` fork their workers only from a one-thread process:
    a watchdog thread per render (alive a moment after its cancel) made them skip it."""
    template = boundedjinja.BoundedEnvironment().from_string(SPIN)
    before = threading.active_count()
    started = time.monotonic()
    with pytest.raises(boundedjinja.BoundError, match="rendering took over 0.2s"):
        boundedjinja.render(template, {}, budget=0.2)
    assert time.monotonic() - started < 1.0
    harmless = boundedjinja.BoundedEnvironment().from_string("{{ 1 + 1 }}")
    assert boundedjinja.render(harmless, {}) == "2"
    assert threading.active_count() == before


def test_the_time_bound_holds_in_a_worker_thread_too() -> None:
    """The notifier renders off its event loop, in worker threads."""
    template = boundedjinja.BoundedEnvironment().from_string(SPIN)
    outcome: list[BaseException | str] = []

    def work() -> None:
        try:
            outcome.append(boundedjinja.render(template, {}, budget=0.2))
        except boundedjinja.BoundError as error:
            outcome.append(error)

    worker = threading.Thread(target=work)
    started = time.monotonic()
    worker.start()
    worker.join(timeout=5)
    assert isinstance(outcome[0], boundedjinja.BoundError), outcome
    assert time.monotonic() - started < 1.5
