// Producer: creates events, with an idempotency key each so a re-run of the same order never
// duplicates it. Prints one JSON line per event, then a summary line.
//
//   node producer.mjs [COUNT]        (env: SOURCE, default "example.shop"; RUN_ID, default now)
import { makeClient } from "./config.mjs";

const client = makeClient();
const count = Number(process.argv[2] ?? 3);
const source = process.env.SOURCE || "example.shop";
const runId = process.env.RUN_ID || String(Date.now());

const created = [];
for (let i = 1; i <= count; i++) {
  const orderId = `order-${runId}-${i}`;
  const event = await client.events.create(
    {
      source,
      event_type: "order.placed",
      payload: { order_id: orderId, amount_cents: 1000 + i },
      metadata: { priority: i === 1 ? "high" : "normal", shop: "example" },
    },
    { idempotencyKey: orderId }, // the same order sent twice is one event
  );
  created.push(event.event_id);
  console.log(
    JSON.stringify({
      event_id: event.event_id,
      order_id: orderId,
      replayed: event.lastResponse.idempotentReplayed,
      rate_limit_remaining: event.lastResponse.rateLimit.remaining,
    }),
  );
}
console.log(JSON.stringify({ created }));
