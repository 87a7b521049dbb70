// Overhead of the SDK per call over plain fetch: N calls of GET /v1/events/{id} each way,
// alternating (so drift in the server hits both alike), through the same global fetch (undici's
// keep-alive pool: the same connection reuse). Prints the median of each and the difference.
//
//   python scripts/sdk_stack.py --env -- node sdks/typescript/bench/bench.mjs [N=1000]
// (uses TRIGGERS_API_URL and TRIGGERS_ADMIN_KEY, or TRIGGERS_API_KEY)
import { performance } from "node:perf_hooks";
import { TriggersClient } from "@triggers-api/sdk";

const baseUrl = process.env.TRIGGERS_API_URL;
const apiKey = process.env.TRIGGERS_API_KEY || process.env.TRIGGERS_ADMIN_KEY;
if (!baseUrl || !apiKey) {
  console.error("set TRIGGERS_API_URL and TRIGGERS_API_KEY (or run under scripts/sdk_stack.py --env)");
  process.exit(2);
}
const n = Number(process.argv[2] ?? 1000);
const client = new TriggersClient({ baseUrl, apiKey });
const event = await client.events.create({ source: "sdk.bench", event_type: "bench", payload: { n } });
const url = `${baseUrl}/v1/events/${event.event_id}`;

async function raw() {
  const res = await fetch(url, { headers: { "X-API-Key": apiKey, Accept: "application/json" } });
  if (res.status !== 200) throw new Error(`raw: HTTP ${res.status}`);
  return res.json();
}
const sdk = () => client.events.get(event.event_id);
// The raw request with the SDK's exact headers: separates the SDK's own cost from the server's
// handling of what the SDK sends.
async function rawSdkHeaders() {
  const res = await fetch(url, { headers: { "X-API-Key": apiKey, Accept: "application/json", "User-Agent": client.userAgent } });
  if (res.status !== 200) throw new Error(`raw: HTTP ${res.status}`);
  return res.json();
}

for (let i = 0; i < 50; i++) {
  await raw();
  await sdk();
}
const times = { raw: [], sdk: [], rawUa: [] };
const order = [["sdk", sdk], ["raw", raw], ["rawUa", rawSdkHeaders]];
for (let i = 0; i < n; i++) {
  for (const [name, fn] of [...order.slice(i % 3), ...order.slice(0, i % 3)]) {
    const t0 = performance.now();
    await fn();
    times[name].push(performance.now() - t0);
  }
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const m = { sdk: median(times.sdk), raw: median(times.raw), rawUa: median(times.rawUa) };
console.log(`events.get x ${n} (node ${process.version}, ${baseUrl})`);
console.log(`  SDK median ${m.sdk.toFixed(3)} ms`);
console.log(`  raw median ${m.raw.toFixed(3)} ms (fetch + JSON.parse)`);
console.log(`  overhead   ${((m.sdk - m.raw) * 1000).toFixed(0)} µs per call`);
console.log(`  raw with the SDK's headers (User-Agent) ${m.rawUa.toFixed(3)} ms: the SDK's own cost is ${((m.sdk - m.rawUa) * 1000).toFixed(0)} µs`);
await client.events.delete(event.event_id);
