"""A sidecar given several config-server URLs (replicas, issue 19): it moves on from a
replica that does not answer or answers 5xx, keeps asking the one that answered, and
never takes a bundle older (a lower `X-Converge-Serial`) than one it already took."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
import server_harness as h

from converge.reconciler.sidecar.sources.base import SourceError, parse
from converge.reconciler.sidecar.sources.server import ServerSource

Answer = Callable[[httpx.Request], httpx.Response]


@pytest.fixture(scope="module")
def bundle_answer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Response]:
    """A real server's answer for the prometheus bundle."""
    tmp = tmp_path_factory.mktemp("failover")
    specs = h.SpecsRepo(tmp / "specs")
    server = h.RunningServer(h.settings(tmp, specs.root))
    try:
        h.wait_for(lambda: server.anonymous.get("/health/ready").status_code == 200)
        answer = server.client.get("/api/v1/bundles/prometheus")
        answer.read()
        yield answer
    finally:
        server.stop()
        specs.close()


def _bundle(answer: httpx.Response, serial: int, database: str = "db1") -> Answer:
    headers = {"ETag": answer.headers["ETag"], "X-Converge-Serial": f"{database}.{serial}",
               "Content-Type": "application/json"}
    return lambda request: httpx.Response(200, content=answer.content, headers=headers)


def _down(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def _status(code: int) -> Answer:
    return lambda request: httpx.Response(code, json={"error": "x"})


def _source(replicas: dict[str, Answer]) -> ServerSource:
    transport = httpx.MockTransport(lambda request: replicas[request.url.host](request))
    return ServerSource(",".join(f"http://{name}" for name in replicas), target="prometheus",
                        token="t", client=httpx.Client(transport=transport))


def test_it_fails_over_on_connection_errors_and_5xx_and_stays(
        bundle_answer: httpx.Response) -> None:
    replicas = {"a": _down, "b": _status(503), "c": _bundle(bundle_answer, 7)}
    source = _source(replicas)
    candidate = source.fetch(None)
    assert candidate is not None and f'"{candidate.hash}"' == bundle_answer.headers["ETag"]
    assert (source.url, source.serial) == ("http://c", 7)
    replicas["a"] = _bundle(bundle_answer, 7)
    assert source.fetch(None) is not None and source.url == "http://c"  # sticks to c


def test_it_never_goes_backwards(bundle_answer: httpx.Response) -> None:
    replicas = {"a": _bundle(bundle_answer, 7), "b": _bundle(bundle_answer, 5)}
    source = _source(replicas)
    assert source.fetch(None) is not None and source.serial == 7
    replicas["a"] = _down
    assert source.fetch(None) is None  # b is behind: nothing newer to take
    assert source.serial == 7 and source.url == "http://a"
    replicas["b"] = _bundle(bundle_answer, 8)
    assert source.fetch(None) is not None and (source.url, source.serial) == ("http://b", 8)


def test_a_serial_from_another_database_is_followed(bundle_answer: httpx.Response) -> None:
    replicas = {"a": _bundle(bundle_answer, 700)}
    source = _source(replicas)
    assert source.fetch(None) is not None
    replicas["a"] = _bundle(bundle_answer, 3, database="db2")  # an empty database now
    assert source.fetch(None) is not None and (source.database, source.serial) == ("db2", 3)
    replicas["a"] = _bundle(bundle_answer, 2, database="db2")
    assert source.fetch(None) is None


def test_the_server_sends_its_database_and_serial(bundle_answer: httpx.Response) -> None:
    database, _, serial = bundle_answer.headers["X-Converge-Serial"].rpartition(".")
    assert len(database) == 32 and int(serial) >= 1


def test_all_replicas_down_is_one_error_naming_each() -> None:
    source = _source({"a": _down, "b": _status(502)})
    with pytest.raises(SourceError, match=r"http://a: connection refused; http://b: HTTP 502"):
        source.fetch(None)


def test_a_refused_token_is_not_failed_over() -> None:
    source = _source({"a": _status(403), "b": _down})
    with pytest.raises(SourceError, match="refused the token"):
        source.fetch(None)


def test_reports_go_to_a_replica_that_takes_them() -> None:
    taken: list[str] = []

    def take(request: httpx.Request) -> httpx.Response:
        taken.append(request.url.host)
        return httpx.Response(200, json={"accepted": True})

    source = _source({"a": _down, "b": _status(503), "c": take})
    source.report({"clusterId": "c1"})
    assert taken == ["c"]


@pytest.mark.parametrize("text, location", [
    pytest.param("http://a:9400/", "http://a:9400", id="one"),
    pytest.param("http://a:9400, https://b:9400/,http://c", "http://a:9400,https://b:9400,"
                 "http://c", id="several"),
])
def test_source_urls(text: str, location: str) -> None:
    assert parse(text).location == location


def test_every_url_must_be_http() -> None:
    with pytest.raises(ValueError, match="must start with http"):
        parse("http://a,dir:/x")
