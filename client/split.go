package client

import (
	"fmt"
	"strings"
)

// splitExpr splits a segment expression into the words of a statement:
// blanks separate words, parentheses are words of their own, and "double"
// or 'single' quotes keep blanks and parentheses inside a word (a backslash
// escapes the next character inside quotes). The quotes are not sent.
func splitExpr(expr string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			words = append(words, w.String())
			w.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			flush()
		case c == '(' || c == ')':
			flush()
			words = append(words, string(c))
		case c == '"' || c == '\'':
			inWord = true
			j := i + 1
			for ; j < len(expr) && expr[j] != c; j++ {
				if expr[j] == '\\' && j+1 < len(expr) {
					j++
				}
				w.WriteByte(expr[j])
			}
			if j == len(expr) {
				return nil, fmt.Errorf("%w: unbalanced %c in segment expression", ErrSyntax, c)
			}
			i = j
		default:
			inWord = true
			w.WriteByte(c)
		}
	}
	flush()
	return words, nil
}
