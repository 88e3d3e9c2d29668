package query

// Session is the per-connection state a statement runs with. The server owns
// one per connection; embedded callers may pass nil for defaults.
type Session struct {
	// Name is the client's name (CLIENT SETNAME); it is the default source
	// of TRACK and MERGE when they carry no FROM.
	Name string
	// ReadOnly sessions get ERR READONLY for every statement that writes.
	ReadOnly bool
	// Warnings are what the last statement had to say beside its reply
	// (DID on an event name never recorded); nil when nothing. The server
	// sends them to RESP3 clients as an attribute of the reply.
	Warnings []string
}
