package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/idgraph/idgraph/query"
)

const (
	readBufSize  = 16 << 10
	writeBufSize = 8 << 10
	// handshakeTimeout bounds a TLS handshake when IdleTimeout does not.
	handshakeTimeout = 10 * time.Second
	// farewellTimeout bounds writing the error that tells a client why it
	// is being disconnected.
	farewellTimeout = time.Second
)

// conn is one client connection. Everything in it is owned by the
// goroutine running serve, except nc, which Shutdown may also touch through
// its goroutine-safe deadline and Close methods.
type conn struct {
	s       *Server
	nc      net.Conn
	id      int64
	created time.Time
	rd      *reader
	w       writer
	out     *outConn // what w flushes into
	sess    *query.Session
	authed  bool
	user    string // "default" or "reader" once authenticated
	libName string
	libVer  string
	failed  bool // the current command's reply is an error
	quit    bool // close once the replies so far are flushed

	authFailures int // consecutive failed AUTH/HELLO AUTH on this connection

	key      []byte        // the reply cache's key of the WHO being answered
	scratch  *bytes.Buffer // a WHO reply being encoded for the cache
	scratchW *bufio.Writer // writes into scratch
}

func (s *Server) newConn(nc net.Conn) *conn {
	out := &outConn{nc: nc, lim: s.opts.OutputLimit, now: s.now}
	c := &conn{
		s:       s,
		nc:      nc,
		id:      s.nextID.Add(1),
		created: time.Now(),
		rd:      newReader(bufio.NewReaderSize(nc, readBufSize)),
		w:       writer{bw: bufio.NewWriterSize(out, writeBufSize), proto: 2},
		out:     out,
		sess:    &query.Session{},
		authed:  s.opts.Password == "",
	}
	if c.authed {
		c.user = "default"
	}
	return c
}

func (c *conn) log() (remote string, id int64) { return c.nc.RemoteAddr().String(), c.id }

// serve reads commands and writes replies until the client leaves, breaks a
// limit, times out, or the server shuts down.
func (c *conn) serve() {
	defer c.s.removeConn(c)
	defer c.nc.Close()
	log := c.s.opts.Logger
	remote, id := c.log()
	log.Debug("client connected", "id", id, "remote", remote)

	if tc, ok := c.nc.(*tls.Conn); ok {
		timeout := handshakeTimeout
		if it := c.s.opts.IdleTimeout; it > 0 && it < timeout {
			timeout = it
		}
		ctx, cancel := context.WithTimeout(c.s.ctx, timeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			log.Debug("TLS handshake failed", "id", id, "remote", remote, "err", err)
			return
		}
	}

	idle := c.s.opts.IdleTimeout
	for {
		if c.rd.br.Buffered() == 0 {
			// About to block: flush what the pipeline produced, under one
			// deadline that covers both the flush and the next whole frame.
			if idle > 0 {
				d := time.Now().Add(idle)
				c.nc.SetDeadline(d)
				c.out.setIdle(d)
			}
			if err := c.w.bw.Flush(); err != nil {
				c.writeFailed(err)
				return
			}
		}
		// Shutdown sets closing before it wakes blocked reads, so either
		// this sees it or the read below returns at once.
		if c.s.closing.Load() {
			c.w.bw.Flush()
			return
		}
		args, err := c.rd.read(c.limits())
		if err != nil {
			c.readFailed(err)
			return
		}
		if len(args) == 0 {
			continue
		}
		if b, ok := c.s.exec.(BatchExecutor); ok && c.authed && c.rd.br.Buffered() > 0 && query.Batchable(string(args[0])) {
			if !c.batch(b) {
				return
			}
		} else {
			c.dispatch(args)
		}
		if c.out.err != nil {
			c.writeFailed(c.out.err)
			return
		}
		if c.quit {
			c.w.bw.Flush()
			return
		}
	}
}

// writeFailed ends the connection after a failed write, logging why.
func (c *conn) writeFailed(err error) {
	remote, id := c.log()
	if errors.Is(err, errSoftLimit) {
		c.s.outputLimited()
		c.s.opts.Logger.Warn("client disconnected: output buffer over its soft limit for too long",
			"id", id, "remote", remote, "soft_limit", c.out.lim.Soft, "soft_seconds", c.out.lim.SoftTime.Seconds())
		return
	}
	c.s.opts.Logger.Debug("client write failed", "id", id, "remote", remote, "err", err)
}

// reply writes v unless it would take the output held for this client
// past the hard limit; then the client gets an error instead and the
// connection closes.
func (c *conn) reply(v query.Value) {
	if c.fits(encodedSize(v, c.w.proto)) {
		c.w.value(v)
	}
}

// replyEncoded writes a reply already encoded for this connection's
// protocol, under the same limit as reply.
func (c *conn) replyEncoded(enc []byte) {
	if c.fits(int64(len(enc))) {
		c.w.bw.Write(enc)
	}
}

// fits reports whether a reply of size bytes may be written; when it would
// take the output held past the hard limit, the client gets an error
// instead and the connection closes.
func (c *conn) fits(size int64) bool {
	held := int64(c.w.bw.Buffered()) + size
	if lim := c.out.lim.Hard; lim >= 0 && held > lim {
		remote, id := c.log()
		c.s.outputLimited()
		c.s.opts.Logger.Warn("client disconnected: reply over its output buffer hard limit",
			"id", id, "remote", remote, "reply_bytes", size, "held_bytes", held, "hard_limit", lim)
		c.failed = true
		c.out.farewell()
		c.w.err(query.Errorf(query.CodeTooLarge, 0, "a reply of %d bytes is over the client output buffer limit of %d bytes; ask for less (LIMIT)", size, lim).Error())
		c.quit = true
		return false
	}
	c.out.replyEnd = c.out.sent + held
	return true
}

func (c *conn) limits() limits {
	if c.authed {
		return c.s.authedLimits()
	}
	return c.s.preAuthLimits()
}

func (s *Server) authedLimits() limits {
	return limits{
		maxBulk:    s.opts.MaxBulkLen,
		maxArgs:    s.opts.MaxArgs,
		maxInline:  min(s.opts.MaxInlineLen, s.opts.MaxCommandBytes),
		maxCommand: s.opts.MaxCommandBytes,
	}
}

func (s *Server) preAuthLimits() limits {
	return limits{
		maxBulk:    s.opts.PreAuthMaxBulk,
		maxArgs:    s.opts.PreAuthMaxArgs,
		maxInline:  min(s.opts.PreAuthMaxBulk, s.opts.MaxInlineLen, s.opts.MaxCommandBytes),
		maxCommand: min(s.opts.PreAuthMaxBulk*s.opts.PreAuthMaxArgs, s.opts.MaxCommandBytes),
	}
}

// readFailed ends the connection after a failed read, telling the client
// why when the fault was its frame.
func (c *conn) readFailed(err error) {
	log := c.s.opts.Logger
	remote, id := c.log()
	var pe *protoError
	var ne net.Error
	switch {
	case errors.As(err, &pe):
		c.w.err(pe.Error())
		c.w.bw.Flush()
		c.s.stats.violations.Add(1)
		if c.s.metrics != nil {
			c.s.metrics.rejected.WithLabelValues("limit").Inc()
		}
		log.Warn("client disconnected for a bad frame", "id", id, "remote", remote, "authenticated", c.authed, "err", pe.Error())
	case errors.Is(err, io.EOF):
		log.Debug("client disconnected", "id", id, "remote", remote)
	case errors.As(err, &ne) && ne.Timeout():
		if !c.s.closing.Load() {
			log.Debug("client timed out", "id", id, "remote", remote, "idle_timeout", c.s.opts.IdleTimeout)
		}
	default:
		log.Debug("client connection ended", "id", id, "remote", remote, "err", err)
	}
}

// dispatch answers one command, timing and counting it.
func (c *conn) dispatch(args [][]byte) {
	start := time.Now()
	id := lookupCmd(args[0])
	c.failed = false
	c.run(id, args)
	c.s.record(id, time.Since(start), c.failed)
}

func (c *conn) fail(e *query.Error) {
	c.failed = true
	c.w.err(e.Error())
}

func (c *conn) syntax(format string, args ...any) {
	c.fail(query.Errorf(query.CodeSyntax, 0, format, args...))
}

func (c *conn) run(id cmdID, args [][]byte) {
	if !c.authed {
		switch id {
		case cmdAuth, cmdHello, cmdPing, cmdQuit:
		default:
			c.fail(&query.Error{Code: query.CodeNoAuth, Msg: "Authentication required."})
			return
		}
	}
	switch id {
	case cmdPing:
		switch len(args) {
		case 1:
			c.w.status("PONG")
		case 2:
			c.w.bulkBytes(args[1])
		default:
			c.arity("PING")
		}
	case cmdEcho:
		if len(args) != 2 {
			c.arity("ECHO")
			return
		}
		c.w.bulkBytes(args[1])
	case cmdAuth:
		c.auth(args)
	case cmdHello:
		c.hello(args)
	case cmdQuit:
		c.w.status("OK")
		c.quit = true
	case cmdClient:
		c.client(args)
	case cmdCommand:
		c.command(args)
	case cmdSelect:
		switch {
		case len(args) != 2:
			c.arity("SELECT")
		case string(args[1]) != "0":
			c.fail(&query.Error{Code: query.CodeGeneric, Msg: "DB index is out of range"})
		default:
			c.w.status("OK")
		}
	case cmdConfig:
		c.config(args)
	case cmdInfo:
		c.w.bulk(c.s.info(args[1:]))
	default:
		if id == cmdWho && len(args) == 2 && len(args[1]) <= maxCachedKey && c.s.replies != nil {
			c.who(args[1])
			return
		}
		c.execute(args)
	}
}

// who answers WHO id from the cache of encoded replies while the kept
// reply holds, else afresh, keeping the reply.
func (c *conn) who(id []byte) {
	c.key = append(append(c.key[:0], byte('0'+c.w.proto), ' '), id...)
	if enc, ok := c.s.replies.get(c.s.ctx, c.key); ok {
		c.replyEncoded(enc)
		return
	}
	x := c.s.replies.x
	var v query.Value
	var st query.Stamp
	var err error
	if c.survive("WHO", func() { v, st, err = x.WhoStamped(c.s.ctx, c.sess, string(id)) }) {
		v, err = query.Value{}, errInternal
	}
	if err != nil || st.IsZero() || v.Kind != query.KindMap || encodedSize(v, c.w.proto) > maxCachedReply {
		c.respond(v, err, c.sess.Warnings) // not kept: written as any reply
		return
	}
	if c.scratch == nil {
		c.scratch = &bytes.Buffer{}
		c.scratchW = bufio.NewWriterSize(c.scratch, 1024)
	}
	c.scratch.Reset()
	sw := writer{bw: c.scratchW, proto: c.w.proto}
	sw.value(v)
	c.scratchW.Flush()
	enc := bytes.Clone(c.scratch.Bytes())
	c.s.replies.put(c.key, st, enc)
	c.replyEncoded(enc)
}

func (c *conn) arity(name string) {
	c.syntax("wrong number of arguments for '%s'", strings.ToLower(name))
}

// batch runs the simple write just read and the simple writes that follow
// it in the pipeline, as far as they are already buffered, in one group
// commit (query.Executor.ExecBatch), and replies to each in order. A
// statement of another kind ends the run and is dispatched after it. It
// reports false when the connection must end.
func (c *conn) batch(b BatchExecutor) bool {
	cmds := [][]string{c.rd.strings()}
	var next [][]byte
	var readErr error
	for len(cmds) < maxBatch && c.rd.br.Buffered() > 0 {
		args, err := c.rd.read(c.limits())
		if err != nil {
			readErr = err
			break
		}
		if len(args) == 0 {
			continue
		}
		if !query.Batchable(string(args[0])) {
			next = args
			break
		}
		cmds = append(cmds, c.rd.strings())
	}
	start := time.Now()
	res := c.callBatch(b, cmds)
	took := time.Since(start) / time.Duration(len(cmds))
	for i, r := range res {
		c.failed = false
		c.respond(r.Value, r.Err, r.Warnings)
		c.s.record(lookupCmd([]byte(cmds[i][0])), took, c.failed)
		if c.out.err != nil {
			c.writeFailed(c.out.err)
			return false
		}
		if c.quit {
			c.w.bw.Flush()
			return false
		}
	}
	if readErr != nil {
		c.readFailed(readErr)
		return false
	}
	if next != nil {
		c.dispatch(next)
	}
	return true
}

// maxBatch bounds the statements one group commit of a pipeline takes.
const maxBatch = 1000

// callBatch runs ExecBatch; a panic fails every statement and ends this
// connection.
func (c *conn) callBatch(b BatchExecutor, cmds [][]string) (res []query.Result) {
	if c.survive(cmds[0][0], func() { res = b.ExecBatch(c.s.ctx, c.sess, cmds) }) {
		res = make([]query.Result, len(cmds))
		for i := range res {
			res[i].Err = errInternal
		}
	}
	return res
}

// execute hands the command to the Executor.
func (c *conn) execute(args [][]byte) {
	v, err := c.call(c.rd.strings())
	c.respond(v, err, c.sess.Warnings)
}

// respond writes a statement's reply, or its error.
func (c *conn) respond(v query.Value, err error, warnings []string) {
	if err != nil {
		var qe *query.Error
		if errors.As(err, &qe) {
			c.fail(qe)
			return
		}
		c.failed = true
		c.w.err("ERR " + err.Error())
		return
	}
	if v.Kind == query.KindError {
		c.failed = true
	}
	if len(warnings) > 0 && c.w.proto == 3 {
		c.w.warnings(warnings)
	}
	c.reply(v)
}

// call runs the Executor; a panic becomes an error reply and the end of
// this connection rather than of the server.
func (c *conn) call(args []string) (v query.Value, err error) {
	if c.survive(args[0], func() { v, err = c.s.exec.Exec(c.s.ctx, c.sess, args) }) {
		return query.Value{}, errInternal
	}
	return v, err
}

var errInternal = errors.New("internal error")

// survive runs f; a panic in it is logged, ends this connection, and is
// reported as true.
func (c *conn) survive(command string, f func()) (panicked bool) {
	defer func() {
		if p := recover(); p != nil {
			c.s.opts.Logger.Error("executor panicked", "id", c.id, "command", strings.ToUpper(command),
				"panic", p, "stack", string(debug.Stack()))
			c.quit = true
			panicked = true
		}
	}()
	f()
	return false
}

// checkPassword reports which user, if any, the credentials name. An empty
// user means "either": AUTH <password> alone.
func (c *conn) checkPassword(user, pass string) (string, bool) {
	o := &c.s.opts
	eq := func(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
	u := strings.ToLower(user)
	if (u == "" || u == "default") && eq(pass, o.Password) {
		return "default", true
	}
	if (u == "" || u == "reader") && o.ReadOnlyPassword != "" && eq(pass, o.ReadOnlyPassword) {
		return "reader", true
	}
	return "", false
}

func (c *conn) login(user string) {
	c.authFailures = 0
	c.authed = true
	c.user = user
	c.sess.ReadOnly = user == "reader"
}

func (c *conn) auth(args [][]byte) {
	var user, pass string
	switch len(args) {
	case 2:
		pass = string(args[1])
	case 3:
		user, pass = string(args[1]), string(args[2])
	default:
		c.arity("AUTH")
		return
	}
	if c.s.opts.Password == "" {
		c.fail(&query.Error{Code: query.CodeGeneric,
			Msg: "AUTH <password> called without any password configured for the default user"})
		return
	}
	u, ok := c.checkPassword(user, pass)
	if !ok {
		c.authFailed()
		c.fail(&query.Error{Code: query.CodeNoAuth, Msg: "invalid password"})
		return
	}
	c.login(u)
	c.w.status("OK")
}

// hello is HELLO [protover [AUTH user pass] [SETNAME name]].
func (c *conn) hello(args [][]byte) {
	proto := c.w.proto
	if len(args) > 1 {
		n, err := strconv.Atoi(string(args[1]))
		if err != nil {
			c.fail(&query.Error{Code: query.CodeGeneric, Msg: "Protocol version is not an integer or out of range"})
			return
		}
		if n != 2 && n != 3 {
			c.failed = true
			c.w.err("NOPROTO unsupported protocol version")
			return
		}
		proto = n
	}
	var user, pass, name string
	var hasAuth, hasName bool
	for i := 2; i < len(args); i++ {
		switch strings.ToUpper(string(args[i])) {
		case "AUTH":
			if i+2 >= len(args) {
				c.syntax("HELLO AUTH needs a user name and a password")
				return
			}
			user, pass, hasAuth = string(args[i+1]), string(args[i+2]), true
			i += 2
		case "SETNAME":
			if i+1 >= len(args) {
				c.syntax("HELLO SETNAME needs a name")
				return
			}
			name, hasName = string(args[i+1]), true
			i++
		default:
			c.syntax("unknown HELLO option '%s'", args[i])
			return
		}
	}
	if hasAuth && c.s.opts.Password != "" {
		u, ok := c.checkPassword(user, pass)
		if !ok {
			c.authFailed()
			c.fail(&query.Error{Code: query.CodeNoAuth, Msg: "invalid password"})
			return
		}
		c.login(u)
	}
	if !c.authed {
		c.fail(&query.Error{Code: query.CodeNoAuth, Msg: "HELLO must be called with the client already " +
			"authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used"})
		return
	}
	if hasName {
		if !validName(name) {
			c.syntax("client names cannot contain spaces, newlines or special characters")
			return
		}
		c.sess.Name = name
	}
	c.w.proto = proto
	c.w.mapHeader(7)
	c.w.bulk("server")
	c.w.bulk("idgraph")
	c.w.bulk("version")
	c.w.bulk(Version)
	c.w.bulk("proto")
	c.w.int(int64(proto))
	c.w.bulk("id")
	c.w.int(c.id)
	c.w.bulk("mode")
	c.w.bulk("standalone")
	c.w.bulk("role")
	c.w.bulk("master")
	c.w.bulk("modules")
	c.w.array(0)
}

func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func (c *conn) client(args [][]byte) {
	if len(args) < 2 {
		c.arity("CLIENT")
		return
	}
	sub := strings.ToUpper(string(args[1]))
	switch {
	case sub == "SETNAME" && len(args) == 3:
		name := string(args[2])
		if !validName(name) {
			c.syntax("client names cannot contain spaces, newlines or special characters")
			return
		}
		c.sess.Name = name
		c.w.status("OK")
	case sub == "GETNAME" && len(args) == 2:
		if c.sess.Name == "" {
			c.w.null()
			return
		}
		c.w.bulk(c.sess.Name)
	case sub == "ID" && len(args) == 2:
		c.w.int(c.id)
	case sub == "SETINFO" && len(args) == 4:
		switch strings.ToUpper(string(args[2])) {
		case "LIB-NAME":
			c.libName = string(args[3])
		case "LIB-VER":
			c.libVer = string(args[3])
		default:
			c.syntax("unrecognized CLIENT SETINFO option '%s'", args[2])
			return
		}
		c.w.status("OK")
	case sub == "INFO" && len(args) == 2:
		c.w.bulk(c.describe() + "\n")
	case sub == "SETNAME", sub == "GETNAME", sub == "ID", sub == "SETINFO", sub == "INFO":
		c.arity("CLIENT " + sub)
	default:
		c.syntax("unknown subcommand '%s' of CLIENT", oneLine(string(args[1])))
	}
}

// describe is the connection's line in CLIENT INFO, in Redis's format.
func (c *conn) describe() string {
	var b strings.Builder
	b.WriteString("id=")
	b.WriteString(strconv.FormatInt(c.id, 10))
	b.WriteString(" addr=")
	b.WriteString(c.nc.RemoteAddr().String())
	b.WriteString(" laddr=")
	b.WriteString(c.nc.LocalAddr().String())
	b.WriteString(" name=")
	b.WriteString(c.sess.Name)
	b.WriteString(" age=")
	b.WriteString(strconv.FormatInt(int64(time.Since(c.created)/time.Second), 10))
	b.WriteString(" db=0 user=")
	b.WriteString(c.user)
	b.WriteString(" resp=")
	b.WriteString(strconv.Itoa(c.w.proto))
	b.WriteString(" lib-name=")
	b.WriteString(c.libName)
	b.WriteString(" lib-ver=")
	b.WriteString(c.libVer)
	return b.String()
}

func (c *conn) commandEntry(id cmdID) {
	info := commandSpecs[id]
	c.w.array(6)
	c.w.bulk(info.name)
	c.w.int(int64(info.arity))
	c.w.array(1)
	c.w.status(info.flags)
	c.w.int(0)
	c.w.int(0)
	c.w.int(0)
}

// command is COMMAND [COUNT | DOCS [name...] | INFO [name...]].
func (c *conn) command(args [][]byte) {
	if len(args) == 1 {
		c.w.array(int(numCmds) - 1)
		for id := cmdPing; id < numCmds; id++ {
			c.commandEntry(id)
		}
		return
	}
	switch strings.ToUpper(string(args[1])) {
	case "COUNT":
		c.w.int(int64(numCmds) - 1)
	case "DOCS":
		c.w.mapHeader(0)
	case "INFO":
		names := args[2:]
		if len(names) == 0 {
			c.w.array(int(numCmds) - 1)
			for id := cmdPing; id < numCmds; id++ {
				c.commandEntry(id)
			}
			return
		}
		c.w.array(len(names))
		for _, n := range names {
			if id := lookupCmd(n); id != cmdOther {
				c.commandEntry(id)
			} else {
				c.w.null()
			}
		}
	default:
		c.syntax("unknown subcommand '%s' of COMMAND", oneLine(string(args[1])))
	}
}

// configValues are the only parameters CONFIG GET reports: the two that
// redis-benchmark asks for, answered as a server without Redis persistence
// would. Everything else gets an empty reply; idgraph is configured when it
// starts.
var configValues = [...]struct{ name, value string }{{"save", ""}, {"appendonly", "no"}}

// config answers CONFIG GET <parameter>...
func (c *conn) config(args [][]byte) {
	if len(args) < 3 || !strings.EqualFold(string(args[1]), "GET") {
		if len(args) < 2 {
			c.arity("CONFIG")
			return
		}
		c.syntax("CONFIG %s is not supported; idgraph is configured when it starts", oneLine(strings.ToUpper(string(args[1]))))
		return
	}
	var found [len(configValues)]bool
	n := 0
	for _, a := range args[2:] {
		for i, cv := range configValues {
			if !found[i] && strings.EqualFold(string(a), cv.name) {
				found[i] = true
				n++
			}
		}
	}
	c.w.mapHeader(n)
	for i, cv := range configValues {
		if found[i] {
			c.w.bulk(cv.name)
			c.w.bulk(cv.value)
		}
	}
}
