// Create an event over plain HTTP with safe retries (docs/RETRIES.md). Node 20+, fetch, no packages.
//
//   TRIGGERS_API_URL=http://127.0.0.1:8000 TRIGGERS_API_KEY=tk_... node retry_post.mjs
//
// Creates one event with an Idempotency-Key generated once for it, retrying 429, 5xx and network
// failures (Retry-After honoured, else exponential backoff with full jitter), then sends the very
// same request once more, as a client would after losing the first answer: the API answers 200
// with the same event and Idempotent-Replayed: true. Prints one JSON summary line; each attempt
// is logged to stderr.
import { randomUUID } from "node:crypto";

const RETRYABLE_STATUSES = new Set([429, 500, 502, 503, 504]);
const MAX_ATTEMPTS = 6;
const BASE_SECONDS = 0.5;
const CAP_SECONDS = 30;

// Full jitter: uniform in [0, min(cap, base * 2**attempt)] (attempt counts from 0).
export function backoffSeconds(attempt, random = Math.random) {
  return random() * Math.min(CAP_SECONDS, BASE_SECONDS * 2 ** attempt);
}

// Wait at least Retry-After (whole seconds) when the API sent it, else back off.
export function delaySeconds(attempt, retryAfter, random = Math.random) {
  const jitter = backoffSeconds(attempt, random);
  if (retryAfter && /^\d+$/.test(retryAfter)) return Math.max(Number(retryAfter), jitter);
  return jitter;
}

const sleep = (seconds) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));
const log = (fields) => process.stderr.write(JSON.stringify(fields) + "\n");

// The JSON body, or {}: a proxy's 502/504 answers HTML, and its status still decides.
function parseBody(text) {
  try {
    const body = text ? JSON.parse(text) : {};
    return body !== null && typeof body === "object" ? body : {};
  } catch {
    return {};
  }
}

export async function postWithRetries(url, apiKey, event, idempotencyKey) {
  const body = JSON.stringify(event); // serialised once: every retry sends the same bytes
  const statuses = [];
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    let wait;
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          "X-API-Key": apiKey,
          "Idempotency-Key": idempotencyKey,
        },
        body,
        signal: AbortSignal.timeout(30_000),
      });
      const answer = { status: response.status, headers: response.headers, body: parseBody(await response.text()) };
      statuses.push(response.status);
      if (!RETRYABLE_STATUSES.has(response.status)) return { ...answer, attempts: statuses };
      wait = delaySeconds(attempt, response.headers.get("Retry-After"));
      log({ attempt: attempt + 1, status: response.status, code: answer.body.error?.code, retry_in: Number(wait.toFixed(2)) });
    } catch (error) {
      // No answer: the event may or may not exist. The idempotency key makes resending safe.
      statuses.push(0);
      wait = delaySeconds(attempt, null);
      log({ attempt: attempt + 1, error: String(error), retry_in: Number(wait.toFixed(2)) });
    }
    if (attempt + 1 < MAX_ATTEMPTS) await sleep(wait);
  }
  throw new Error(`gave up after ${MAX_ATTEMPTS} attempts: ${statuses}`);
}

async function main() {
  const baseUrl = (process.env.TRIGGERS_API_URL ?? "http://127.0.0.1:8000").replace(/\/+$/, "");
  const apiKey = process.env.TRIGGERS_API_KEY;
  if (!apiKey) throw new Error("set TRIGGERS_API_KEY");
  const source = process.env.EXAMPLE_SOURCE ?? "examples.retries";
  const url = `${baseUrl}/v1/events`;
  const event = { source, event_type: "order.created", payload: { order_id: 42 } };
  const idempotencyKey = randomUUID(); // once per logical request, reused by every retry

  const created = await postWithRetries(url, apiKey, event, idempotencyKey);
  if (created.status !== 201) {
    log({ unexpected: created.status, body: created.body });
    return 1;
  }
  const again = await postWithRetries(url, apiKey, event, idempotencyKey);
  const summary = {
    event_id: created.body.event_id,
    status: created.status,
    attempts: created.attempts,
    replay_status: again.status,
    replay_event_id: again.body.event_id ?? null,
    replayed: again.headers.get("Idempotent-Replayed") === "true",
    replay_attempts: again.attempts,
  };
  console.log(JSON.stringify(summary));
  return summary.replayed && summary.replay_event_id === summary.event_id ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main();
}
