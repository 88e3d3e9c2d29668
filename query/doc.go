// Package query is idgraph's query language: a lexer, a recursive-descent
// parser with positioned errors, and an AST whose String method prints
// source that parses back to the same AST. (The executor that runs a
// Statement against the engine lives here too, in its own files.)
//
// # Words
//
// A statement is a list of words. Over RESP each argument is one word; a
// typed line is split by SplitLine the way redis-cli splits it: white space
// separates words, "double quotes" allow \" \\ \n \r \t \b \a and \xHH
// escapes, 'single quotes' allow only \', and a quote may begin mid-word
// (name="Ann Lee" is the single word name=Ann Lee). A word that holds spaces
// is one word wherever it appears, so an identifier, an event name or a
// trait value may hold spaces.
//
// Keywords are case-insensitive. Names (events, sources, traits, tags,
// segments, consent purposes, computed traits) are 1 to 128 bytes of UTF-8
// without control characters (engine.CheckName); identifier types are [a-z][a-z0-9_]{0,31};
// an identifier is type:value and always holds a colon, which is how the
// identifier list of TRACK and MERGE ends at AT, FROM or PROPS. A time is
// RFC 3339 (fractional seconds and offsets allowed) or Unix milliseconds,
// from 1970 to the end of 9999, kept in UTC to the millisecond.
//
// # Statements
//
//	TRACK <event> <id> [<id> ...] [AT <time>] [FROM <source>] [PROPS <json-object>]
//	MERGE <id> <id> [<id> ...] [FROM <source>]
//	SET <id> <name>=<value> [...] [AT <time>]
//	CONSENT <id> <purpose> GRANT|DENY [AT <time>]
//	TAG <id> <tag> [<tag> ...] [AT <time>] | UNTAG <id> <tag> [<tag> ...] [AT <time>]
//	WHO <id> | WHY <id> <id> | UNLINK <id> <id> | FORGET <id> [SUPPRESS]
//	TIMELINE <id> [LIMIT <1..10000>] [BEFORE <time>] [AFTER <cursor>]
//	RECORD <json-object>
//	SEGMENT COUNT <expr> [ASOF <time>]
//	SEGMENT IDS <expr> [ASOF <time>] [LIMIT <1..100000>] [AFTER <profile id>]
//	SEGMENT SAVE <name> <expr> | SEGMENT DROP <name> | SEGMENT LIST
//	COMPUTE <name> AS <aggregate> [<window>] | COMPUTE DROP <name> | COMPUTE LIST
//	HUBS [MIN <n>] [LIMIT <n>] | BACKUP
//	TYPES | TYPES DECLARE <type> LIMIT <n> PRIORITY <n> [EXCLUSIVE] [NORMALIZE trim|lower|upper|phone]
//	INFO [<section>] | PING [<message>]
//
// Optional clauses may come in any order, each at most once; String prints
// them in the order above. AUTH, HELLO, QUIT, CLIENT, COMMAND, RESET and
// SELECT belong to the server and are refused here.
//
// # Segment expressions
//
//	expr   = term { OR term }
//	term   = factor { AND factor }
//	factor = NOT factor | "(" expr ")" | atom
//	atom   = DID <event> [FROM <source>] [WHERE <cond> {AND <cond>}] [<cmp> <n> TIMES] [<window>]
//	       | HAS <type> | TRAIT <name> <op> <value> | CONSENT <purpose> | TAGGED <tag> | IN <segment name>
//	cond   = <property path> <op> <value>
//	window = WITHIN <n>d | WITHIN <n>h | SINCE <time> | BETWEEN <time> AND <time>
//	cmp    = >= | > | = | < | <=          op = = | != | < | <= | > | >=
//
//	aggregate = COUNT <event> [FROM <source>] [WHERE ...]
//	          | SUM|MIN|MAX|AVG|FIRST|LAST|DISTINCT <property path> OF <event> [FROM <source>] [WHERE ...]
//	          | SCORE <n> <event> [FROM <source>] [WHERE ...] { + <n> <event> [FROM <source>] [WHERE ...] }
//
// After a WHERE condition, AND followed by a word and a comparison (or a
// word with a comparison glued in) is one more condition; any other AND
// joins the next atom. The printer puts parentheses around an atom that
// would otherwise read as a condition.
//
// NOT binds tightest, then AND, then OR; AND and OR are left-associative.
// Nesting of NOT and parentheses is capped at 100 levels. The words after an
// expression's keywords are taken as they are, so DID and is the event
// "and"; the AND of BETWEEN t1 AND t2 belongs to the window.
//
// Inside an expression a word is split further: "(" and ")" are tokens of
// their own wherever they stand ("(DID" is "(" "DID"; "b))" is "b" ")" ")"),
// and TRAIT's comparison may be glued to its name and value (age>=30). A word
// that holds white space is never split (it was quoted), so a trait value
// "Acme (EU)" stays whole. Hence an event, source or value without spaces
// cannot contain a parenthesis when used in an expression. An expression in
// SEGMENT COUNT and IDS ends at the first ASOF, LIMIT or AFTER outside
// parentheses.
//
// # Errors
//
// Every error is an *Error: CodeSyntax with Pos, the 1-based number of the
// offending word (the number after the last word when one is missing), and a
// sentence that says what was expected and, for a near miss of a keyword,
// which one was meant ("unknown command "TRAK" (did you mean TRACK?)"). A
// LIMIT beyond the largest page is CodeTooLarge. The parser never panics.
package query
