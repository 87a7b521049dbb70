// Type-level test of the built package as an ESM consumer sees it (exports -> import -> types).
// Checked by `npm test` (tsconfig.types.json); never run.
import {
  ApiError,
  RateLimitError,
  TriggersClient,
  Webhook,
  isEventDelivery,
  isWebhookTest,
  type BulkResult,
  type BulkCreated,
  type Event,
  type EventCreate,
  type WithResponse,
} from "@triggers-api/sdk";

const client = new TriggersClient({ baseUrl: "http://127.0.0.1:8000", apiKey: "tk_local_x", maxRetries: 2 });
const body: EventCreate = { source: "billing", event_type: "invoice.paid", payload: { amount: 1 }, metadata: { priority: "high" } };
const created: Event & WithResponse = await client.events.create(body, { idempotencyKey: "k" });
const replayed: boolean = created.lastResponse.idempotentReplayed;
const remaining: number | null = created.lastResponse.rateLimit.remaining;
const bulk: BulkResult<BulkCreated> = await client.events.bulkCreate([body]);
const index: number = bulk.failed[0]?.index ?? -1;
for await (const e of client.inbox.iterate({ priority: "low", metadata: { team: "a" }, created_after: new Date() })) {
  const status: "pending" | "acknowledged" = e.status;
  void status;
}
try {
  await client.webhooks.create({ url: "http://127.0.0.1:9000/hooks" });
} catch (err) {
  if (err instanceof RateLimitError) {
    const wait: number | null = err.retryAfter;
    void wait;
  } else if (err instanceof ApiError) {
    const code: string = err.code;
    void code;
  }
}
const verified = await new Webhook(["whsec_a", "whsec_b"]).verify("{}", { "webhook-id": "x" });
let eventId = "";
if (isEventDelivery(verified.payload)) eventId = verified.payload.data.event_id;
else if (isWebhookTest(verified.payload)) eventId = verified.payload.data.webhook_id;
// @ts-expect-error: without narrowing, data may be a test send's
eventId = verified.payload.data.event_id;
// @ts-expect-error: source is required
const bad: EventCreate = { event_type: "t", payload: {} };
export { bad, eventId, index, remaining, replayed };
