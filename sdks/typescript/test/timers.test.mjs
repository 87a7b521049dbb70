// No leaked timers or listeners: a finished call leaves nothing that keeps Node alive, whatever
// way it ended (answer, error, per-attempt timeout, the caller's abort during a retry wait).
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { it } from "node:test";
import { TriggersClient } from "@triggers-api/sdk";
import { EVENT, connectionError, errorResponse, jsonResponse } from "./helpers.mjs";

const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

function realClient(fetch, options = {}) {
  // The real clock (real setTimeout sleeps), long per-attempt timeouts.
  return new TriggersClient({ baseUrl: "http://api.test", apiKey: "k", fetch, timeoutMs: 60_000, baseDelayMs: 1, maxDelayMs: 2, ...options });
}

it("answers, errors and retries leave no timer behind", async () => {
  const before = timeouts();
  const ok = realClient(async () => jsonResponse(200, EVENT));
  await ok.events.get(EVENT.event_id);
  const failing = [connectionError("ECONNRESET"), errorResponse(503, "service_unavailable"), errorResponse(404, "not_found")];
  const retried = realClient(async () => {
    const next = failing.shift();
    if (next instanceof Error) throw next;
    return next;
  });
  await assert.rejects(retried.events.get(EVENT.event_id));
  assert.equal(failing.length, 0);
  assert.equal(timeouts(), before);
});

it("a per-attempt timeout and an abort during a retry wait leave no timer or listener behind", async () => {
  const before = timeouts();
  const hanging = realClient(
    (url, init) => new Promise((_, reject) => init.signal.addEventListener("abort", () => reject(init.signal.reason))),
    { timeoutMs: 20, maxRetries: 0 },
  );
  await assert.rejects(hanging.events.get(EVENT.event_id), { name: "TimeoutError" });
  const controller = new AbortController();
  const slowRetry = realClient(async () => errorResponse(503, "service_unavailable", { "retry-after": "30" }));
  const call = slowRetry.events.get(EVENT.event_id, { signal: controller.signal });
  setTimeout(() => controller.abort(new Error("caller gave up")), 20);
  await assert.rejects(call, /caller gave up/);
  assert.equal(timeouts(), before, "the 30 s Retry-After wait was cancelled");
  assert.equal(getEventListeners(controller.signal, "abort").length, 0, "no abort listener left on the caller's signal");
  const done = new AbortController();
  await realClient(async () => jsonResponse(200, EVENT)).events.get(EVENT.event_id, { signal: done.signal });
  assert.equal(getEventListeners(done.signal, "abort").length, 0);
});
