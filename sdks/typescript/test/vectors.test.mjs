// The shared test vectors (tests/vectors/*.json, read from the repo, not copied) and the
// standardwebhooks reference implementation.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it, mock } from "node:test";
import { Webhook as ReferenceWebhook } from "standardwebhooks";
import {
  RequestSigner,
  Webhook,
  WebhookVerificationError,
  canonicalTarget,
  verifyRequestSignature,
} from "@triggers-api/sdk";
import { client, jsonResponse, EVENT } from "./helpers.mjs";

const requestVectors = JSON.parse(readFileSync(new URL("../../../tests/vectors/request_signing.json", import.meta.url)));
const webhookVectors = JSON.parse(readFileSync(new URL("../../../tests/vectors/webhook_signing.json", import.meta.url)));

describe("request signing vectors", () => {
  assert.ok(requestVectors.sign.length >= 5 && requestVectors.verify.length >= 10);
  for (const v of requestVectors.sign) {
    it(`sign: ${v.name}`, async () => {
      assert.equal(canonicalTarget(v.path, v.query), v.canonical_target);
      const headers = await new RequestSigner(v.secrets).sign(v.method, v.path, v.query, v.body, v.timestamp);
      assert.equal(headers["X-Triggers-Timestamp"], v.timestamp);
      assert.equal(headers["X-Triggers-Signature"], v.header);
      const sigs = await new RequestSigner(v.secrets).signatures(v.timestamp, v.method, v.canonical_target, v.body);
      assert.deepEqual(sigs, v.signatures);
    });
  }
  for (const v of requestVectors.verify) {
    it(`verify: ${v.name} -> ${v.expected}`, async () => {
      const verdict = await verifyRequestSignature({
        signingSecrets: v.secrets,
        timestamp: v.timestamp,
        signature: v.signature,
        method: v.method,
        target: v.target,
        body: v.body,
        nowSeconds: v.now,
        toleranceSeconds: requestVectors.tolerance_seconds,
      });
      assert.equal(verdict, v.expected);
    });
  }

  it("the client signs what it sends: the query vector through a real call", async () => {
    const v = requestVectors.sign.find((s) => s.name.startsWith("query sorted"));
    const clock = { now: () => Number(v.timestamp) * 1000, random: () => 0, sleep: async () => {} };
    const { client: c, calls } = client([jsonResponse(200, { events: [], next_cursor: null })], {
      signingSecret: v.secrets[0],
      clock,
    });
    const params = Object.fromEntries(v.query);
    await c.inbox.list(params);
    assert.equal(calls[0].url, `http://api.test${v.canonical_target}`);
    assert.equal(calls[0].headers["x-triggers-timestamp"], v.timestamp);
    assert.equal(calls[0].headers["x-triggers-signature"], v.header);
  });

  it("a base URL with a path prefix (an API Gateway stage): the signed target starts at /v1", async () => {
    const v = requestVectors.sign.find((s) => s.name.startsWith("query sorted"));
    const clock = { now: () => Number(v.timestamp) * 1000, random: () => 0, sleep: async () => {} };
    const { client: c, calls } = client([jsonResponse(200, { events: [], next_cursor: null })], {
      baseUrl: "https://abc.execute-api.test/dev/",
      signingSecret: v.secrets[0],
      clock,
    });
    await c.inbox.list(Object.fromEntries(v.query));
    assert.equal(calls[0].url, `https://abc.execute-api.test/dev${v.canonical_target}`);
    assert.equal(calls[0].headers["x-triggers-signature"], v.header);
  });

  it("the client signs the exact body bytes it sends", async () => {
    const secret = requestVectors.sign[0].secrets[0];
    const { client: c, calls } = client([jsonResponse(201, EVENT)], { signingSecret: secret });
    await c.events.create({ source: "billing", event_type: "invoice.paid", payload: { text: "Grüße 🚀" } });
    const call = calls[0];
    const verdict = await verifyRequestSignature({
      signingSecrets: secret,
      timestamp: call.headers["x-triggers-timestamp"],
      signature: call.headers["x-triggers-signature"],
      method: "POST",
      target: "/v1/events",
      body: call.body,
      nowSeconds: Number(call.headers["x-triggers-timestamp"]),
    });
    assert.equal(verdict, "ok");
  });
});

describe("webhook signing vectors", () => {
  assert.ok(webhookVectors.sign.length >= 5);
  for (const v of webhookVectors.sign) {
    it(`verify and sign: ${v.name}`, async () => {
      const headers = { "webhook-id": v.msg_id, "webhook-timestamp": String(v.timestamp), "webhook-signature": v.header };
      for (const secret of v.secrets) {
        const wh = new Webhook(secret, { now: () => v.timestamp * 1000 });
        if (v.body === "") {
          await assert.rejects(wh.verify(v.body, headers), /not JSON/);
        } else {
          const out = await wh.verify(v.body, headers);
          assert.equal(out.id, v.msg_id);
          assert.equal(out.timestamp, v.timestamp);
          assert.deepEqual(out.payload, JSON.parse(v.body));
          // The same bytes as a Uint8Array (what a raw-body reader hands over).
          await wh.verify(new TextEncoder().encode(v.body), new Headers(headers));
        }
      }
      assert.equal(await new Webhook(v.secrets, { now: () => v.timestamp * 1000 }).sign(v.msg_id, v.timestamp, v.body), v.header);
    });
  }

  it("rejects a tampered body, a wrong secret, old and future timestamps, missing headers", async () => {
    const v = webhookVectors.sign[0];
    const headers = { "webhook-id": v.msg_id, "webhook-timestamp": String(v.timestamp), "webhook-signature": v.header };
    const at = (s) => new Webhook(v.secrets[0], { now: () => (v.timestamp + s) * 1000 });
    await assert.rejects(at(0).verify(v.body.replace("2432232314", "2432232315"), headers), WebhookVerificationError);
    await assert.rejects(
      new Webhook("whsec_GcXNfr2tR249G+kXMTg5b6CttvpEwhsUekwqFIDKSg4=", { now: () => v.timestamp * 1000 }).verify(v.body, headers),
      /no matching signature/,
    );
    await at(300).verify(v.body, headers);
    await at(-300).verify(v.body, headers);
    await assert.rejects(at(301).verify(v.body, headers), /too old/);
    await assert.rejects(at(-301).verify(v.body, headers), /too new/);
    await assert.rejects(at(0).verify(v.body, { ...headers, "webhook-id": undefined }), /missing/);
    await assert.rejects(at(0).verify(v.body, { ...headers, "webhook-signature": "v2," + v.header.slice(3) }), /no matching/);
    await assert.rejects(at(0).verify(v.body, { ...headers, "webhook-timestamp": "12ab" }), /invalid webhook-timestamp/);
    assert.throws(() => new Webhook("whsec_!!!"), TypeError);
  });
});

describe("cross-check with the standardwebhooks reference implementation", () => {
  it("the reference verifies every vector (clock set to the vector's time)", () => {
    for (const v of webhookVectors.sign) {
      mock.timers.enable({ apis: ["Date"], now: v.timestamp * 1000 });
      try {
        for (const secret of v.secrets) {
          const ref = new ReferenceWebhook(secret);
          ref.verify(v.body, { "webhook-id": v.msg_id, "webhook-timestamp": String(v.timestamp), "webhook-signature": v.header });
          assert.equal(ref.sign(v.msg_id, new Date(v.timestamp * 1000), v.body), v.signatures[v.secrets.indexOf(secret)]);
        }
      } finally {
        mock.timers.reset();
      }
    }
  });

  it("messages signed by the reference verify with ours, and ours with the reference", async () => {
    const secret = "whsec_" + Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");
    const ref = new ReferenceWebhook(secret);
    const ours = new Webhook(secret);
    const now = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({ type: "invoice.paid", timestamp: "2026-12-01T00:00:00.000Z", data: { ...EVENT, payload: { t: "é 東京" } } });
    const refHeaders = { "webhook-id": "msg_ref", "webhook-timestamp": String(now), "webhook-signature": ref.sign("msg_ref", new Date(now * 1000), body) };
    assert.deepEqual((await ours.verify(body, refHeaders)).payload, JSON.parse(body));
    const ourHeaders = { "webhook-id": "msg_ours", "webhook-timestamp": String(now), "webhook-signature": await ours.sign("msg_ours", now, body) };
    assert.deepEqual(ref.verify(body, ourHeaders), JSON.parse(body));
    // Both refuse the same tampering.
    assert.throws(() => ref.verify(body + " ", ourHeaders));
    await assert.rejects(ours.verify(body + " ", refHeaders), WebhookVerificationError);
  });
});
