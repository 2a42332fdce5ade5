"""``recordAttempt`` answers alike whichever way a request goes: api/fast_recording.py, which serves plain requests
past Litestar's routing and parameter machinery, or Litestar's own route. The same requests are sent both ways (the
app's fast path switched off for the second) and their answers compared: status, headers and body, with what differs
between two recordings (ids, numbers, times, the request id) set aside."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.fast_recording import MAX_BODY, FastRecording, _plain_headers
from tests.conftest import Bootstrap, Integrator
from tests.test_attempts_keyed_one_round_trip import OUTCOMES, classroom, keyed
from tests.test_attempts_one_round_trip import judged

VOLATILE_HEADERS = {"x-request-id"}
VOLATILE_MEMBERS = {"id", "attemptNumber", "createdAt", "number", "instance", "requestId"}


def fast_path(client: AsyncTestClient[Litestar]) -> FastRecording:
    fast = client.app.asgi_handler.fast
    assert isinstance(fast, FastRecording), "recordAttempt is no longer served the fast way: see FastRecording.for_app"
    return fast


@contextmanager
def litestar_only(client: AsyncTestClient[Litestar]) -> Iterator[None]:
    edge = client.app.asgi_handler
    fast, edge.fast = edge.fast, None
    try:
        yield
    finally:
        edge.fast = fast


def answer(response: httpx.Response) -> tuple[int, dict[str, str], Any]:
    headers = {name: value for name, value in response.headers.items() if name not in VOLATILE_HEADERS}
    if "location" in headers:
        headers["location"] = headers["location"].rsplit("/", 1)[0]  # the attempt's id set aside
    try:
        body: Any = _without_volatile(response.json())
    except ValueError:
        body = response.text
    return response.status_code, headers, body


def _without_volatile(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_volatile(v) for k, v in value.items() if k not in VOLATILE_MEMBERS}
    if isinstance(value, list):
        return [_without_volatile(item) for item in value]
    return value


async def both_ways(
    client: AsyncTestClient[Litestar], path: str, *, served_fast: bool, **request: Any
) -> tuple[httpx.Response, httpx.Response]:
    """The request sent the fast way, then Litestar's; asserts they answer alike, and which way the first went."""
    fast = fast_path(client)
    served, handed_on = fast.served, fast.handed_on
    first = await client.post(path, **request)
    assert (fast.served - served, fast.handed_on - handed_on) == ((1, 0) if served_fast else (0, 1)), first.text
    with litestar_only(client):
        second = await client.post(path, **request)
    assert answer(first) == answer(second), (first.text, second.text)
    return first, second


@pytest.fixture
async def recording(client: AsyncTestClient[Litestar], bootstrap: Bootstrap) -> tuple[Integrator, str, str, str]:
    provider, learner_id, enrolment_id = await classroom(client, bootstrap, OUTCOMES)
    return provider, learner_id, enrolment_id, f"/organisations/{provider.org_id}/attempts"


async def test_recordings_and_their_retries_answer_alike_both_ways(
    client: AsyncTestClient[Litestar], recording: tuple[Integrator, str, str, str]
) -> None:
    provider, learner_id, enrolment_id, path = recording
    for n in range(3):  # the first teaches the process the unit (the usual way), the rest go the short way
        body = judged(learner_id, enrolment_id, lo2=n % 2 == 0)
        first, second = await both_ways(client, path, served_fast=True, json=body, headers=provider.headers)
        assert first.status_code == 201, first.text
        assert first.json()["id"] != second.json()["id"]  # two recordings
        assert first.headers["location"] == f"{path}/{first.json()['id']}"
        assert first.headers["content-type"] == "application/json"
        # Keyed: Litestar's way answers the recording the fast way made, so the key's scope is the same both ways.
        first, second = await both_ways(client, path, served_fast=True, json=body, headers=keyed(provider, f"k{n}"))
        assert first.status_code == second.status_code == 201, first.text
        assert first.json() == second.json()
    unkeyed, _ = await both_ways(
        client, path, served_fast=True, json=judged(learner_id, enrolment_id), headers=provider.headers
    )
    assert unkeyed.status_code == 201

    # A retry answers the original, whichever way either went: a key used the fast way, retried Litestar's, and back.
    body = judged(learner_id, enrolment_id)
    original = await client.post(path, json=body, headers=keyed(provider, "retried"))
    for _ in range(2):
        replayed, again = await both_ways(client, path, served_fast=True, json=body, headers=keyed(provider, "retried"))
        assert replayed.json() == again.json() == original.json()
    reused, _ = await both_ways(
        client,
        path,
        served_fast=True,
        json=judged(learner_id, enrolment_id, lo2=False),
        headers=keyed(provider, "retried"),
    )
    assert reused.status_code == 422, reused.text


async def test_refusals_answer_alike_both_ways(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, recording: tuple[Integrator, str, str, str]
) -> None:
    provider, learner_id, enrolment_id, path = recording
    body = judged(learner_id, enrolment_id)
    reader = await bootstrap.token(provider.client_id, provider.client_secret, scope="programmes:write")
    stranger = await bootstrap.integrator(["assessments:write"], name="Another provider", kind="vet_provider")
    as_json = {**provider.headers, "Content-Type": "application/json"}
    # (status, answered the fast way, request): a body the edge's checks leave to Litestar (not JSON, or invalid even
    # converted laxly) is handed on, for Litestar to say why
    refused: list[tuple[int, bool, dict[str, Any]]] = [
        (401, True, {"json": body}),
        (401, True, {"json": body, "headers": {"Authorization": "Bearer not-a-token"}}),
        (403, True, {"json": body, "headers": {"Authorization": f"Bearer {reader}"}}),
        (403, True, {"json": body, "headers": stranger.headers}),
        (422, True, {"json": body, "headers": keyed(provider, "a key with spaces")}),
        (415, True, {"content": b'{"a": 1}', "headers": {**provider.headers, "Content-Type": "text/plain"}}),
        (400, True, {"content": b"", "headers": as_json}),
        (400, False, {"content": b'{"learnerId": ', "headers": as_json}),
        (400, True, {"content": b"[" * 100 + b"]" * 100, "headers": as_json}),
        (400, True, {"json": {"unitKey": "u1"}, "headers": provider.headers}),
        (400, False, {"json": {**body, "supervision": 3}, "headers": provider.headers}),
        (400, False, {"json": {**body, "unitKey": 3}, "headers": provider.headers}),
        (400, True, {"json": {**body, "assessedAt": 1700000000}, "headers": provider.headers}),  # coerced
        (400, True, {"content": b'{"learnerId": "x", "learnerId": "y"}', "headers": as_json}),
        (
            404,
            True,
            {"json": {**body, "enrolmentId": "00000000-0000-4000-8000-000000000000"}, "headers": provider.headers},
        ),
        (422, True, {"json": {**body, "unitKey": "no-such-unit"}, "headers": provider.headers}),
    ]
    answered = []
    for _, fast, request in refused:
        first, _ = await both_ways(client, path, served_fast=fast, **request)
        assert first.headers["content-type"].startswith("application/problem+json"), first.text
        answered.append(first.status_code)
    assert answered == [status for status, _, _ in refused]


async def test_requests_out_of_the_ordinary_go_litestars_way(
    client: AsyncTestClient[Litestar], recording: tuple[Integrator, str, str, str]
) -> None:
    provider, learner_id, enrolment_id, path = recording
    body = judged(learner_id, enrolment_id)
    upper = path.replace(str(provider.org_id), str(provider.org_id).upper())
    for url, headers in [
        (f"{path}?note=1", provider.headers),  # a query string
        (f"{path}/", provider.headers),  # another spelling of the path: the fast way does not even look
        (upper, provider.headers),
    ]:
        fast = fast_path(client)
        before = fast.served, fast.handed_on
        response = await client.post(url, json=body, headers=headers)
        assert response.status_code == 201, response.text
        assert (fast.served, fast.handed_on) == before  # not taken at all
    for request in [
        {"json": body, "headers": {**provider.headers, "Host": "bad host"}},  # a host Litestar's router refuses
        {"content": b"x" * (MAX_BODY + 1), "headers": {**provider.headers, "Content-Type": "application/json"}},
    ]:
        first, _ = await both_ways(client, path, served_fast=False, **request)
        assert first.status_code == 400, first.text


def test_only_a_body_of_known_length_under_the_bound_is_taken() -> None:
    """A body of unknown length (chunked) or over MAX_BODY, and any header sent twice, go Litestar's way. (The
    test client's transport cannot stream a body or repeat a header: these are shown on the headers themselves.)"""
    authorization = (b"authorization", b"Bearer x")
    assert _plain_headers([authorization, (b"content-length", b"12")]) == {
        b"authorization": "Bearer x",
        b"content-length": "12",
    }
    for refused in [
        [authorization],  # no length
        [authorization, (b"transfer-encoding", b"chunked")],
        [authorization, (b"content-length", str(MAX_BODY + 1).encode())],
        [authorization, (b"content-length", b"+12")],
        [authorization, authorization, (b"content-length", b"12")],
        [(b"host", b"bad host"), (b"content-length", b"12")],
    ]:
        assert _plain_headers(refused) is None, refused
