// Test doubles: a scripted fetch and a fake clock (sleeps advance it and are recorded).
import { TriggersClient } from "@triggers-api/sdk";

export function jsonResponse(status, body, headers = {}) {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "x-request-id": "req_header", ...headers },
  });
}

export function errorResponse(status, code, headers = {}, extra = {}) {
  return jsonResponse(
    status,
    { error: { code, message: `${code} happened`, details: extra.details ?? [] }, request_id: extra.requestId ?? "req_body" },
    headers,
  );
}

export function connectionError(code) {
  const err = new TypeError("fetch failed");
  err.cause = Object.assign(new Error(`connect ${code}`), { code });
  return err;
}

/** A fetch answering from a script: each entry a Response, an Error to throw, or a function. */
export function scriptedFetch(script) {
  const calls = [];
  const fetch = async (url, init) => {
    const headers = Object.fromEntries(Object.entries(init.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    calls.push({ url, method: init.method, headers, body: init.body === undefined ? undefined : String(init.body) });
    if (script.length === 0) throw new Error(`unexpected request ${init.method} ${url}`);
    const next = script.shift();
    if (typeof next === "function") return next(url, init);
    if (next instanceof Error) throw next;
    return next;
  };
  return { fetch, calls };
}

export function fakeClock(start = 1_764_460_800_000, random = () => 0.5) {
  const clock = {
    t: start,
    sleeps: [],
    now: () => clock.t,
    random,
    sleep: async (ms) => {
      clock.sleeps.push(ms);
      clock.t += ms;
    },
  };
  return clock;
}

export function client(script, options = {}) {
  const { fetch, calls } = scriptedFetch(script);
  const clock = options.clock ?? fakeClock();
  const c = new TriggersClient({
    baseUrl: "http://api.test",
    apiKey: "tk_test_secret",
    fetch,
    clock,
    ...options,
  });
  return { client: c, calls, clock };
}

export const EVENT = {
  event_id: "evt_01JD8ZK3ABCDEFGHJKMNPQRSTV",
  source: "billing",
  event_type: "invoice.paid",
  payload: { amount: 4200 },
  metadata: { priority: "normal" },
  status: "pending",
  created_at: "2026-11-30T00:00:00.000Z",
  acknowledged_at: null,
  idempotency_key: null,
};
