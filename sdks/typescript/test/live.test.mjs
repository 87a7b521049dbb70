// Live tests against the stack `scripts/sdk_stack.py typescript` starts (TRIGGERS_API_URL,
// TRIGGERS_ADMIN_KEY): every call of the SDK, and the three examples. Skipped without
// TRIGGERS_API_URL; with TRIGGERS_SDK_LIVE=1, a missing variable fails instead.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  AuthenticationError,
  ConflictError,
  InvalidRequestError,
  NotFoundError,
  PermissionError,
  RateLimitError,
  TriggersClient,
  Webhook,
  WebhookVerificationError,
  isEventDelivery,
  isWebhookTest,
} from "@triggers-api/sdk";

const API_URL = process.env.TRIGGERS_API_URL;
const ADMIN_KEY = process.env.TRIGGERS_ADMIN_KEY;
const LIVE = process.env.TRIGGERS_SDK_LIVE === "1";
const missing = ["TRIGGERS_API_URL", "TRIGGERS_ADMIN_KEY"].filter((name) => !process.env[name]);
const skip = missing.length > 0 && !LIVE ? "set TRIGGERS_API_URL and TRIGGERS_ADMIN_KEY (scripts/sdk_stack.py typescript)" : false;

const RUN = `ts${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const source = (label) => `sdk.${RUN}.${label}`;
const admin = () => new TriggersClient({ baseUrl: API_URL, apiKey: ADMIN_KEY });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function eventually(what, fn, timeoutMs = 30_000) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await sleep(250);
  }
  assert.fail(`timed out waiting for ${what}`);
}

async function collect(iterable) {
  const out = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe("live", { skip }, () => {
  it("has the variables it needs", () => {
    assert.deepEqual(missing, [], `TRIGGERS_SDK_LIVE=1 but ${missing.join(", ")} unset`);
  });
  if (missing.length > 0) return;

  const c = admin();

  it("health", async () => {
    const h = await c.health();
    assert.equal(h.status, "ok");
    assert.equal(h.checks.dynamodb, "ok");
    assert.equal(h.lastResponse.status, 200);
  });

  it("events: create (with and without idempotency key), replay, conflict, get, ack, delete", async () => {
    const src = source("events");
    const plain = await c.events.create({ source: src, event_type: "order.placed", payload: { n: 1 } });
    assert.match(plain.event_id, /^evt_/);
    assert.equal(plain.status, "pending");
    assert.equal(plain.lastResponse.status, 201);
    assert.match(plain.idempotency_key, /^[0-9a-f-]{36}$/, "the SDK's generated key is stored");
    assert.equal(plain.metadata.priority, "normal");
    assert.ok(plain.lastResponse.rateLimit.limit > 0);
    assert.match(plain.lastResponse.requestId, /\S/);

    const body = { source: src, event_type: "order.placed", payload: { n: 2 }, metadata: { priority: "high" } };
    const first = await c.events.create(body, { idempotencyKey: `${RUN}-order-2` });
    const again = await c.events.create(body, { idempotencyKey: `${RUN}-order-2` });
    assert.equal(first.lastResponse.status, 201);
    assert.equal(again.lastResponse.status, 200);
    assert.equal(again.lastResponse.idempotentReplayed, true);
    assert.equal(again.event_id, first.event_id);
    const conflict = await c.events.create({ ...body, payload: { n: 3 } }, { idempotencyKey: `${RUN}-order-2` }).catch((e) => e);
    assert.ok(conflict instanceof ConflictError);
    assert.equal(conflict.code, "idempotency_conflict");
    assert.equal(conflict.status, 409);

    const invalid = await c.events.create({ source: "bad source!", event_type: "t", payload: {} }).catch((e) => e);
    assert.ok(invalid instanceof InvalidRequestError);
    assert.equal(invalid.code, "validation_error");
    assert.equal(invalid.details[0].field, "source");
    assert.match(invalid.requestId, /\S/);

    const got = await c.events.get(first.event_id);
    assert.deepEqual({ ...got }, { ...first });
    const acked = await c.events.ack(first.event_id);
    assert.equal(acked.status, "acknowledged");
    assert.ok(acked.acknowledged_at);
    const twice = await c.events.ack(first.event_id).catch((e) => e);
    assert.ok(twice instanceof ConflictError);
    assert.equal(twice.code, "already_acknowledged");

    const deleted = await c.events.delete(plain.event_id);
    assert.equal(deleted.status, 204);
    const gone = await c.events.get(plain.event_id).catch((e) => e);
    assert.ok(gone instanceof NotFoundError);
    assert.equal(gone.code, "not_found");
    await assert.rejects(c.events.delete(plain.event_id), NotFoundError);
  });

  it("inbox: one page, the auto-paging iterator over several pages, every filter", async () => {
    const src = source("inbox");
    const made = [];
    for (let i = 0; i < 7; i++) {
      made.push(
        await c.events.create({
          source: src,
          event_type: i % 2 ? "odd.thing" : "even.thing",
          payload: { i },
          metadata: { priority: i === 3 ? "high" : "low", team: i < 4 ? "a b" : "c.d" },
        }),
      );
    }
    const page = await c.inbox.list({ source: src, limit: 3 });
    assert.equal(page.items.length, 3);
    assert.ok(page.nextCursor);
    const all = await collect(c.inbox.iterate({ source: src, limit: 3 }));
    assert.deepEqual(all.map((e) => e.event_id), made.map((e) => e.event_id), "oldest first, every page");
    const pages = await collect(c.inbox.pages({ source: src, limit: 3 }));
    assert.ok(pages.length >= 3);

    const ids = async (filters) => (await collect(c.inbox.iterate({ source: src, limit: 2, ...filters }))).map((e) => e.event_id);
    assert.deepEqual(await ids({ event_type: "odd.thing" }), [made[1], made[3], made[5]].map((e) => e.event_id));
    assert.deepEqual(await ids({ priority: "high" }), [made[3].event_id]);
    assert.deepEqual(await ids({ metadata: { team: "a b" } }), made.slice(0, 4).map((e) => e.event_id));
    assert.deepEqual(await ids({ metadata: { team: "c.d" }, event_type: "even.thing" }), [made[4], made[6]].map((e) => e.event_id));
    assert.deepEqual(
      await ids({ created_after: made[1].created_at, created_before: new Date(Date.parse(made[5].created_at)) }),
      made.slice(2, 5).filter((e) => e.created_at > made[1].created_at && e.created_at < made[5].created_at).map((e) => e.event_id),
    );
    const bad = await c.inbox.list({ source: src, priority: "urgent" }).catch((e) => e);
    assert.ok(bad instanceof InvalidRequestError);
    assert.equal(bad.details[0].field, "priority");
  });

  it("inbox.process: handles, acks in bulk, leaves a failed handler's event pending", async () => {
    const src = source("process");
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await c.events.create({ source: src, event_type: "job", payload: { i } }));
    const result = await c.inbox.process(
      (event) => {
        if (event.payload.i === 2) throw new Error("handler failed");
      },
      { source: src, pageSize: 2 },
    );
    assert.equal(result.handled, 5);
    assert.deepEqual(result.acknowledged.sort(), made.filter((_, i) => i !== 2).map((e) => e.event_id).sort());
    assert.equal(result.handlerErrors.length, 1);
    assert.equal(result.handlerErrors[0].event.event_id, made[2].event_id);
    assert.deepEqual(result.ackFailures, []);
    const left = await collect(c.inbox.iterate({ source: src }));
    assert.deepEqual(left.map((e) => e.event_id), [made[2].event_id]);
    assert.equal((await c.events.get(made[0].event_id)).status, "acknowledged");
  });

  it("bulk: 60 creates in 3 batches with a bad item at its own index, bulk ack and delete", async () => {
    const src = source("bulk");
    const items = Array.from({ length: 60 }, (_, i) => ({ source: src, event_type: "bulk.item", payload: { i } }));
    items[37] = { source: "bad source!", event_type: "bulk.item", payload: { i: 37 } };
    const created = await c.events.bulkCreate(items);
    assert.equal(created.requestIds.length, 3);
    assert.equal(created.successful.length, 59);
    assert.deepEqual(created.failed.map((f) => f.index), [37]);
    assert.equal(created.failed[0].error.code, "validation_error");
    for (const s of created.successful) assert.equal(s.event.payload.i, s.index);
    const ids = created.successful.map((s) => s.event.event_id);

    // Replaying the same items (the generated keys are per call, so use explicit ones) replays.
    const keyed = [0, 1].map((i) => ({ source: src, event_type: "bulk.keyed", payload: { i }, idempotency_key: `${RUN}-bulk-${i}` }));
    const k1 = await c.events.bulkCreate(keyed);
    const k2 = await c.events.bulkCreate(keyed);
    assert.deepEqual(k2.successful.map((s) => [s.event.event_id, s.replayed]), k1.successful.map((s) => [s.event.event_id, true]));

    const ackIds = [...ids.slice(0, 30), "evt_01JD8ZK3ABCDEFGHJKMNPQRSTV"];
    const acked = await c.events.bulkAck(ackIds);
    assert.equal(acked.successful.length, 30);
    assert.deepEqual(acked.failed.map((f) => [f.index, f.error.code]), [[30, "not_found"]]);
    const again = await c.events.bulkAck(ids.slice(0, 2));
    assert.deepEqual(again.failed.map((f) => f.error.code), ["already_acknowledged", "already_acknowledged"]);

    const deleted = await c.events.bulkDelete([...ids, ...k1.successful.map((s) => s.event.event_id)]);
    assert.equal(deleted.successful.length, 61);
    assert.deepEqual(deleted.failed, []);
    assert.deepEqual(await collect(c.inbox.iterate({ source: src })), []);
  });

  it("api keys: create, get, list, update, rotate, revoke; a non-admin key is refused", async () => {
    const made = await c.apiKeys.create({ name: `${RUN} worker`, rate_limit: 500 });
    assert.match(made.key_id, /^key_/);
    assert.match(made.secret, /^tk_/);
    assert.equal(made.signing_secret, null);
    assert.equal(made.admin, false);
    const got = await c.apiKeys.get(made.key_id);
    assert.equal(got.name, `${RUN} worker`);
    assert.equal(got.secret, undefined, "no secret after create");
    const listed = await collect(c.apiKeys.iterate({ limit: 1 }));
    assert.ok(listed.some((k) => k.key_id === made.key_id));
    const page = await c.apiKeys.list({ limit: 1 });
    assert.equal(page.items.length, 1);
    const updated = await c.apiKeys.update(made.key_id, { name: `${RUN} renamed`, rate_limit: null, allowed_ips: ["127.0.0.1"] });
    assert.equal(updated.name, `${RUN} renamed`);
    assert.equal(updated.rate_limit, null);
    assert.deepEqual(updated.allowed_ips, ["127.0.0.1/32"]);

    const worker = new TriggersClient({ baseUrl: API_URL, apiKey: made.secret });
    const refused = await worker.apiKeys.list().catch((e) => e);
    assert.ok(refused instanceof PermissionError);
    assert.equal(refused.code, "forbidden");
    await worker.inbox.list({ limit: 1 });

    const rotated = await c.apiKeys.rotate(made.key_id, { grace_period_seconds: 0 });
    assert.match(rotated.secret, /^tk_/);
    assert.notEqual(rotated.secret, made.secret);
    await new TriggersClient({ baseUrl: API_URL, apiKey: rotated.secret }).inbox.list({ limit: 1 });
    const old = await worker.inbox.list({ limit: 1 }).catch((e) => e);
    assert.ok(old instanceof AuthenticationError);
    assert.equal(old.code, "unauthorized");

    assert.equal((await c.apiKeys.revoke(made.key_id)).status, 204);
    assert.equal((await c.apiKeys.revoke(made.key_id)).status, 204);
    assert.equal((await c.apiKeys.get(made.key_id)).status, "revoked");
    const conflict = await c.apiKeys.rotate(made.key_id).catch((e) => e);
    assert.ok(conflict instanceof ConflictError);
    assert.equal(conflict.code, "conflict");
  });

  it("request signing: a signing key works with the signing client; unsigned or wrongly signed is 401", async () => {
    const key = await c.apiKeys.create({ name: `${RUN} signer`, signing: true });
    assert.match(key.signing_secret, /^tsig_/);
    const signed = new TriggersClient({ baseUrl: API_URL, apiKey: key.secret, signingSecret: key.signing_secret });
    const src = source("signed");
    const event = await signed.events.create({ source: src, event_type: "signed.thing", payload: { text: "Grüße 東京" } });
    assert.equal((await signed.events.get(event.event_id)).event_id, event.event_id);
    const page = await signed.inbox.list({ source: src, metadata: { "x y": "a b" }, created_after: "2020-01-01T00:00:00Z", limit: 5 });
    assert.deepEqual(page.items, []);
    assert.equal((await signed.events.bulkAck([event.event_id])).successful.length, 1);

    const unsigned = await new TriggersClient({ baseUrl: API_URL, apiKey: key.secret }).events.get(event.event_id).catch((e) => e);
    assert.ok(unsigned instanceof AuthenticationError);
    assert.equal(unsigned.code, "signature_invalid");
    const wrong = new TriggersClient({ baseUrl: API_URL, apiKey: key.secret, signingSecret: "tsig_not_the_right_one" });
    const err = await wrong.events.get(event.event_id).catch((e) => e);
    assert.ok(err instanceof AuthenticationError);
    assert.equal(err.status, 401);
    assert.equal(err.code, "signature_invalid");
    assert.match(err.requestId, /\S/);

    const rotated = await c.apiKeys.rotate(key.key_id, { grace_period_seconds: 0 });
    assert.match(rotated.signing_secret, /^tsig_/);
    const resigned = new TriggersClient({ baseUrl: API_URL, apiKey: rotated.secret, signingSecret: rotated.signing_secret });
    assert.equal((await resigned.events.get(event.event_id)).status, "acknowledged");
  });

  it("rate limits: a 429 carries the rate-limit state; the retrying client waits it out", async () => {
    const key = await c.apiKeys.create({ name: `${RUN} tiny`, rate_limit: 60 });
    const noRetry = new TriggersClient({ baseUrl: API_URL, apiKey: key.secret, maxRetries: 0 });
    let limited;
    for (let i = 0; i < 400 && !limited; i++) {
      limited = await noRetry.inbox.list({ limit: 1 }).then(() => undefined, (e) => e);
    }
    assert.ok(limited instanceof RateLimitError, `no 429 after 400 calls: ${limited}`);
    assert.equal(limited.status, 429);
    assert.equal(limited.code, "rate_limited");
    assert.equal(limited.rateLimit.limit, 60);
    assert.equal(limited.rateLimit.remaining, 0);
    assert.ok(limited.rateLimit.retryAfter >= 1);
    assert.ok(limited.rateLimit.reset > Date.now() / 1000 - 5);
    const retrying = new TriggersClient({ baseUrl: API_URL, apiKey: key.secret, maxRetries: 5 });
    // A token may have come back since the 429 (one a second): each call that gets through
    // first time spends it, until one meets a 429 and must wait it out.
    let page;
    let started;
    for (let i = 0; i < 10; i++) {
      started = Date.now();
      page = await retrying.inbox.list({ limit: 1 });
      if (page.lastResponse.attempts >= 2) break;
    }
    assert.ok(page.lastResponse.attempts >= 2, `attempts ${page.lastResponse.attempts}`);
    assert.ok(Date.now() - started >= 900, "waited Retry-After");
  });

  describe("webhooks", () => {
    const received = [];
    let server;
    let url;
    before(async () => {
      server = createServer((req, res) => {
        const chunks = [];
        req.on("data", (ch) => chunks.push(ch));
        req.on("end", () => {
          received.push({ headers: req.headers, body: Buffer.concat(chunks) });
          res.writeHead(204).end();
        });
      });
      await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
      url = `http://127.0.0.1:${server.address().port}/hooks`;
    });
    after(() => server?.close());

    it("CRUD, test delivery verified, event delivery, deliveries log, replay, rotate-secret", async () => {
      const src = source("webhooks");
      const wh = await c.webhooks.create({ url, sources: [src], description: "sdk live test" });
      assert.match(wh.webhook_id, /^wh_/);
      assert.match(wh.secret, /^whsec_/);
      assert.equal(wh.status, "active");
      assert.equal((await c.webhooks.get(wh.webhook_id)).url, url);
      assert.ok((await collect(c.webhooks.iterate({ limit: 1 }))).some((w) => w.webhook_id === wh.webhook_id));
      assert.ok((await c.webhooks.list()).items.length >= 1);
      const updated = await c.webhooks.update(wh.webhook_id, { description: "renamed" });
      assert.equal(updated.description, "renamed");

      const verifier = new Webhook(wh.secret);
      const verifiedOf = async (pred) => {
        for (const r of received) {
          const v = await verifier.verify(r.body, r.headers).catch(() => null);
          if (v && pred(v)) return v;
        }
        return null;
      };

      const test = await c.webhooks.test(wh.webhook_id);
      assert.equal(test.kind, "test");
      assert.equal(test.lastResponse.status, 202);
      const t = await eventually("the test delivery", () => verifiedOf((v) => v.payload.type === "webhook.test"));
      assert.equal(t.id, test.delivery_id);
      assert.ok(isWebhookTest(t.payload));
      assert.equal(t.payload.data.webhook_id, wh.webhook_id);

      const event = await c.events.create({ source: src, event_type: "hook.thing", payload: { x: 1 } });
      const delivered = await eventually("the event delivery", () => verifiedOf((v) => v.payload.data?.event_id === event.event_id));
      assert.equal(delivered.payload.type, "hook.thing");
      assert.ok(isEventDelivery(delivered.payload) && !isWebhookTest(delivered.payload));
      assert.deepEqual(delivered.payload.data, { ...event });
      // A tampered copy fails verification.
      const raw = received.find((r) => r.headers["webhook-id"] === delivered.id);
      await assert.rejects(verifier.verify(Buffer.concat([raw.body, Buffer.from(" ")]), raw.headers), WebhookVerificationError);

      const deliveries = await eventually("the deliveries log", async () => {
        const all = await collect(c.webhooks.iterateDeliveries(wh.webhook_id, { limit: 1 }));
        return all.some((d) => d.event_id === event.event_id && d.status === "succeeded") ? all : null;
      });
      assert.ok(deliveries.some((d) => d.kind === "test"));
      const succeeded = await c.webhooks.deliveries(wh.webhook_id, { status: "succeeded" });
      assert.ok(succeeded.items.every((d) => d.status === "succeeded"));

      const replay = await c.webhooks.replay(wh.webhook_id, { since: new Date(Date.parse(event.created_at) - 1000) });
      assert.equal(replay.queued, 1);
      await eventually("the replayed delivery", async () => {
        const n = [];
        for (const r of received) {
          const v = await verifier.verify(r.body, r.headers).catch(() => null);
          if (v?.payload.data?.event_id === event.event_id) n.push(v.id);
        }
        return new Set(n).size >= 2;
      });

      const rotated = await c.webhooks.rotateSecret(wh.webhook_id, { grace_period_seconds: 3600 });
      assert.match(rotated.secret, /^whsec_/);
      assert.ok(rotated.previous_secret_expires_at);
      await c.webhooks.test(wh.webhook_id);
      const count = received.length;
      await eventually("a delivery after the rotation", () => received.length > count);
      const last = received.at(-1);
      await new Webhook(rotated.secret).verify(last.body, last.headers);
      await new Webhook(wh.secret).verify(last.body, last.headers); // the old one, in its grace period

      assert.equal((await c.webhooks.delete(wh.webhook_id)).status, 204);
      await assert.rejects(c.webhooks.get(wh.webhook_id), NotFoundError);
    });
  });

  it("analytics: summary, timeseries, export as CSV and JSON", async () => {
    const src = source("analytics");
    await c.events.create({ source: src, event_type: "counted", payload: {} });
    const summary = await eventually("the event in the summary", async () => {
      const s = await c.analytics.summary();
      return s.by_source.some((x) => x.source === src && x.ingested === 1) ? s : null;
    });
    assert.ok(summary.totals.ingested >= 1);
    const now = new Date();
    const from = new Date(now.getTime() - 10 * 60_000);
    const ts = await c.analytics.timeseries({ granularity: "minute", from, to: now, source: src });
    assert.equal(ts.granularity, "minute");
    assert.equal(ts.buckets.reduce((n, b) => n + b.count, 0), 1);
    const json = await c.analytics.exportJson({ granularity: "minute", from, to: now });
    assert.ok(json.rows.some((r) => r.source === src && r.count === 1));
    const csv = await c.analytics.exportCsv({ granularity: "minute", from, to: now });
    assert.ok(csv.csv.startsWith("start,source,event_type,count,"));
    assert.ok(csv.csv.includes(src));
    assert.match(csv.filename, /^triggers-analytics-/);
    const bad = await c.analytics.summary({ from: "yesterday" }).catch((e) => e);
    assert.ok(bad instanceof InvalidRequestError);
    assert.equal(bad.details[0].field, "from");
  });

  describe("examples/javascript", () => {
    const dir = fileURLToPath(new URL("../../../examples/javascript/", import.meta.url));
    const run = (script, args, env, { timeoutMs = 60_000 } = {}) =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [script, ...args], {
          cwd: dir,
          env: { ...process.env, TRIGGERS_API_URL: API_URL, TRIGGERS_API_KEY: ADMIN_KEY, ...env },
        });
        let out = "";
        let err = "";
        child.stdout.on("data", (d) => (out += d));
        child.stderr.on("data", (d) => (err += d));
        const timer = setTimeout(() => child.kill(), timeoutMs);
        child.on("close", (code) => {
          clearTimeout(timer);
          if (code !== 0) reject(new Error(`${script} exited ${code}: ${err}`));
          else resolve(out.trim().split("\n").map((l) => JSON.parse(l)));
        });
      });

    it("producer creates events, the consumer handles and acks them", async () => {
      const src = source("example");
      const produced = await run("producer.mjs", ["4"], { SOURCE: src, RUN_ID: RUN });
      const ids = produced.at(-1).created;
      assert.equal(ids.length, 4);
      for (const id of ids) assert.equal((await c.events.get(id)).status, "pending");
      const rerun = await run("producer.mjs", ["4"], { SOURCE: src, RUN_ID: RUN });
      assert.deepEqual(rerun.at(-1).created, ids, "idempotency keys: a re-run creates nothing new");
      assert.ok(rerun.slice(0, 4).every((l) => l.replayed === true));

      const consumed = await run("inbox-consumer.mjs", [], { SOURCE: src });
      assert.deepEqual(consumed.at(-1).acknowledged.sort(), [...ids].sort());
      assert.equal(consumed.filter((l) => l.handled && typeof l.handled === "string").length, 4);
      for (const id of ids) assert.equal((await c.events.get(id)).status, "acknowledged");
      assert.deepEqual(await collect(c.inbox.iterate({ source: src })), []);
    });

    it("the webhook receiver verifies a real delivery and rejects a tampered one", async () => {
      const port = await new Promise((resolve) => {
        const probe = createServer().listen(0, "127.0.0.1", () => {
          const p = probe.address().port;
          probe.close(() => resolve(p));
        });
      });
      const child = spawn(process.execPath, ["webhook-receiver.mjs", "--register"], {
        cwd: dir,
        env: { ...process.env, TRIGGERS_API_URL: API_URL, TRIGGERS_API_KEY: ADMIN_KEY, PORT: String(port) },
      });
      const lines = [];
      let buffer = "";
      let stderr = "";
      child.stdout.on("data", (d) => {
        buffer += d;
        const parts = buffer.split("\n");
        buffer = parts.pop();
        for (const p of parts) if (p.trim()) lines.push(JSON.parse(p));
      });
      child.stderr.on("data", (d) => (stderr += d));
      try {
        const ready = await eventually("the receiver to listen", () => lines.find((l) => l.listening), 20_000).catch((e) => {
          throw new Error(`${e.message}; stderr: ${stderr}`);
        });
        assert.equal(ready.listening, `http://127.0.0.1:${port}/hooks`);
        const webhookId = ready.webhook_id;
        const test = await c.webhooks.test(webhookId);
        const ok = await eventually("a verified delivery", () => lines.find((l) => l.verified === test.delivery_id));
        assert.equal(ok.type, "webhook.test");
        const tampered = await fetch(ready.listening, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "webhook-id": "msg_tampered",
            "webhook-timestamp": String(Math.floor(Date.now() / 1000)),
            "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
          },
          body: JSON.stringify({ type: "evil", data: {} }),
        });
        assert.equal(tampered.status, 400);
        const rejected = await eventually("the rejection line", () => lines.find((l) => l.rejected === "msg_tampered"));
        assert.match(rejected.reason, /no matching signature/);
        await c.webhooks.delete(webhookId);
      } finally {
        child.kill("SIGTERM");
      }
    });
  });
});
