"""The inbox over HTTP: oldest first, paging without repeats or skips, tamper-checked cursors."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.e2e.conftest import ApiClient, NewClient

EVENT = {"source": "billing", "event_type": "invoice.paid", "payload": {"n": 1}}


def post(client: ApiClient, n: int, **changes: Any) -> str:
    resp = client.post("/v1/events", json={**EVENT, "payload": {"n": n}, **changes})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["event_id"])


def walk(client: ApiClient, **params: Any) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(300):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        resp = client.get("/v1/inbox", params=query)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert set(body) == {"events", "next_cursor"}
        seen.extend(e["event_id"] for e in body["events"])
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("paging did not end")


def test_empty_inbox(api: ApiClient) -> None:
    assert api.get("/v1/inbox").json() == {"events": [], "next_cursor": None}


def test_pending_events_oldest_first_in_pages(api: ApiClient) -> None:
    ids = [post(api, n) for n in range(12)]
    first = api.get("/v1/inbox", params={"limit": 5}).json()
    assert [e["event_id"] for e in first["events"]] == ids[:5]
    assert all(e["status"] == "pending" for e in first["events"])
    assert first["next_cursor"]
    assert walk(api, limit=5) == ids


def test_default_limit_is_50(api: ApiClient) -> None:
    ids = [post(api, n) for n in range(55)]
    body = api.get("/v1/inbox").json()
    assert [e["event_id"] for e in body["events"]] == ids[:50]
    assert body["next_cursor"]


def test_filters_by_source_and_type(api: ApiClient) -> None:
    a = post(api, 1, source="a", event_type="x")
    post(api, 2, source="b", event_type="x")
    c = post(api, 3, source="a", event_type="y")
    assert walk(api, source="a") == [a, c]
    assert walk(api, source="a", event_type="y") == [c]
    assert walk(api, event_type="x", limit=1)[0] == a


def test_acked_events_leave_the_inbox(api: ApiClient) -> None:
    ids = [post(api, n) for n in range(4)]
    api.post(f"/v1/events/{ids[1]}/ack")
    api.delete(f"/v1/events/{ids[2]}")
    assert walk(api) == [ids[0], ids[3]]


def test_paging_while_another_client_posts(new_client: NewClient) -> None:
    reader = new_client()
    writer = new_client(tenant=reader.tenant_id)
    initial = [post(writer, n) for n in range(20)]
    posted: list[str] = []
    stop = threading.Event()

    def keep_posting() -> None:
        n = 0
        while not stop.is_set() and n < 200:
            posted.append(post(writer, 1000 + n))
            n += 1

    thread = threading.Thread(target=keep_posting)
    thread.start()
    try:
        seen = walk(reader, limit=3)
    finally:
        stop.set()
        thread.join()
    assert len(seen) == len(set(seen)), "an event was served twice"
    assert seen[: len(initial)] == initial, "an older event was skipped"
    new_seen = seen[len(initial) :]
    # One writer creates and commits in order, so what the reader saw of its events is a prefix.
    assert new_seen == posted[: len(new_seen)], "an event was skipped"


def _flip(text: str, i: int) -> str:
    return text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1 :]


def test_tampered_cursor_is_400(api: ApiClient) -> None:
    for n in range(3):
        post(api, n)
    cursor = api.get("/v1/inbox", params={"limit": 1}).json()["next_cursor"]
    for bad in [
        _flip(cursor, 0),
        _flip(cursor, len(cursor) // 2),
        _flip(cursor, len(cursor) - 2),
        cursor + "x",
        cursor.split(".")[0],
        "x" * 40,
    ]:
        resp = api.get("/v1/inbox", params={"limit": 1, "cursor": bad})
        assert resp.status_code == 400, bad
        body = resp.json()
        assert body["error"]["code"] == "validation_error"
        assert body["error"]["details"][0]["field"] == "cursor"


@pytest.mark.parametrize(
    "other", [{"source": "billing"}, {"event_type": "invoice.paid"}, {"source": "x"}]
)
def test_cursor_reused_with_other_filters_is_400(api: ApiClient, other: dict[str, str]) -> None:
    for n in range(3):
        post(api, n)
    cursor = api.get("/v1/inbox", params={"limit": 1}).json()["next_cursor"]
    resp = api.get("/v1/inbox", params={"limit": 1, "cursor": cursor, **other})
    assert resp.status_code == 400
    assert resp.json()["error"]["details"][0]["field"] == "cursor"


def test_cursor_with_another_limit_is_fine(api: ApiClient) -> None:
    ids = [post(api, n) for n in range(5)]
    cursor = api.get("/v1/inbox", params={"limit": 2}).json()["next_cursor"]
    rest = api.get("/v1/inbox", params={"limit": 10, "cursor": cursor}).json()
    assert [e["event_id"] for e in rest["events"]] == ids[2:]
    assert rest["next_cursor"] is None


def test_repeated_parameter_is_400(api: ApiClient) -> None:
    resp = api.get("/v1/inbox?source=a&source=b")
    assert resp.status_code == 400
    assert resp.json()["error"]["details"][0]["field"] == "source"
