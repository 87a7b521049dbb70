// Package triggers is the Go client of the Triggers API: events, the inbox, bulk operations,
// API keys, webhooks (management and signature verification) and analytics.
//
// Every call takes a [context.Context] first and goes through one [net/http] client. Calls are
// retried with exponential backoff and full jitter on connection errors, timeouts, 429 and
// 502/503/504 (honouring Retry-After) when they are safe to repeat, within a bounded number of
// attempts and a total deadline; see [RetryPolicy]. Event creation sends an automatically
// generated Idempotency-Key that every retry reuses, so a retry never creates a duplicate.
//
// A [Client] holds no global state and is safe for concurrent use by many goroutines; make one
// per API key and share it.
//
// The types of the contract (Event, EventCreate, WebhookOut, ...) are generated from the API's
// OpenAPI document by oapi-codegen (models.gen.go); the client is written by hand on top.
package triggers
