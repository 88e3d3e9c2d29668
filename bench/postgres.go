package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresServer is a throwaway PostgreSQL cluster in a temporary
// directory, on a free loopback port, started with Debian's binaries
// (/usr/lib/postgresql/<version>/bin). As root it runs as the postgres
// user (through runuser), since PostgreSQL refuses to run as root.
//
// The cluster trades durability for speed as idgraph's benchmark does
// (SyncWrites off): fsync, synchronous_commit and full_page_writes are off.
type PostgresServer struct {
	Port  int
	User  string // the database superuser ("bench"), trust authentication
	dir   string
	bin   string
	runAs string // "" or the user to run as
}

// PostgresBinDir returns the newest /usr/lib/postgresql/*/bin holding
// initdb and pg_ctl, or the directory of initdb on PATH.
func PostgresBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) > pgVersion(dirs[j]) })
	for _, d := range dirs {
		if isFile(filepath.Join(d, "initdb")) && isFile(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("%w: PostgreSQL's initdb not found (apt-get install postgresql)", ErrUnavailable)
}

func pgVersion(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// StartPostgres creates and starts a cluster; Close stops it and removes
// its files.
func StartPostgres(ctx context.Context) (*PostgresServer, error) {
	bin, err := PostgresBinDir()
	if err != nil {
		return nil, err
	}
	s := &PostgresServer{User: "bench", bin: bin}
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("runuser"); err != nil {
			return nil, fmt.Errorf("%w: running as root and runuser not found", ErrUnavailable)
		}
		if _, err := user.Lookup("postgres"); err != nil {
			return nil, fmt.Errorf("%w: running as root and no postgres user to run PostgreSQL as", ErrUnavailable)
		}
		s.runAs = "postgres"
	}
	if s.Port, err = FreePort(); err != nil {
		return nil, err
	}
	if s.dir, err = os.MkdirTemp("", "idgraph-bench-pg-"); err != nil {
		return nil, err
	}
	if s.runAs != "" {
		u, _ := user.Lookup(s.runAs)
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(s.dir, uid, gid); err != nil {
			os.RemoveAll(s.dir)
			return nil, fmt.Errorf("chown %s: %w", s.dir, err)
		}
	}
	data := filepath.Join(s.dir, "data")
	if err := s.run(ctx, "initdb", "-D", data, "-U", s.User, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		os.RemoveAll(s.dir)
		return nil, err
	}
	opts := strings.Join([]string{
		"-p", strconv.Itoa(s.Port), "-k", s.dir, "-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "shared_buffers=512MB", "-c", "work_mem=64MB", "-c", "maintenance_work_mem=512MB",
		"-c", "max_wal_size=8GB", "-c", "checkpoint_timeout=30min",
	}, " ")
	if err := s.run(ctx, "pg_ctl", "-D", data, "-l", filepath.Join(s.dir, "log"), "-w", "-t", "60", "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		os.RemoveAll(s.dir)
		return nil, fmt.Errorf("%w\n%s", err, log)
	}
	return s, nil
}

// run runs one of the cluster's binaries as the cluster's user.
func (s *PostgresServer) run(ctx context.Context, name string, args ...string) error {
	path := filepath.Join(s.bin, name)
	var cmd *exec.Cmd
	if s.runAs != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", s.runAs, "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.Dir = s.dir // the cluster's user may not be able to enter ours
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// ConnString returns a pgx connection string for the cluster.
func (s *PostgresServer) ConnString() string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/postgres?sslmode=disable", s.User, s.Port)
}

// Close stops the cluster (fast shutdown) and removes its files.
func (s *PostgresServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := s.run(ctx, "pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "fast", "-w", "stop")
	if rmErr := os.RemoveAll(s.dir); err == nil {
		err = rmErr
	}
	return err
}

// PostgresConfig sets up the PostgreSQL baseline.
type PostgresConfig struct {
	// Path is the NDJSON file to load (as written by Generate).
	Path string
	// Truth, when set, scores the SQL stitching's partition.
	Truth *Truth
	// QueryRuns is how many times the segment query is timed (default 21,
	// after one warm-up run).
	QueryRuns int
	// Now is the segment query's "now" (default: the last event's time).
	Now time.Time
}

// PostgresResult is the SQL baseline: loading the events, stitching
// identities by label propagation, and the abandoned-cart segment.
type PostgresResult struct {
	Lines       int     `json:"lines"`
	Identifiers int     `json:"identifiers"`
	Edges       int     `json:"edges"` // co-occurrence rows loaded (a star per record)
	Events      int     `json:"events"`
	LoadSeconds float64 `json:"load_seconds"` // read and parse the file, COPY, index

	StitchSeconds    float64 `json:"stitch_seconds"` // distinct edges, label propagation, label index
	StitchIterations int     `json:"stitch_iterations"`
	Profiles         int     `json:"profiles"`

	Segment     string        `json:"segment"`
	SegmentNow  time.Time     `json:"segment_now"`
	SegmentSize int64         `json:"segment_size"`
	QueryP50    time.Duration `json:"query_p50_ns"`
	QueryP99    time.Duration `json:"query_p99_ns"`
	QueryRuns   int           `json:"query_runs"`

	// The property-filtered segment (PhonesOver500SQL), timed as above.
	PropSegmentSize int64         `json:"prop_segment_size"`
	PropQueryP50    time.Duration `json:"prop_query_p50_ns"`
	PropQueryP99    time.Duration `json:"prop_query_p99_ns"`

	Accuracy *Accuracy `json:"accuracy,omitempty"`
}

// Workloads returns the result as report baselines: "postgres-load"
// (events/s), "postgres-stitch" (identifiers/s),
// "postgres-abandoned-cart" and "postgres-phones-over-500" (queries/s, with
// latencies).
func (r PostgresResult) Workloads() []Workload {
	q := Workload{Name: "postgres-abandoned-cart", Unit: "queries", Ops: int64(r.QueryRuns), P50: r.QueryP50, P99: r.QueryP99,
		Note: fmt.Sprintf("%d profiles match; p99.9 not measured", r.SegmentSize)}
	if r.QueryP50 > 0 {
		q.Throughput = 1 / r.QueryP50.Seconds()
		q.Seconds = r.QueryP50.Seconds() * float64(r.QueryRuns)
	}
	pq := Workload{Name: "postgres-phones-over-500", Unit: "queries", Ops: int64(r.QueryRuns), P50: r.PropQueryP50, P99: r.PropQueryP99,
		Note: fmt.Sprintf("%d profiles match; props as jsonb with an index on (name, props->>'category', time)", r.PropSegmentSize)}
	if r.PropQueryP50 > 0 {
		pq.Throughput = 1 / r.PropQueryP50.Seconds()
		pq.Seconds = r.PropQueryP50.Seconds() * float64(r.QueryRuns)
	}
	return []Workload{
		{Name: "postgres-load", Unit: "events", Ops: int64(r.Events), Seconds: r.LoadSeconds, Throughput: per(r.Events, r.LoadSeconds),
			Note: fmt.Sprintf("%d lines → %d identifiers, %d edge rows; COPY into unlogged tables, then indexes", r.Lines, r.Identifiers, r.Edges)},
		{Name: "postgres-stitch", Unit: "identifiers", Ops: int64(r.Identifiers), Seconds: r.StitchSeconds, Throughput: per(r.Identifiers, r.StitchSeconds),
			Note: fmt.Sprintf("label propagation, %d iterations, %d profiles", r.StitchIterations, r.Profiles)},
		q, pq,
	}
}

func per(n int, secs float64) float64 {
	if secs <= 0 {
		return 0
	}
	return float64(n) / secs
}

// AbandonedCartSQL is the segment "DID add_to_cart WITHIN 7d AND NOT DID
// purchase WITHIN 7d AND HAS email AND CONSENT email" over the stitched
// tables, as one would write it: $1 is the start of the window (the start
// of the UTC day six days before now), $2 is now.
const AbandonedCartSQL = `
SELECT count(*) FROM (
  SELECT DISTINCT i.label
  FROM events e JOIN identifiers i ON i.id = e.identifier
  WHERE e.name = 'add_to_cart' AND e.time >= $1 AND e.time <= $2
) c
WHERE NOT EXISTS (
    SELECT 1 FROM identifiers x JOIN events p ON p.identifier = x.id
    WHERE x.label = c.label AND p.name = 'purchase' AND p.time >= $1 AND p.time <= $2)
  AND EXISTS (
    SELECT 1 FROM identifiers x WHERE x.label = c.label AND x.value LIKE 'email:%')
  AND (SELECT k.granted FROM consent k JOIN identifiers x ON x.id = k.identifier
       WHERE x.label = c.label AND k.purpose = 'email' AND k.time <= $2
       ORDER BY k.time DESC LIMIT 1) IS TRUE`

// PhonesOver500SQL is the segment PhonesOver500 over the stitched tables:
// $1 is the start of the UTC day 89 days before now, $2 is now.
const PhonesOver500SQL = `
SELECT count(DISTINCT i.label)
FROM events e JOIN identifiers i ON i.id = e.identifier
WHERE e.name = 'purchase' AND e.time >= $1 AND e.time <= $2
  AND e.props->>'category' = 'phones' AND (e.props->>'amount')::numeric > 500`

const pgSchema = `
CREATE UNLOGGED TABLE identifiers (id bigint PRIMARY KEY, value text NOT NULL);
CREATE UNLOGGED TABLE edges (a bigint NOT NULL, b bigint NOT NULL);
CREATE UNLOGGED TABLE events (identifier bigint NOT NULL, name text NOT NULL, time timestamptz NOT NULL, props jsonb);
CREATE UNLOGGED TABLE consent (identifier bigint NOT NULL, purpose text NOT NULL, granted boolean NOT NULL, time timestamptz NOT NULL);`

const pgLoadIndexes = `
CREATE INDEX events_name_time ON events (name, time);
CREATE INDEX events_identifier ON events (identifier, name, time);
CREATE INDEX events_category ON events (name, (props->>'category'), time);
CREATE INDEX consent_identifier ON consent (identifier, purpose, time);
ANALYZE events; ANALYZE consent;`

const pgStitchPrepare = `
CREATE UNLOGGED TABLE links AS
  SELECT DISTINCT a, b FROM (SELECT a, b FROM edges UNION ALL SELECT b, a FROM edges) x WHERE a <> b;
CREATE INDEX links_a ON links (a);
ALTER TABLE identifiers ADD COLUMN label bigint;
UPDATE identifiers SET label = id;
ANALYZE links; ANALYZE identifiers;`

// pgStitchStep lowers each identifier's label to the smallest label of its
// neighbours; repeated until nothing changes, every connected component
// carries its smallest id.
const pgStitchStep = `
UPDATE identifiers i SET label = m.label
FROM (SELECT l.a AS id, min(n.label) AS label
      FROM links l JOIN identifiers n ON n.id = l.b
      GROUP BY l.a) m
WHERE i.id = m.id AND m.label < i.label`

const pgStitchFinish = `CREATE INDEX identifiers_label ON identifiers (label)`

// RunPostgres loads cfg.Path into a throwaway cluster, stitches identities
// with SQL and times the abandoned-cart segment. Identifiers are normalised
// and blocked values dropped on the way in, as a stitching job's blocklist
// would; records keep their co-occurrences as a star from their first
// identifier; an event is stored under its anchor (the identifier of
// highest type priority, SPEC §3).
func RunPostgres(ctx context.Context, cfg PostgresConfig) (PostgresResult, error) {
	var res PostgresResult
	if cfg.QueryRuns <= 0 {
		cfg.QueryRuns = 21
	}
	srv, err := StartPostgres(ctx)
	if err != nil {
		return res, err
	}
	defer srv.Close()
	conn, err := pgx.Connect(ctx, srv.ConnString())
	if err != nil {
		return res, fmt.Errorf("connect to postgres: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, pgSchema); err != nil {
		return res, fmt.Errorf("postgres schema: %w", err)
	}

	// Load.
	start := time.Now()
	data, err := readForSQL(cfg.Path)
	if err != nil {
		return res, err
	}
	res.Lines, res.Identifiers, res.Edges, res.Events = data.lines, len(data.values), len(data.edges), len(data.events)
	copies := []struct {
		table string
		cols  []string
		src   pgx.CopyFromSource
	}{
		{"identifiers", []string{"id", "value"}, rowsOf(len(data.values), 2, func(i int, row []any) {
			row[0], row[1] = int64(i+1), data.values[i]
		})},
		{"edges", []string{"a", "b"}, rowsOf(len(data.edges), 2, func(i int, row []any) {
			row[0], row[1] = data.edges[i][0], data.edges[i][1]
		})},
		{"events", []string{"identifier", "name", "time", "props"}, rowsOf(len(data.events), 4, func(i int, row []any) {
			e := data.events[i]
			row[0], row[1], row[2], row[3] = e.identifier, data.names[e.name], time.UnixMilli(e.time), nil
			if e.props != "" {
				row[3] = e.props
			}
		})},
		{"consent", []string{"identifier", "purpose", "granted", "time"}, rowsOf(len(data.consent), 4, func(i int, row []any) {
			c := data.consent[i]
			row[0], row[1], row[2], row[3] = c.identifier, data.names[c.purpose], c.granted, time.UnixMilli(c.time)
		})},
	}
	for _, c := range copies {
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, c.src); err != nil {
			return res, fmt.Errorf("copy %s: %w", c.table, err)
		}
	}
	if _, err := conn.Exec(ctx, pgLoadIndexes); err != nil {
		return res, fmt.Errorf("postgres indexes: %w", err)
	}
	res.LoadSeconds = time.Since(start).Seconds()

	// Stitch.
	start = time.Now()
	if _, err := conn.Exec(ctx, pgStitchPrepare); err != nil {
		return res, fmt.Errorf("postgres stitch: %w", err)
	}
	for {
		tag, err := conn.Exec(ctx, pgStitchStep)
		if err != nil {
			return res, fmt.Errorf("postgres stitch step %d: %w", res.StitchIterations+1, err)
		}
		res.StitchIterations++
		if tag.RowsAffected() == 0 {
			break
		}
	}
	for _, q := range []string{pgStitchFinish, "VACUUM ANALYZE identifiers"} { // VACUUM must run alone
		if _, err := conn.Exec(ctx, q); err != nil {
			return res, fmt.Errorf("postgres stitch: %w", err)
		}
	}
	res.StitchSeconds = time.Since(start).Seconds()
	if err := conn.QueryRow(ctx, "SELECT count(DISTINCT label) FROM identifiers").Scan(&res.Profiles); err != nil {
		return res, fmt.Errorf("postgres profiles: %w", err)
	}

	if cfg.Truth != nil {
		part := make(map[string]uint64, len(data.values))
		rows, err := conn.Query(ctx, "SELECT value, label FROM identifiers")
		if err != nil {
			return res, fmt.Errorf("postgres partition: %w", err)
		}
		var v string
		var label int64
		_, err = pgx.ForEachRow(rows, []any{&v, &label}, func() error {
			part[v] = uint64(label)
			return nil
		})
		if err != nil {
			return res, fmt.Errorf("postgres partition: %w", err)
		}
		a := ScoreMap(cfg.Truth, part)
		a.Name = "postgres label propagation"
		res.Accuracy = &a
	}

	// Query.
	now := cfg.Now
	if now.IsZero() {
		now = time.UnixMilli(data.last).UTC()
	}
	day := now.UTC().Truncate(24 * time.Hour)
	since := day.AddDate(0, 0, -6)
	res.Segment = AbandonedCart
	res.SegmentNow = now.UTC()
	rec := NewRecorder(0)
	for i := 0; i <= cfg.QueryRuns; i++ {
		t := time.Now()
		var n int64
		if err := conn.QueryRow(ctx, AbandonedCartSQL, since, now).Scan(&n); err != nil {
			return res, fmt.Errorf("abandoned-cart query: %w", err)
		}
		if i > 0 { // the first run warms the caches
			rec.Record(time.Since(t))
		}
		res.SegmentSize = n
	}
	res.QueryRuns = cfg.QueryRuns
	res.QueryP50, res.QueryP99 = rec.Percentile(50), rec.Percentile(99)

	since90 := day.AddDate(0, 0, -89)
	rec = NewRecorder(0)
	for i := 0; i <= cfg.QueryRuns; i++ {
		t := time.Now()
		if err := conn.QueryRow(ctx, PhonesOver500SQL, since90, now).Scan(&res.PropSegmentSize); err != nil {
			return res, fmt.Errorf("phones-over-500 query: %w", err)
		}
		if i > 0 {
			rec.Record(time.Since(t))
		}
	}
	res.PropQueryP50, res.PropQueryP99 = rec.Percentile(50), rec.Percentile(99)
	return res, nil
}

// sqlData is an NDJSON file reduced to rows.
type sqlData struct {
	lines   int
	values  []string // identifier id-1 → "type:value"
	edges   [][2]int64
	events  []sqlEvent
	consent []sqlConsent
	names   []string // event names and purposes, interned
	last    int64    // the latest time seen, Unix ms
}

type sqlEvent struct {
	identifier int64
	name       int32
	time       int64
	props      string // a JSON object, or ""
}

type sqlConsent struct {
	identifier int64
	purpose    int32
	granted    bool
	time       int64
}

// typePriority is SPEC §2's priority of the built-in types; unknown types
// come last.
var typePriority = map[string]int{
	"user": 1, "email": 2, "phone": 3, "device": 4, "push": 5, "webpush": 6, "app": 7,
	"cookie": 8, "idfa": 9, "aaid": 9, "telegram": 10, "serial": 11,
}

func priority(id string) int {
	t, _, _ := strings.Cut(id, ":")
	if p, ok := typePriority[t]; ok {
		return p
	}
	return 100
}

func readForSQL(path string) (*sqlData, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d := &sqlData{}
	ids := make(map[string]int64)
	names := make(map[string]int32)
	intern := func(s string) int32 {
		n, ok := names[s]
		if !ok {
			n = int32(len(d.names))
			names[s] = n
			d.names = append(d.names, s)
		}
		return n
	}
	var norm []string
	err = ReadRecords(f, func(r *Record) error {
		d.lines++
		norm = norm[:0]
		for _, id := range r.IDs {
			n, blocked, ok := Normalize(id)
			if ok && !blocked && !slices.Contains(norm, n) {
				norm = append(norm, n)
			}
		}
		if len(norm) == 0 {
			return nil
		}
		// The anchor first: stable sort by type priority.
		slices.SortStableFunc(norm, func(a, b string) int { return priority(a) - priority(b) })
		var first int64
		for i, n := range norm {
			id, ok := ids[n]
			if !ok {
				d.values = append(d.values, n)
				id = int64(len(d.values))
				ids[n] = id
			}
			if i == 0 {
				first = id
			} else {
				d.edges = append(d.edges, [2]int64{first, id})
			}
		}
		t := r.Time
		d.last = max(d.last, t)
		if r.Event != "" {
			d.events = append(d.events, sqlEvent{first, intern(r.Event), t, string(r.Props)})
		}
		for _, purpose := range slices.Sorted(maps.Keys(r.Consent)) {
			d.consent = append(d.consent, sqlConsent{first, intern(purpose), strings.EqualFold(r.Consent[purpose], "grant"), t})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if d.lines == 0 {
		return nil, errors.New("postgres baseline: empty input")
	}
	return d, nil
}

// rowsOf adapts an indexed row builder to pgx.CopyFromSource, reusing one
// row slice of width columns.
func rowsOf(n, width int, fill func(i int, row []any)) pgx.CopyFromSource {
	return &rowSource{n: n, fill: fill, i: -1, row: make([]any, width)}
}

type rowSource struct {
	n, i int
	fill func(int, []any)
	row  []any
}

func (s *rowSource) Next() bool { s.i++; return s.i < s.n }

func (s *rowSource) Values() ([]any, error) {
	s.fill(s.i, s.row)
	return s.row, nil
}

func (s *rowSource) Err() error { return nil }
