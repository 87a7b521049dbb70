// The SDK's own cost per call, without a server's noise: events.get against an in-process node:http
// server answering a fixed event, alternating SDK and plain fetch (the same keep-alive pool).
//   node sdks/typescript/bench/local.mjs
import { createServer } from "node:http";
import { performance } from "node:perf_hooks";
import { TriggersClient } from "@triggers-api/sdk";
const body = JSON.stringify({ event_id: "evt_x", source: "s", event_type: "t", payload: { a: 1 }, metadata: { priority: "normal" }, status: "pending", created_at: "x", acknowledged_at: null, idempotency_key: null });
const server = createServer((req, res) => { res.writeHead(200, { "content-type": "application/json", "x-request-id": "r", "x-ratelimit-limit": "1000", "x-ratelimit-remaining": "999", "x-ratelimit-reset": "1" }); res.end(body); });
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const base = `http://127.0.0.1:${server.address().port}`;
const c = new TriggersClient({ baseUrl: base, apiKey: "k" });
const raw = async () => (await fetch(`${base}/v1/events/evt_x`, { headers: { "X-API-Key": "k", Accept: "application/json" } })).json();
const sdk = () => c.events.get("evt_x");
const t = { raw: [], sdk: [] };
for (let i = 0; i < 4000; i++) for (const [k, f] of i % 2 ? [["raw", raw], ["sdk", sdk]] : [["sdk", sdk], ["raw", raw]]) { const t0 = performance.now(); await f(); if (i >= 500) t[k].push(performance.now() - t0); }
const med = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
const s = med(t.sdk), r = med(t.raw);
console.log(`events.get x 3500 against a local node:http server: SDK median ${s.toFixed(3)} ms, raw ${r.toFixed(3)} ms, overhead ${((s - r) * 1000).toFixed(0)} µs`);
server.close();
