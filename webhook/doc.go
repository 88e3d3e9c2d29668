// Package webhook delivers the change feed (CHANGES, SPEC.md §4.3) to an
// HTTP receiver: a mailer, an SMS gateway or a push service that acts when
// someone enters or leaves a segment.
//
// A Webhook reads the feed through the query executor — the statement
// CHANGES AFTER <cursor> LIMIT <batch> BLOCK <ms> [KINDS ...] [SEGMENTS ...]
// [FIELDS ...] — and POSTs each page it gets as one JSON batch:
//
//	{"entries":[{"cursor":7,"time":"2026-11-10T12:00:00.000Z","kind":"segment.entered",...}, ...]}
//
// The guarantees, and why they hold:
//
//   - In order, at least once. The next batch is read only after the
//     receiver answered the current one with a 2xx; a failure (a refused
//     connection, a timeout, any other status, a redirect) is retried with
//     the same entries after an exponential backoff (1 s doubling up to
//     5 min by default, each wait drawn between half and all of its step).
//     A receiver de-duplicates by the entries' cursors.
//   - Durable progress. After each 2xx the last cursor of the batch is
//     recorded in the store (engine.DB.SetCursor, consumer "webhook:" +
//     the webhook's name); a restart resumes after it. The only batch a
//     crash can make the receiver see twice is the one in flight when it
//     happened. A webhook seen for the first time starts after the latest
//     entry at that moment, and records that cursor at once (Open), so that
//     nothing committed after Open is missed even if the process dies
//     before the first delivery.
//   - Nothing lost within retention. The feed keeps entries for the store's
//     retention (engine.Options.ChangesRetention, default 7 days): a
//     receiver that is down for less than that loses nothing. A cursor
//     older than the oldest entry kept is logged at error level, naming the
//     gap, and delivery resumes from the oldest entry kept.
//   - Signed. With a secret, every request carries X-Idgraph-Timestamp (Unix
//     seconds) and X-Idgraph-Signature: sha256=<hex HMAC-SHA256 of the
//     timestamp, a dot and the body>. A receiver recomputes it (Verify does)
//     and refuses a timestamp too far from its clock, so that a captured
//     request cannot be replayed later. Each attempt is signed afresh.
//
// One goroutine, the one calling Run, owns the delivery state; the figures
// Stats reports are atomics it updates.
package webhook
