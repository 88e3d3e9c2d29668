// Package bench is idgraph's benchmark suite: a synthetic population with
// ground truth, an accuracy metric for resolved profiles, the baselines that
// put our figures in context, and the report that shows them.
//
// The pieces, and where they live:
//
//   - gen.go, population.go: [Generate] writes a year of behaviour of a
//     synthetic population as NDJSON in the project's load format, and
//     returns the ground truth ([Truth]): which person each identifier value
//     belongs to. Same seed, same bytes.
//   - ids.go: the identifier normalisation of SPEC §2, so that the truth, the
//     naive baseline and the SQL baseline all key identifiers the way the
//     engine does.
//   - accuracy.go: [Score] computes pairwise precision, recall and F1 of a
//     partition (identifier → profile) against the truth, and
//     [NaiveComponents] builds the partition that plain connected components
//     of every co-occurrence would give, to show what the rules are worth.
//   - badger.go, redis.go, postgres.go: baselines measured in the same run —
//     raw Badger writes and reads (the floor of our cost), Redis GET through
//     redis-benchmark (against which WHO over TCP is measured), and
//     PostgreSQL doing identity stitching and the abandoned-cart segment the
//     usual SQL way. Each returns [ErrUnavailable] when its server is not
//     installed, so tests and CI skip rather than fail.
//   - linkable.go: [LinkableTruth] refines the truth to the pairs that a
//     chain of one person's own records connects — what any resolver can be
//     asked to recover — since scoring against the full truth caps recall
//     for everyone.
//   - segments.go: the segment expressions the benchmark times
//     ([Segments]), among them [AbandonedCart].
//   - latency.go, report.go, chart.go, summary.go: a latency [Recorder],
//     the [Report] serialised as JSON and rendered as Markdown, charts via
//     gonum/plot, and the terminal summary.
//   - goals.go, proc.go: the claims a run checks ([Goal]: value, target,
//     met or missed and by how much), and the process figures they quote
//     (peak RSS, load average, disk usage).
//
// cmd/baselines runs all of it without the engine (population, naive
// accuracy, baselines, report); install-baselines.sh installs the Debian
// packages the baselines need, idempotently.
//
// Nothing in this package imports the engine: workloads that drive idgraph
// are wired by the command (`idgraph bench`, cmd/idgraph/bench.go) and
// recorded as [Workload]s; bench/RESULTS.md is the report of the last run
// at the default scale, with its charts in bench/results.
package bench
