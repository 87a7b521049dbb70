// Inbox consumer: poll, handle, ack. Handles every pending event of SOURCE, acknowledges the
// ones handled (bulk acks of 25), and reports the ones whose handler failed (left pending).
//
//   node inbox-consumer.mjs            one pass over the inbox, then exit
//   node inbox-consumer.mjs --follow   keep polling every POLL_SECONDS (default 2)
import { makeClient } from "./config.mjs";

const client = makeClient();
const source = process.env.SOURCE || "example.shop";
const follow = process.argv.includes("--follow");
const pollMs = Number(process.env.POLL_SECONDS ?? 2) * 1000;

async function handle(event) {
  // Your work goes here; throw to leave the event pending for a later pass.
  console.log(JSON.stringify({ handled: event.event_id, event_type: event.event_type, payload: event.payload }));
}

let stop = false;
process.on("SIGINT", () => (stop = true));
process.on("SIGTERM", () => (stop = true));

do {
  const result = await client.inbox.process(handle, { source, pageSize: 50 });
  for (const { event, error } of result.handlerErrors) {
    console.error(JSON.stringify({ handler_error: event.event_id, message: String(error) }));
  }
  for (const { eventId, error } of result.ackFailures) {
    console.error(JSON.stringify({ ack_failed: eventId, code: error.code }));
  }
  console.log(JSON.stringify({ acknowledged: result.acknowledged, handled: result.handled, failed: result.handlerErrors.length }));
  if (follow && !stop) await new Promise((resolve) => setTimeout(resolve, pollMs));
} while (follow && !stop);
