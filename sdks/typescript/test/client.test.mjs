// The client against a scripted fetch and a fake clock: retries, Retry-After, idempotency keys,
// errors, timeouts, paging, bulk batching, the poll-handle-ack helper.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ApiError,
  AuthenticationError,
  ConflictError,
  NetworkError,
  NotFoundError,
  RateLimitError,
  ServerError,
  TimeoutError,
  TriggersClient,
  VERSION,
  parseRetryAfter,
} from "@triggers-api/sdk";
import { EVENT, client, connectionError, errorResponse, fakeClock, jsonResponse } from "./helpers.mjs";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("requests", () => {
  it("sends X-API-Key, JSON, the User-Agent with the version, and parses the answer", async () => {
    const { client: c, calls } = client([jsonResponse(201, EVENT, { "x-ratelimit-limit": "1000", "x-ratelimit-remaining": "998", "x-ratelimit-reset": "1764460801" })]);
    const event = await c.events.create({ source: "billing", event_type: "invoice.paid", payload: { amount: 4200 } });
    assert.deepEqual({ ...event }, EVENT);
    assert.equal(calls[0].url, "http://api.test/v1/events");
    assert.equal(calls[0].method, "POST");
    assert.equal(calls[0].headers["x-api-key"], "tk_test_secret");
    assert.equal(calls[0].headers["content-type"], "application/json");
    assert.match(calls[0].headers["user-agent"], new RegExp(`^triggers-typescript/${VERSION} \\(node v\\d+`));
    assert.equal(VERSION, "0.1.0");
    assert.deepEqual(JSON.parse(calls[0].body), { source: "billing", event_type: "invoice.paid", payload: { amount: 4200 } });
    assert.equal(event.lastResponse.status, 201);
    assert.equal(event.lastResponse.requestId, "req_header");
    assert.deepEqual(event.lastResponse.rateLimit, { limit: 1000, remaining: 998, reset: 1764460801, retryAfter: null });
    assert.equal(JSON.stringify(event), JSON.stringify(EVENT), "lastResponse is not serialised");
  });

  it("percent-encodes path segments and sends no body on GET", async () => {
    const { client: c, calls } = client([jsonResponse(200, EVENT)]);
    await c.events.get("evt_a/b c");
    assert.equal(calls[0].url, "http://api.test/v1/events/evt_a%2Fb%20c");
    assert.equal(calls[0].body, undefined);
    assert.equal(calls[0].headers["content-type"], undefined);
  });

  it("health needs no key; appInfo extends the user agent", async () => {
    const { client: c, calls } = client([jsonResponse(200, { status: "ok", version: "0.1.0", checks: { dynamodb: "ok" } })], { apiKey: undefined, appInfo: "my-app/1.0" });
    const h = await c.health();
    assert.equal(h.status, "ok");
    assert.equal(calls[0].headers["x-api-key"], undefined);
    assert.match(calls[0].headers["user-agent"], / my-app\/1\.0$/);
  });

  it("refuses a base URL that is not http(s)", () => {
    assert.throws(() => new TriggersClient({ baseUrl: "api.test" }), TypeError);
  });
});

describe("errors", () => {
  it("carry code, message, details, request_id, status and the rate-limit state", async () => {
    const { client: c } = client([
      errorResponse(400, "validation_error", {}, { details: [{ field: "source", message: "is required" }], requestId: "req_from_body" }),
    ]);
    const err = await c.events.create({ event_type: "x", payload: {} }).catch((e) => e);
    assert.ok(err instanceof ApiError);
    assert.equal(err.name, "InvalidRequestError");
    assert.equal(err.code, "validation_error");
    assert.equal(err.status, 400);
    assert.equal(err.message, "validation_error happened");
    assert.deepEqual(err.details, [{ field: "source", message: "is required" }]);
    assert.equal(err.requestId, "req_from_body");
    assert.equal(err.attempts, 1);
  });

  it("map statuses to subclasses; request id falls back to the header", async () => {
    const cases = [
      [401, "signature_invalid", AuthenticationError],
      [404, "not_found", NotFoundError],
      [409, "already_acknowledged", ConflictError],
    ];
    for (const [status, code, Class] of cases) {
      const { client: c } = client([jsonResponse(status, { error: { code, message: "m", details: [] } })]);
      const err = await c.events.get("evt_x").catch((e) => e);
      assert.ok(err instanceof Class, `${status} -> ${Class.name}`);
      assert.equal(err.code, code);
      assert.equal(err.requestId, "req_header");
    }
  });

  it("a gateway's HTML 502 is a ServerError decided on the status", async () => {
    const html = () => new Response("<html>bad gateway</html>", { status: 502, headers: { "content-type": "text/html" } });
    const { client: c } = client([html()], { maxRetries: 0 });
    const err = await c.events.get("evt_x").catch((e) => e);
    assert.ok(err instanceof ServerError);
    assert.equal(err.code, "http_502");
    assert.equal(err.requestId, null);
  });

  it("a 429 carries the rate-limit state and Retry-After", async () => {
    const headers = { "retry-after": "7", "x-ratelimit-limit": "2", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "1764460860" };
    const { client: c } = client([errorResponse(429, "rate_limited", headers)], { maxRetries: 0 });
    const err = await c.events.get("evt_x").catch((e) => e);
    assert.ok(err instanceof RateLimitError);
    assert.deepEqual(err.rateLimit, { limit: 2, remaining: 0, reset: 1764460860, retryAfter: 7 });
    assert.equal(err.retryAfter, 7);
  });

  it("Retry-After as seconds or as an HTTP date", () => {
    assert.equal(parseRetryAfter("3", 0), 3);
    assert.equal(parseRetryAfter("Thu, 01 Jan 1970 00:00:10 GMT", 4000), 6);
    assert.equal(parseRetryAfter(null, 0), null);
    assert.equal(parseRetryAfter("soon", 0), null);
  });
});

describe("retries", () => {
  it("full jitter: attempt n waits random * min(cap, base * 2^n)", async () => {
    const clock = fakeClock(0, () => 0.5);
    const { client: c, calls } = client(
      [errorResponse(503, "service_unavailable"), connectionError("ECONNRESET"), errorResponse(502, "x"), jsonResponse(200, EVENT)],
      { clock, baseDelayMs: 100, maxDelayMs: 300 },
    );
    const event = await c.events.get("evt_x");
    assert.equal(calls.length, 4);
    assert.deepEqual(clock.sleeps, [50, 100, 150]); // 0.5 * min(300, 100, 200, 400)
    assert.equal(event.lastResponse.attempts, 4);
  });

  it("the random source spans [0, bound): 0 waits nothing, 0.999 nearly the bound", async () => {
    for (const [r, want] of [[0, [0, 0]], [0.999, [499.5, 999]]]) {
      const clock = fakeClock(0, () => r);
      const { client: c } = client([errorResponse(503, "s"), errorResponse(503, "s"), jsonResponse(200, EVENT)], { clock });
      await c.events.get("evt_x");
      assert.deepEqual(clock.sleeps, want);
    }
  });

  it("gives up after maxRetries with the last error", async () => {
    const clock = fakeClock();
    const { client: c, calls } = client([errorResponse(503, "s"), errorResponse(503, "s"), errorResponse(503, "s")], { clock, maxRetries: 2 });
    const err = await c.events.get("evt_x").catch((e) => e);
    assert.ok(err instanceof ServerError);
    assert.equal(calls.length, 3);
    assert.equal(err.attempts, 3);
  });

  it("Retry-After is the minimum wait", async () => {
    const clock = fakeClock(0, () => 0.5);
    const { client: c } = client([errorResponse(429, "rate_limited", { "retry-after": "2" }), jsonResponse(200, EVENT)], { clock });
    await c.events.get("evt_x");
    assert.deepEqual(clock.sleeps, [2000]);
  });

  it("the backoff wins when it is longer than Retry-After", async () => {
    const clock = fakeClock(0, () => 0.9);
    const { client: c } = client(
      [errorResponse(503, "s", { "retry-after": "1" }), errorResponse(503, "s", { "retry-after": "1" }), errorResponse(503, "s", { "retry-after": "1" }), jsonResponse(200, EVENT)],
      { clock },
    );
    await c.events.get("evt_x");
    assert.deepEqual(clock.sleeps, [1000, 1000, 1800]); // 0.9 * 2000 > 1000
  });

  it("a Retry-After beyond the total deadline fails at once, without waiting", async () => {
    const clock = fakeClock();
    const { client: c, calls } = client([errorResponse(429, "rate_limited", { "retry-after": "30" })], { clock, totalTimeoutMs: 10_000 });
    const err = await c.events.get("evt_x").catch((e) => e);
    assert.ok(err instanceof RateLimitError);
    assert.equal(calls.length, 1);
    assert.deepEqual(clock.sleeps, []);
  });

  it("the total deadline bounds the attempts", async () => {
    const clock = fakeClock(0, () => 0.99);
    const script = Array.from({ length: 10 }, () => errorResponse(503, "s"));
    const { client: c, calls } = client(script, { clock, maxRetries: 9, totalTimeoutMs: 2_000 });
    await assert.rejects(c.events.get("evt_x"), ServerError);
    assert.ok(clock.t <= 2_000, `waited ${clock.t} ms`);
    assert.equal(calls.length, 3); // waits 495 + 990 = 1485; the next (1980) would overrun
  });

  it("deadlines use the monotonic clock, not the wall clock", async () => {
    const clock = fakeClock(0);
    let wall = 1_764_460_800_000;
    clock.now = () => (wall += 3_600_000); // the wall clock steps an hour at every read
    clock.monotonic = () => clock.t;
    const { client: c, calls } = client([errorResponse(503, "s"), jsonResponse(200, EVENT)], { clock, totalTimeoutMs: 2_000 });
    const event = await c.events.get("evt_x");
    assert.equal(event.event_id, EVENT.event_id);
    assert.equal(calls.length, 2);
    assert.deepEqual(clock.sleeps, [250]);
  });

  it("signing timestamps use the wall clock", async () => {
    const clock = fakeClock(0);
    clock.now = () => 1_764_460_800_000;
    clock.monotonic = () => clock.t;
    const { client: c, calls } = client([jsonResponse(200, EVENT)], { clock, signingSecret: "tsig_test" });
    await c.events.get("evt_x");
    assert.equal(calls[0].headers["x-triggers-timestamp"], "1764460800");
  });

  it("does not retry 4xx other than 429", async () => {
    const { client: c, calls } = client([errorResponse(400, "validation_error")]);
    await assert.rejects(c.events.get("evt_x"), ApiError);
    assert.equal(calls.length, 1);
  });

  it("create reuses one generated Idempotency-Key across every retry", async () => {
    const { client: c, calls } = client([connectionError("ECONNRESET"), errorResponse(503, "s"), jsonResponse(201, EVENT)]);
    await c.events.create({ source: "s", event_type: "t", payload: {} });
    assert.equal(calls.length, 3);
    const keys = calls.map((call) => call.headers["idempotency-key"]);
    assert.match(keys[0], UUID);
    assert.deepEqual(new Set(keys).size, 1);
    assert.deepEqual(new Set(calls.map((call) => call.body)).size, 1, "the same body bytes each time");
  });

  it("each create call gets a new key; a given key (option or field) is used as is", async () => {
    const { client: c, calls } = client([jsonResponse(201, EVENT), jsonResponse(201, EVENT), jsonResponse(201, EVENT), jsonResponse(200, EVENT, { "idempotent-replayed": "true" })]);
    await c.events.create({ source: "s", event_type: "t", payload: {} });
    await c.events.create({ source: "s", event_type: "t", payload: {} });
    await c.events.create({ source: "s", event_type: "t", payload: {} }, { idempotencyKey: "order-1" });
    const replay = await c.events.create({ source: "s", event_type: "t", payload: {}, idempotency_key: "order-2" });
    assert.notEqual(calls[0].headers["idempotency-key"], calls[1].headers["idempotency-key"]);
    assert.equal(calls[2].headers["idempotency-key"], "order-1");
    assert.equal(calls[3].headers["idempotency-key"], "order-2");
    assert.equal(replay.lastResponse.idempotentReplayed, true);
  });

  it("non-idempotent calls are not retried after the request may have landed", async () => {
    for (const failure of [() => errorResponse(503, "s"), () => errorResponse(500, "internal_error"), () => connectionError("ECONNRESET")]) {
      const { client: c, calls } = client([failure(), jsonResponse(201, {})]);
      await assert.rejects(c.webhooks.create({ url: "http://127.0.0.1:9/h" }));
      assert.equal(calls.length, 1);
    }
    const others = [
      (c) => c.apiKeys.create({ name: "k" }),
      (c) => c.apiKeys.rotate("key_x"),
      (c) => c.apiKeys.update("key_x", { name: "n" }),
      (c) => c.webhooks.update("wh_x", { description: "d" }),
      (c) => c.webhooks.rotateSecret("wh_x"),
      (c) => c.webhooks.test("wh_x"),
      (c) => c.webhooks.replay("wh_x", { since: "2026-11-30T00:00:00Z" }),
    ];
    for (const call of others) {
      const { client: c2, calls: calls2 } = client([errorResponse(503, "s"), jsonResponse(200, {})]);
      await assert.rejects(call(c2), ServerError);
      assert.equal(calls2.length, 1);
    }
  });

  it("non-idempotent calls are retried on 429 and on a connection refused (never sent)", async () => {
    const clock = fakeClock(0, () => 0);
    const { client: c, calls } = client(
      [errorResponse(429, "rate_limited", { "retry-after": "1" }), connectionError("ECONNREFUSED"), jsonResponse(201, { webhook_id: "wh_1" })],
      { clock },
    );
    const wh = await c.webhooks.create({ url: "http://127.0.0.1:9/h" });
    assert.equal(wh.webhook_id, "wh_1");
    assert.equal(calls.length, 3);
    assert.deepEqual(clock.sleeps, [1000, 0]);
  });

  it("signs every attempt afresh (a new timestamp after a wait)", async () => {
    const clock = fakeClock(1_764_460_800_000, () => 0);
    const { client: c, calls } = client([errorResponse(429, "rate_limited", { "retry-after": "5" }), jsonResponse(200, EVENT)], {
      clock,
      signingSecret: "tsig_test",
    });
    await c.events.get("evt_x");
    assert.equal(calls[0].headers["x-triggers-timestamp"], "1764460800");
    assert.equal(calls[1].headers["x-triggers-timestamp"], "1764460805");
    assert.notEqual(calls[0].headers["x-triggers-signature"], calls[1].headers["x-triggers-signature"]);
  });

  it("a network failure is a NetworkError; notSent tells a refused connection apart", async () => {
    const { client: c } = client([connectionError("ECONNREFUSED")], { maxRetries: 0 });
    const err = await c.events.get("evt_x").catch((e) => e);
    assert.ok(err instanceof NetworkError);
    assert.equal(err.notSent, true);
    assert.match(err.message, /ECONNREFUSED/);
  });

  it("an attempt that outlives timeoutMs is a TimeoutError, retried for idempotent calls", async () => {
    const hang = (url, init) =>
      new Promise((_, reject) => init.signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))));
    const { client: c, calls } = client([hang, jsonResponse(200, EVENT)], { timeoutMs: 20, clock: { ...fakeClock(), now: Date.now } });
    const event = await c.events.get("evt_x");
    assert.equal(event.lastResponse.attempts, 2);
    assert.equal(calls.length, 2);
    const { client: c2 } = client([hang], { timeoutMs: 20, maxRetries: 0 });
    const err = await c2.events.get("evt_x").catch((e) => e);
    assert.ok(err instanceof TimeoutError);
  });

  it("the caller's AbortSignal stops the call, and is not retried", async () => {
    const hang = (url, init) =>
      new Promise((_, reject) => init.signal.addEventListener("abort", () => reject(init.signal.reason)));
    const { client: c, calls } = client([hang, jsonResponse(200, EVENT)]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("stop")), 10);
    await assert.rejects(c.events.get("evt_x", { signal: controller.signal }), /stop/);
    assert.equal(calls.length, 1);
  });
});

describe("acks and deletes converge", () => {
  it("a retried ack answered already_acknowledged returns the event (the first attempt landed)", async () => {
    const acked = { ...EVENT, status: "acknowledged", acknowledged_at: "2026-11-30T00:00:01.000Z" };
    const { client: c, calls } = client([connectionError("ECONNRESET"), errorResponse(409, "already_acknowledged"), jsonResponse(200, acked)]);
    const event = await c.events.ack(EVENT.event_id);
    assert.equal(event.status, "acknowledged");
    assert.deepEqual(calls.map((x) => x.method), ["POST", "POST", "GET"]);
  });

  it("the read after a converged ack shares the ack's total deadline", async () => {
    const clock = fakeClock(0, () => 0.99);
    const acked = { ...EVENT, status: "acknowledged", acknowledged_at: "2026-11-30T00:00:01.000Z" };
    const slowReset = () => {
      clock.t += 1_500; // the lost answer took 1.5 s
      throw connectionError("ECONNRESET");
    };
    const slowConflict = () => {
      clock.t += 100; // 1,500 + 495 (backoff) + 100: past the 2 s deadline
      return errorResponse(409, "already_acknowledged");
    };
    const { client: c, calls } = client([slowReset, slowConflict, jsonResponse(200, acked)], { clock, totalTimeoutMs: 2_000 });
    const err = await c.events.ack(EVENT.event_id).catch((e) => e);
    assert.ok(err instanceof TimeoutError, String(err));
    assert.deepEqual(calls.map((x) => x.method), ["POST", "POST"]); // no GET with a fresh 2 s
  });

  it("a first-attempt already_acknowledged is a ConflictError", async () => {
    const { client: c } = client([errorResponse(409, "already_acknowledged")]);
    const err = await c.events.ack(EVENT.event_id).catch((e) => e);
    assert.ok(err instanceof ConflictError);
    assert.equal(err.code, "already_acknowledged");
    assert.equal(err.earlierAttemptMayHaveLanded, false);
  });

  it("a retried delete answered 404 succeeds; a first-attempt 404 throws", async () => {
    const { client: c } = client([errorResponse(504, "x"), errorResponse(404, "not_found")]);
    const meta = await c.events.delete(EVENT.event_id);
    assert.equal(meta.status, 404);
    const { client: c2 } = client([errorResponse(404, "not_found")]);
    await assert.rejects(c2.events.delete(EVENT.event_id), NotFoundError);
    const { client: c3 } = client([errorResponse(429, "rate_limited", { "retry-after": "1" }), errorResponse(404, "not_found")]);
    await assert.rejects(c3.events.delete(EVENT.event_id), NotFoundError, "a 429 wrote nothing: the 404 is real");
  });

  it("webhooks.delete converges the same way: a retried delete answered 404 succeeds", async () => {
    const { client: c, calls } = client([connectionError("ECONNRESET"), errorResponse(404, "not_found")]);
    const meta = await c.webhooks.delete("wh_1");
    assert.equal(meta.status, 404);
    assert.deepEqual(calls.map((x) => x.method), ["DELETE", "DELETE"]);
    const { client: c2 } = client([errorResponse(404, "not_found")]);
    await assert.rejects(c2.webhooks.delete("wh_1"), NotFoundError);
  });
});

describe("paging", () => {
  it("iterates every page until next_cursor is null, with the filters on every page", async () => {
    const e = (n) => ({ ...EVENT, event_id: `evt_${n}` });
    const { client: c, calls } = client([
      jsonResponse(200, { events: [e(1), e(2)], next_cursor: "c1" }),
      jsonResponse(200, { events: [], next_cursor: "c2" }),
      jsonResponse(200, { events: [e(3)], next_cursor: null }),
    ]);
    const ids = [];
    for await (const event of c.inbox.iterate({
      source: "billing",
      event_type: "invoice.paid",
      priority: "high",
      created_after: new Date("2026-11-30T00:00:00Z"),
      created_before: "2026-12-01T00:00:00Z",
      metadata: { team: "pay ments", "a.b": "x" },
      limit: 2,
    })) {
      ids.push(event.event_id);
    }
    assert.deepEqual(ids, ["evt_1", "evt_2", "evt_3"]);
    assert.equal(calls.length, 3);
    const q = (i) => new URL(calls[i].url).searchParams;
    assert.equal(q(0).get("cursor"), null);
    assert.equal(q(1).get("cursor"), "c1");
    assert.equal(q(2).get("cursor"), "c2");
    for (let i = 0; i < 3; i++) {
      assert.equal(q(i).get("source"), "billing");
      assert.equal(q(i).get("event_type"), "invoice.paid");
      assert.equal(q(i).get("priority"), "high");
      assert.equal(q(i).get("created_after"), "2026-11-30T00:00:00.000Z");
      assert.equal(q(i).get("created_before"), "2026-12-01T00:00:00Z");
      assert.equal(q(i).get("metadata.team"), "pay ments");
      assert.equal(q(i).get("metadata.a.b"), "x");
      assert.equal(q(i).get("limit"), "2");
    }
    assert.match(calls[0].url, /metadata.team=pay%20ments/);
  });

  it("api keys, webhooks and deliveries page the same way", async () => {
    const { client: c, calls } = client([
      jsonResponse(200, { api_keys: [{ key_id: "key_1" }], next_cursor: "k" }),
      jsonResponse(200, { api_keys: [{ key_id: "key_2" }], next_cursor: null }),
      jsonResponse(200, { webhooks: [{ webhook_id: "wh_1" }], next_cursor: null }),
      jsonResponse(200, { deliveries: [{ delivery_id: "d1" }], next_cursor: "d" }),
      jsonResponse(200, { deliveries: [{ delivery_id: "d2" }], next_cursor: null }),
    ]);
    const keys = [];
    for await (const k of c.apiKeys.iterate({ limit: 1 })) keys.push(k.key_id);
    const hooks = [];
    for await (const w of c.webhooks.iterate()) hooks.push(w.webhook_id);
    const deliveries = [];
    for await (const d of c.webhooks.iterateDeliveries("wh_1", { status: "succeeded" })) deliveries.push(d.delivery_id);
    assert.deepEqual([keys, hooks, deliveries], [["key_1", "key_2"], ["wh_1"], ["d1", "d2"]]);
    assert.equal(calls[1].url, "http://api.test/v1/api-keys?cursor=k&limit=1");
    assert.equal(calls[4].url, "http://api.test/v1/webhooks/wh_1/deliveries?cursor=d&status=succeeded");
  });
});

describe("bulk helpers", () => {
  const okCreate = (batch, failAt = new Set()) => (url, init) => {
    const { items } = JSON.parse(init.body);
    const successful = [];
    const failed = [];
    items.forEach((item, index) => {
      if (failAt.has(item.payload.n)) failed.push({ index, error: { code: "validation_error", message: "bad", details: [] } });
      else successful.push({ index, event: { ...EVENT, event_id: `evt_${item.payload.n}` }, replayed: false });
    });
    return jsonResponse(200, { successful, failed, request_id: `req_${batch}` });
  };

  it("bulkCreate splits 60 items into 25/25/10 and merges results at the caller's indexes", async () => {
    const items = Array.from({ length: 60 }, (_, n) => ({ source: "s", event_type: "t", payload: { n } }));
    items[7].idempotency_key = "mine-7";
    const { client: c, calls } = client([okCreate(1), okCreate(2, new Set([33])), okCreate(3)]);
    const result = await c.events.bulkCreate(items);
    assert.deepEqual(calls.map((x) => JSON.parse(x.body).items.length), [25, 25, 10]);
    assert.equal(result.successful.length, 59);
    assert.deepEqual(result.failed.map((f) => f.index), [33]);
    assert.ok(result.successful.every((s) => s.event.event_id === `evt_${s.index}`));
    assert.deepEqual(result.requestIds, ["req_1", "req_2", "req_3"]);
    const sent = calls.flatMap((x) => JSON.parse(x.body).items);
    assert.equal(sent[7].idempotency_key, "mine-7");
    assert.ok(sent.every((i) => typeof i.idempotency_key === "string" && i.idempotency_key.length > 0));
    assert.equal(new Set(sent.map((i) => i.idempotency_key)).size, 60);
    assert.equal(items[0].idempotency_key, undefined, "the caller's objects are not modified");
    assert.equal(calls[0].headers["idempotency-key"], undefined, "bulk create refuses the header");
  });

  it("a retried bulk batch resends the same keys", async () => {
    const items = Array.from({ length: 3 }, (_, n) => ({ source: "s", event_type: "t", payload: { n } }));
    const { client: c, calls } = client([errorResponse(503, "s"), okCreate(1)]);
    await c.events.bulkCreate(items);
    assert.equal(calls[0].body, calls[1].body);
  });

  it("a batch failing as a whole fails each of its items at their indexes", async () => {
    const items = Array.from({ length: 30 }, (_, n) => ({ source: "s", event_type: "t", payload: { n } }));
    const { client: c } = client([okCreate(1), errorResponse(400, "validation_error")]);
    const result = await c.events.bulkCreate(items);
    assert.equal(result.successful.length, 25);
    assert.deepEqual(result.failed.map((f) => f.index), [25, 26, 27, 28, 29]);
    assert.equal(result.failed[0].error.code, "validation_error");
  });

  it("bulkAck and bulkDelete batch ids and merge", async () => {
    const ids = Array.from({ length: 26 }, (_, n) => `evt_${n}`);
    const answer = (key) => (url, init) => {
      const { event_ids } = JSON.parse(init.body);
      return jsonResponse(200, {
        successful: event_ids.slice(1).map((id, i) => ({ index: i + 1, ...(key === "event" ? { event: { ...EVENT, event_id: id } } : { event_id: id }) })),
        failed: [{ index: 0, error: { code: "not_found", message: "m", details: [] } }],
        request_id: "r",
      });
    };
    const { client: c, calls } = client([answer("event"), answer("event"), answer("id"), answer("id")]);
    const acked = await c.events.bulkAck(ids);
    assert.deepEqual(acked.failed.map((f) => f.index), [0, 25]);
    assert.equal(acked.successful.length, 24);
    assert.equal(acked.successful[0].event.event_id, "evt_1");
    const deleted = await c.events.bulkDelete(ids);
    assert.deepEqual(deleted.failed.map((f) => f.index), [0, 25]);
    assert.equal(calls[2].method, "DELETE");
    assert.equal(calls[2].url, "http://api.test/v1/events/bulk");
    assert.equal(calls[0].url, "http://api.test/v1/events/bulk/ack");
  });
});

describe("inbox.process (poll, handle, ack)", () => {
  it("acks what the handler handled, reports handler errors and leaves those events pending", async () => {
    const e = (n) => ({ ...EVENT, event_id: `evt_${n}` });
    const ackAnswer = (url, init) => {
      const { event_ids } = JSON.parse(init.body);
      return jsonResponse(200, {
        successful: event_ids.map((id, index) => ({ index, event: { ...e(0), event_id: id, status: "acknowledged" } })),
        failed: [],
        request_id: "r",
      });
    };
    const { client: c, calls } = client([
      jsonResponse(200, { events: [e(1), e(2), e(3)], next_cursor: "c" }),
      ackAnswer,
      jsonResponse(200, { events: [e(4)], next_cursor: null }),
      ackAnswer,
    ]);
    const seen = [];
    const result = await c.inbox.process(
      async (event) => {
        seen.push(event.event_id);
        if (event.event_id === "evt_2") throw new Error("boom");
      },
      { source: "billing", pageSize: 3 },
    );
    assert.deepEqual(seen, ["evt_1", "evt_2", "evt_3", "evt_4"]);
    assert.equal(result.handled, 4);
    assert.deepEqual(result.acknowledged, ["evt_1", "evt_3", "evt_4"]);
    assert.equal(result.handlerErrors.length, 1);
    assert.equal(result.handlerErrors[0].event.event_id, "evt_2");
    assert.equal(result.handlerErrors[0].error.message, "boom");
    assert.deepEqual(JSON.parse(calls[1].body), { event_ids: ["evt_1", "evt_3"] });
    assert.match(calls[0].url, /limit=3&source=billing/);
  });

  it("maxEvents stops the pass", async () => {
    const e = (n) => ({ ...EVENT, event_id: `evt_${n}` });
    const { client: c, calls } = client([
      jsonResponse(200, { events: [e(1), e(2)], next_cursor: "c" }),
      jsonResponse(200, { successful: [{ index: 0, event: e(1) }], failed: [], request_id: "r" }),
    ]);
    const result = await c.inbox.process(() => {}, { maxEvents: 1 });
    assert.equal(result.handled, 1);
    assert.equal(calls.length, 2);
  });
});

describe("analytics", () => {
  it("summary, timeseries and both exports send their parameters", async () => {
    const { client: c, calls } = client([
      jsonResponse(200, { totals: {} }),
      jsonResponse(200, { buckets: [] }),
      new Response("start,source\r\n", { status: 200, headers: { "content-type": "text/csv", "content-disposition": 'attachment; filename="triggers-analytics-x.csv"' } }),
      jsonResponse(200, { rows: [] }),
    ]);
    await c.analytics.summary({ from: "2026-11-30T00:00:00Z", to: new Date("2026-12-01T00:00:00Z") });
    await c.analytics.timeseries({ granularity: "minute", source: "s" });
    const csv = await c.analytics.exportCsv({ granularity: "day" });
    await c.analytics.exportJson();
    assert.equal(calls[0].url, "http://api.test/v1/analytics/summary?from=2026-11-30T00%3A00%3A00Z&to=2026-12-01T00%3A00%3A00.000Z");
    assert.equal(calls[1].url, "http://api.test/v1/analytics/timeseries?granularity=minute&source=s");
    assert.equal(calls[2].url, "http://api.test/v1/analytics/export?format=csv&granularity=day");
    assert.equal(csv.csv, "start,source\r\n");
    assert.equal(csv.filename, "triggers-analytics-x.csv");
    assert.equal(calls[3].url, "http://api.test/v1/analytics/export?format=json");
  });
});
