package query

import (
	"strings"
	"sync"
	"unicode/utf8"
)

// SplitLine splits a typed line into words the way redis-cli and Redis
// inline commands do. White space separates words. A double quote starts a
// quoted part in which \" \\ \n \r \t \b \a and \xHH are escapes (any other
// backslash pair stands for its second character); a single quote starts one
// in which only \' is an escape. A quote may start in the middle of a word
// (name="John Smith" is the one word name=John Smith), and a closing quote
// ends the word, so it must be followed by white space or the end of the line.
//
// An unbalanced quote is an *Error with CodeSyntax whose Pos is the number of
// the word it is in.
func SplitLine(line string) ([]string, error) {
	var words []string
	i := 0
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i >= len(line) {
			return words, nil
		}
		pos := len(words) + 1
		var w []byte
		inDouble, inSingle := false, false
	word:
		for {
			switch {
			case inDouble:
				if i >= len(line) {
					return nil, Errorf(CodeSyntax, pos, "unbalanced double quote")
				}
				c := line[i]
				switch {
				case c == '\\' && i+3 < len(line) && line[i+1] == 'x' && isHex(line[i+2]) && isHex(line[i+3]):
					w = append(w, unhex(line[i+2])<<4|unhex(line[i+3]))
					i += 4
				case c == '\\' && i+1 < len(line):
					w = append(w, unescape(line[i+1]))
					i += 2
				case c == '"':
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return nil, Errorf(CodeSyntax, pos, "a closing quote must be followed by a space")
					}
					i++
					break word
				default:
					w = append(w, c)
					i++
				}
			case inSingle:
				if i >= len(line) {
					return nil, Errorf(CodeSyntax, pos, "unbalanced single quote")
				}
				c := line[i]
				switch {
				case c == '\\' && i+1 < len(line) && line[i+1] == '\'':
					w = append(w, '\'')
					i += 2
				case c == '\'':
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return nil, Errorf(CodeSyntax, pos, "a closing quote must be followed by a space")
					}
					i++
					break word
				default:
					w = append(w, c)
					i++
				}
			default:
				if i >= len(line) || isSpace(line[i]) {
					break word
				}
				switch line[i] {
				case '"':
					inDouble = true
				case '\'':
					inSingle = true
				default:
					w = append(w, line[i])
				}
				i++
			}
		}
		words = append(words, string(w))
	}
}

// isSpace reports the bytes SplitLine separates words at (C's isspace).
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func hasSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		if isSpace(s[i]) {
			return true
		}
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'b':
		return '\b'
	case 'a':
		return '\a'
	}
	return c
}

// quoteWord returns w as SplitLine reads it back: bare when it can be, in
// single quotes when that is enough, else in double quotes with escapes.
func quoteWord(w string) string {
	if w == "" {
		return "''"
	}
	bare, single := true, true
	for i := 0; i < len(w); {
		r, size := utf8.DecodeRuneInString(w[i:])
		c := w[i]
		switch {
		case r == utf8.RuneError && size == 1, c < 0x20, c == 0x7f:
			bare, single = false, false
		case isSpace(c), c == '"':
			bare = false
		case c == '\'':
			bare, single = false, false
		}
		i += size
	}
	if bare {
		return w
	}
	if single && w[len(w)-1] != '\\' {
		return "'" + w + "'"
	}
	const hex = "0123456789abcdef"
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(w); {
		r, size := utf8.DecodeRuneInString(w[i:])
		c := w[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case r == utf8.RuneError && size == 1, c < 0x20, c == 0x7f:
			b.WriteString(`\x`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		default:
			b.WriteString(w[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
	return b.String()
}

// tokKind is the kind of a token of a segment expression.
type tokKind uint8

const (
	tokWord tokKind = iota
	tokLParen
	tokRParen
)

// token is a piece of a word: a whole word outside expressions; inside one,
// parentheses are tokens of their own.
type token struct {
	text string
	pos  int // the 1-based number of the word it came from
	kind tokKind
}

// wordTokens makes one token of each word, numbered from first.
func wordTokens(words []string, first int) []token {
	toks := make([]token, len(words))
	for i, w := range words {
		toks[i] = token{text: w, pos: first + i}
	}
	return toks
}

// exprTokens splits words into expression tokens: "(" and ")" are tokens
// wherever they appear in a word ("(DID" is "(", "DID"; "b))" is "b", ")",
// ")"), except in a word that holds white space: such a word was quoted and
// is always one token. Tokens keep the number of the word they came from.
func exprTokens(words []string, first int) []token {
	toks := make([]token, 0, len(words))
	for i, w := range words {
		pos := first + i
		if hasSpace(w) || !strings.ContainsAny(w, "()") {
			toks = append(toks, token{text: w, pos: pos})
			continue
		}
		start := 0
		for j := 0; j < len(w); j++ {
			if w[j] != '(' && w[j] != ')' {
				continue
			}
			if j > start {
				toks = append(toks, token{text: w[start:j], pos: pos})
			}
			k := tokLParen
			if w[j] == ')' {
				k = tokRParen
			}
			toks = append(toks, token{text: w[j : j+1], pos: pos, kind: k})
			start = j + 1
		}
		if start < len(w) {
			toks = append(toks, token{text: w[start:], pos: pos})
		}
	}
	return toks
}

// singleToken reports whether w, standing alone in an expression, is read
// back as one word token (so it can be an event, a source or a value).
func singleToken(w string) bool {
	return hasSpace(w) || !strings.ContainsAny(w, "()")
}

// keywords are every reserved word of the language; a word that matches one
// (in any case) is shown upper-case in messages.
// (Computed on first use: the command table refers to the parser, which
// refers to keywords.)
var keywords = sync.OnceValue(func() map[string]bool {
	return keywordSet(commandNames(), serverCommands, subWords("SEGMENT"), subWords("TYPES"), exprKeywords,
		[]string{"AT", "FROM", "PROPS", "GRANT", "DENY", "LIMIT", "BEFORE",
			"SUPPRESS", "ASOF", "AFTER", "PRIORITY", "EXCLUSIVE", "NORMALIZE", "TIMES",
			"WITHIN", "SINCE", "BETWEEN", "OR", "AND", "MIN", "WHERE", "AS", "OF", "FIELDS", "SNAPSHOT", "BLOCK", "KINDS", "SEGMENTS"}, aggregateKinds)
})

func keywordSet(lists ...[]string) map[string]bool {
	m := map[string]bool{}
	for _, list := range lists {
		for _, k := range list {
			m[k] = true
		}
	}
	return m
}

var exprKeywords = []string{"DID", "HAS", "TRAIT", "CONSENT", "TAGGED", "IN", "NOT"}

func isKeyword(w string) bool {
	return len(w) <= 10 && keywords()[strings.ToUpper(w)]
}

// is reports whether t is the word kw (upper-case), in any case.
func (t token) is(kw string) bool {
	return t.kind == tokWord && strings.EqualFold(t.text, kw)
}

// suggest returns " (did you mean KW?)" when w is a near miss of one of the
// candidates: within edit distance 1 of a keyword of up to four letters, 2 of
// a longer one. The closest wins; ties go to the earlier candidate.
func suggest(w string, candidates ...string) string {
	if len(w) < 2 || len(w) > 12 {
		return ""
	}
	u := strings.ToUpper(w)
	best, bestDist := "", 3
	for _, c := range candidates {
		if c == u {
			return ""
		}
		limit := 2
		if len(c) <= 4 {
			limit = 1
		}
		if d := editDistance(u, c); d <= limit && d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean " + best + "?)"
}

// editDistance is the optimal-string-alignment distance between a and b:
// insertions, deletions, substitutions and swaps of neighbours cost 1.
func editDistance(a, b string) int {
	// Three rows suffice: the current one and the two before it.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
