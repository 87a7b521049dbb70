// Webhook signature verification, compatible with Standard Webhooks (docs/WEBHOOKS.md):
// webhook-signature is "v1,<base64 HMAC-SHA256(key, '{webhook-id}.{webhook-timestamp}.{body}')>",
// space-separated when several secrets sign (a rotation's grace period). The key is the
// base64-decoded secret after its "whsec_" prefix.
import { base64Decode, base64Encode, hmacSha256, importHmacKey, timingSafeEqual, toBytes } from "./crypto.js";
import type { Event } from "./types.js";

/** Raised when a delivery's headers, timestamp or signature do not verify. */
export class WebhookVerificationError extends Error {
  override readonly name = "WebhookVerificationError";
}

/** The `data` of a test send (`type: "webhook.test"`, POST /v1/webhooks/{id}/test). */
export interface WebhookTestData {
  webhook_id: string;
  message: string;
}

/**
 * What a delivery's body holds: for an event, `data` is the event as GET /v1/events/{id}
 * answers it, `type` its event_type and `timestamp` its created_at; a test send has
 * `type: "webhook.test"` and WebhookTestData (tell them apart with isWebhookTest).
 */
export interface WebhookPayload<TData = Event | WebhookTestData> {
  type: string;
  timestamp: string;
  data: TData;
}

/** True for a test send (`type: "webhook.test"`); otherwise `data` is an Event. */
export function isWebhookTest(payload: WebhookPayload): payload is WebhookPayload<WebhookTestData> {
  return payload.type === "webhook.test";
}

/** True for an event delivery: `data` is the Event. */
export function isEventDelivery(payload: WebhookPayload): payload is WebhookPayload<Event> {
  return payload.type !== "webhook.test";
}

/** The verified delivery: its id (dedupe on it: retries reuse it), timestamp and payload. */
export interface VerifiedWebhook<TData = Event | WebhookTestData> {
  id: string;
  timestamp: number;
  payload: WebhookPayload<TData>;
}

/** Header containers accepted: a fetch `Headers`, or a plain object (e.g. node:http's req.headers). */
export type HeaderSource =
  | { get(name: string): string | null }
  | Record<string, string | readonly string[] | undefined>;

function header(headers: HeaderSource, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === "function") {
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  }
  const record = headers as Record<string, string | readonly string[] | undefined>;
  for (const key of Object.keys(record)) {
    if (key.toLowerCase() === name) {
      const value = record[key];
      return Array.isArray(value) ? value.join(", ") : (value as string | undefined);
    }
  }
  return undefined;
}

export const WEBHOOK_TOLERANCE_SECONDS = 300;

export interface WebhookOptions {
  /** Seconds a timestamp may be off from `now` either way (default 300). */
  toleranceSeconds?: number;
  /** The clock, in milliseconds since the epoch (default Date.now); for tests. */
  now?: () => number;
}

function decodeSecret(secret: string): Uint8Array {
  if (typeof secret !== "string" || secret.length === 0) {
    throw new TypeError("a webhook secret is a non-empty string (whsec_...)");
  }
  const raw = secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret;
  let key: Uint8Array;
  try {
    key = base64Decode(raw);
  } catch {
    throw new TypeError("a webhook secret is 'whsec_' followed by base64");
  }
  if (key.length === 0) throw new TypeError("a webhook secret cannot be empty");
  return key;
}

/**
 * Verifies (and, for tests, signs) webhook deliveries with one or more secrets: pass both the
 * new and the previous secret during a rotation's grace period.
 *
 * ```ts
 * const wh = new Webhook(process.env.WEBHOOK_SECRET!);
 * const { id, payload } = await wh.verify(rawBody, req.headers); // throws WebhookVerificationError
 * ```
 */
export class Webhook {
  private readonly keys: Promise<CryptoKey[]>;
  private readonly tolerance: number;
  private readonly now: () => number;

  constructor(secrets: string | readonly string[], options: WebhookOptions = {}) {
    const list = typeof secrets === "string" ? [secrets] : [...secrets];
    if (list.length === 0) throw new TypeError("give at least one webhook secret");
    const decoded = list.map(decodeSecret);
    this.keys = Promise.all(decoded.map((k) => importHmacKey(k)));
    this.tolerance = options.toleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS;
    this.now = options.now ?? Date.now;
  }

  /** The webhook-signature value for a message: one "v1,<sig>" per secret, space-separated. */
  async sign(msgId: string, timestampSeconds: number, body: string | Uint8Array): Promise<string> {
    const sigs = await this.signatures(msgId, String(timestampSeconds), body);
    return sigs.map((s) => `v1,${s}`).join(" ");
  }

  private async signatures(msgId: string, timestamp: string, body: string | Uint8Array): Promise<string[]> {
    const prefix = toBytes(`${msgId}.${timestamp}.`);
    const bytes = toBytes(body);
    const content = new Uint8Array(prefix.length + bytes.length);
    content.set(prefix);
    content.set(bytes, prefix.length);
    const keys = await this.keys;
    return Promise.all(keys.map(async (k) => base64Encode(await hmacSha256(k, content))));
  }

  /**
   * Verifies the RAW body bytes as received (before any JSON parsing) against the three
   * headers; returns the delivery id, timestamp and parsed payload, or throws
   * WebhookVerificationError.
   */
  async verify<TData = Event | WebhookTestData>(body: string | Uint8Array, headers: HeaderSource): Promise<VerifiedWebhook<TData>> {
    const id = header(headers, "webhook-id");
    const ts = header(headers, "webhook-timestamp");
    const signature = header(headers, "webhook-signature");
    if (!id || !ts || !signature) {
      throw new WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature header");
    }
    if (!/^[0-9]{1,15}$/.test(ts.trim())) throw new WebhookVerificationError("invalid webhook-timestamp header");
    const timestamp = Number(ts.trim());
    const now = Math.floor(this.now() / 1000);
    if (now - timestamp > this.tolerance) throw new WebhookVerificationError("message timestamp too old");
    if (timestamp - now > this.tolerance) throw new WebhookVerificationError("message timestamp too new");
    const expected = await this.signatures(id, ts.trim(), body);
    let match = false;
    for (const entry of signature.split(" ")) {
      const comma = entry.indexOf(",");
      if (comma < 0 || entry.slice(0, comma) !== "v1") continue;
      const offered = entry.slice(comma + 1);
      for (const want of expected) if (timingSafeEqual(want, offered)) match = true;
    }
    if (!match) throw new WebhookVerificationError("no matching signature found");
    const text = typeof body === "string" ? body : new TextDecoder().decode(body);
    let payload: WebhookPayload<TData>;
    try {
      payload = JSON.parse(text) as WebhookPayload<TData>;
    } catch {
      throw new WebhookVerificationError("the signed body is not JSON");
    }
    return { id, timestamp, payload };
  }
}
