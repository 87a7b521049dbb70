"""The dev server handles requests on threads: each request must see its own body and key."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.e2e.conftest import NewClient


def test_concurrent_creates_each_store_their_own_body(new_client: NewClient) -> None:
    clients = [new_client() for _ in range(4)]

    def create(n: int) -> tuple[int, int, dict[str, object]]:
        client = clients[n % len(clients)]
        resp = client.post(
            "/v1/events",
            json={"source": "load", "event_type": "t", "payload": {"n": n}},
            headers={"Idempotency-Key": f"k-{n}"},
        )
        return n, resp.status_code, resp.json()

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(create, range(160)))

    assert [status for _, status, _ in results] == [201] * 160
    assert all(body["payload"] == {"n": n} for n, _, body in results)
    for n, client in enumerate(clients):
        own = {b["event_id"] for i, _, b in results if i % len(clients) == n}
        for event_id in own:
            assert client.get(f"/v1/events/{event_id}").status_code == 200
