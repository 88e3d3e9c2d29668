// Package console is idgraph's web console: the pages a support agent, a
// marketer or an engineer opens in a browser to look a customer up, see
// their identity graph, and build, count, export, save and drop segments
// (issue 19). idgraph serve --http serves it at /.
//
// The console is a static page and its scripts, embedded in the binary
// (assets/), that talk to the JSON API of package httpapi with the same
// users as every other client: nothing is fetched from outside the binary,
// so it works offline and behind a firewall. The package holds no state and
// knows nothing of the engine; httpapi mounts it (Mount) and tells it who a
// request authenticated as (Options.Authenticate).
//
// # Pages
//
//	/                   the lookup box
//	/profile/{id}       a profile's card, timeline and identity graph ({id} URL-encoded)
//	/segment?expr=…     the segment editor, with a live count, members and CSV export
//	/segments           saved segments and the change feed
//
// Every page is the same document (assets/index.html); its script reads the
// path, so each view has a link of its own that can be shared and opened
// directly. The scripts and styles are served under /console/, and
// GET /console/session tells the page whether the request's credentials
// are the read-write user's or the read-only user's (401 otherwise), so
// that the read-only user is shown no write buttons. The server refuses
// that user's writes anyway.
//
// # Safety
//
// Pages and assets carry a Content-Security-Policy that allows scripts,
// styles and connections from the server's own origin only, with no inline
// script or style, and forbids framing. Guard protects the JSON API
// against cross-site request forgery and DNS rebinding; see its doc.
package console
