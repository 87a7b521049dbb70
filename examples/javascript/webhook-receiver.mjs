// Webhook receiver (node:http): verifies each delivery's Standard Webhooks signature against the
// RAW body, dedupes on webhook-id (retries reuse it), answers 204; a bad signature gets 400.
// Prints one JSON line per request.
//
//   WEBHOOK_SECRET=whsec_... node webhook-receiver.mjs      (env: PORT default 9000, HOST 127.0.0.1)
//   node webhook-receiver.mjs --register   also registers http://HOST:PORT/hooks as a webhook
//                                          (admin key) and uses the secret it gets back
import { createServer } from "node:http";
import { Webhook, WebhookVerificationError } from "@triggers-api/sdk";
import { makeClient } from "./config.mjs";

const host = process.env.HOST || "127.0.0.1";
const port = Number(process.env.PORT || 9000);
const url = `http://${host}:${port}/hooks`;

let secret = process.env.WEBHOOK_SECRET;
let registered = null;
if (process.argv.includes("--register")) {
  const client = makeClient();
  const webhook = await client.webhooks.create({ url, description: "examples/javascript/webhook-receiver.mjs" });
  secret = webhook.secret;
  registered = webhook.webhook_id;
}
if (!secret) {
  console.error("Set WEBHOOK_SECRET (the whsec_... secret from webhook create), or pass --register.");
  process.exit(2);
}
// Several secrets (comma-separated) verify during a secret rotation's grace period.
const verifier = new Webhook(secret.split(","));
const seen = new Set();

const server = createServer((req, res) => {
  if (req.method !== "POST" || req.url !== "/hooks") {
    res.writeHead(404).end();
    return;
  }
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", async () => {
    const raw = new Uint8Array(Buffer.concat(chunks)); // the raw bytes: verify before parsing
    try {
      const { id, payload } = await verifier.verify(raw, req.headers);
      const duplicate = seen.has(id);
      seen.add(id);
      console.log(JSON.stringify({ verified: id, type: payload.type, event_id: payload.data?.event_id ?? null, duplicate }));
      res.writeHead(204).end();
    } catch (error) {
      if (!(error instanceof WebhookVerificationError)) throw error;
      console.log(JSON.stringify({ rejected: req.headers["webhook-id"] ?? null, reason: error.message }));
      res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ error: error.message }));
    }
  });
});

server.listen(port, host, () => {
  console.log(JSON.stringify({ listening: url, webhook_id: registered }));
});
const shutdown = () => server.close(() => process.exit(0));
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
