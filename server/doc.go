// Package server serves the idgraph query language over TCP in the Redis
// serialization protocol, so that redis-cli, redis-benchmark and any Redis
// client library can talk to idgraph.
//
// A Server answers the connection-level commands itself — PING, ECHO, AUTH,
// HELLO, QUIT, CLIENT (SETNAME, GETNAME, ID, SETINFO, INFO), COMMAND (plain,
// COUNT, DOCS, INFO), SELECT 0, CONFIG GET (which knows only "save" and
// "appendonly", for redis-benchmark) and INFO — and hands every other
// command to an Executor, with a query.Session per connection
// that carries the client's name and whether it logged in read-only.
//
// # Protocol
//
// Connections start in RESP2; HELLO 3 switches one to RESP3. Commands arrive
// as RESP arrays of bulk strings or as inline lines (split like redis-server
// does: blanks, "double quotes" with escapes, 'single quotes'). Pipelined
// commands are answered in order, and replies are flushed when the client
// has nothing more buffered. In RESP2 a map reply is a flat array of key,
// value, a boolean is the integer 0 or 1, a double a bulk string and nil the
// null bulk string; RESP3 uses its own map, boolean, double and null types.
//
// # Guarantees
//
//   - Limits are enforced before buffering: the argument count, each bulk
//     length, the running total of the command's bytes and the inline line
//     length are checked against MaxArgs, MaxBulkLen, MaxCommandBytes and
//     MaxInlineLen (PreAuthMaxArgs and PreAuthMaxBulk before AUTH when a
//     password is set) as soon as their header is read, so a "$2147483647"
//     header, or 300 headers of 1 MiB each, cost nothing. A client that breaks a limit gets
//     "ERR TOOLARGE ..." and one that sends garbage "ERR SYNTAX Protocol
//     error: ...", and is disconnected; the server and the other clients
//     carry on. A frame cut short by the client's leaving is dropped.
//   - A connection must deliver each whole frame within IdleTimeout of
//     starting to wait for it (the same deadline bounds flushing replies),
//     so idle and slow-loris clients are closed. At most MaxClients
//     connections are served; more get "ERR max number of clients reached".
//   - Replies are bounded per client (OutputLimit, as Redis's
//     client-output-buffer-limit): a connection runs its next command only
//     once the previous reply is handed to the socket, each reply streams
//     from the executor's value to the socket through an 8 KiB buffer, a
//     reply over the hard limit closes the connection (after an ERR
//     TOOLARGE), and one whose unsent bytes stay above the soft limit for
//     the soft time closes it too. Both are logged at Warn and counted.
//   - Failed logins are slowed down per connection (each consecutive
//     failure after the first waits twice as long, 100 ms up to 5 s, in
//     the connection's goroutine, holding no lock), and their log lines are
//     rate-limited (a burst of 10, then one a second, with the count of
//     those left out).
//   - With a Password set, only AUTH, HELLO, PING and QUIT are allowed before
//     authentication ("ERR NOAUTH Authentication required."). The "reader"
//     user (ReadOnlyPassword) gets read-only sessions. Without a password the
//     server refuses a non-loopback address (protected mode).
//   - Shutdown stops accepting, lets commands in flight finish and reply, and
//     closes every connection; commands already sent but not yet read are
//     not run.
//   - A panic in the Executor is logged and ends that connection only.
//
// # Observability
//
// Connections are logged at Debug, limit violations and failed logins at
// Warn, through Options.Logger. INFO reports the server, clients, stats (with
// per-command calls, time and failures) and store sections. With
// Options.MetricsRegistry set, the server registers these Prometheus
// collectors, and the caller serves them (promhttp.HandlerFor):
//
//	idgraph_server_commands_total{command}          counter
//	idgraph_server_command_errors_total{command}    counter
//	idgraph_server_command_duration_seconds{command} histogram
//	idgraph_server_connected_clients                gauge
//	idgraph_server_rejected_clients_total{reason}   counter (maxclients, limit, output)
//
// The command label is the lower-cased first word for the commands idgraph
// knows and "other" for anything else, so clients cannot grow the label set.
package server
