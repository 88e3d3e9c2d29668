// Package httpapi serves idgraph over HTTP (SPEC.md §7), beside the Redis
// protocol: Segment's tracking API, so the SDKs shops already run send
// their events to idgraph unchanged, and a JSON API over the query
// language for applications.
//
// # Tracking API
//
// POST /v1/identify, /v1/track, /v1/page, /v1/screen, /v1/alias, /v1/group
// take one Segment-spec call; POST /v1/batch takes {"batch": [call, ...]}
// with an optional batch-level "sentAt" and "context" (merged under each
// call's own). The browser's analytics.js posts to one-letter paths
// (/v1/t, /v1/i, /v1/p, /v1/s, /v1/a, /v1/g, and /v1/b when batching):
// they are the same endpoints. Each call is mapped by load.SegmentCall, the function
// `idgraph load` uses for Segment lines, so a live call and a line of an
// export give the same record.
//
// Guarantees:
//
//   - Authentication: with Options.WriteKeys, a call needs a known write
//     key, as the Basic-auth user name (Segment's way; the password is
//     ignored) or as "writeKey" in the body; the key's source names the
//     channel of everything it sends. A missing or unknown key is 401.
//     Without write keys, any call is taken, with source "segment", and
//     only a loopback address may be served.
//   - Limits are enforced while reading, before a call is buffered:
//     MaxCallBytes (32 KB) per call and MaxRequestBytes (500 KB) per
//     request. A body is read as a stream; no more than one call (or one
//     other batch-level value) is held beyond the read buffer.
//   - Validate, then apply: every call of a request is read and mapped
//     first; bad JSON, an oversized call or request, a call without any
//     identifier, a track without "event" … is answered 400 with an
//     "error" naming the call ("batch[3]: no identifiers: ...") and nothing
//     of the request is applied. The engine checks some things the mapping
//     cannot (a malformed identifier value, too many traits, an event name
//     over 128 bytes): the engine does not yet export validators to check
//     them beforehand, so such a call is refused on its own with 400 naming
//     it, and the reply says how many of the request's other calls were
//     applied.
//   - Acknowledged after the commit: the calls of one request go to the
//     engine in one Apply (one submission to the single writer, which
//     groups concurrent requests into shared commits), and 200
//     {"success":true} is sent only once it returns.
//   - Idempotent: a call whose "messageId" was applied within the engine's
//     DedupWindow (24 hours by default, durable across restarts) is
//     acknowledged and not applied again, so an SDK that retries after a
//     lost reply never counts an event twice.
//   - Times: "timestamp"; else "originalTimestamp" corrected for the
//     device's clock as Segment does, receivedAt − (sentAt −
//     originalTimestamp), with the call's or the batch's "sentAt"; else
//     the time the request was received. A client's "receivedAt" is
//     ignored.
//   - Browsers: the tracking API answers CORS preflights and allows any
//     origin, as analytics.js needs; the write key authorises a call.
//
// # JSON API
//
// GET /v1/profiles/{id} (WHO; 404 when no profile holds the identifier),
// GET /v1/profiles/{id}/timeline, GET /v1/profiles/{id}/why/{other},
// GET /v1/profiles/{id}/graph (GRAPH),
// GET /v1/segments/{name}/export?fields=… and POST /v1/query (one statement
// in the body) run statements through a query.Executor, so their replies
// are the maps RESP sends, converted by query.Value.JSON, and their errors
// carry the RESP codes ({"error": "ERR BADID ...", "code": "BADID"}).
// Identifiers in paths are URL-encoded (email:ann%40example.com).
// With Options.Password, requests need "Authorization: Bearer <password>";
// the ReadOnlyPassword user's sessions are read-only, so a write through
// /v1/query is 403 ERR READONLY. GET /v1/openapi.json is the hand-written
// OpenAPI document of every route; a test keeps it and the routes equal.
//
// # Protection
//
// New refuses a non-loopback address unless write keys and a password are
// both set, as the RESP server refuses one without a password; Serve
// checks its listener the same way. At most MaxConcurrent requests are
// handled at once (more get 503 and Retry-After); headers must arrive
// within ReadHeaderTimeout and the whole request within ReadTimeout, so
// slow clients are cut off; a request's work is bounded by RequestTimeout.
// TLSConfig makes the server speak HTTPS only.
//
// # Console
//
// The web console (package console) is served at / with the same users
// (console.go). Everything but the tracking API is behind console.Guard:
// writes a browser marks as cross-origin, and writes with a cookie but no
// Authorization, are refused (403 CSRF); without a password, requests for
// a Host that is not a loopback name are refused (403 FORBIDDEN, against
// DNS rebinding). JSON API replies carry Cache-Control: no-store.
package httpapi
