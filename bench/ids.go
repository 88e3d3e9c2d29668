package bench

import "strings"

// Identifier normalisation as SPEC §2 states it, for the built-in types. The
// bench keeps its own copy rather than importing the engine so that the
// ground truth is an independent statement of the contract: if the engine
// normalised differently, accuracy would drop and show it.

// Normalize returns the normalised form of a "type:value" identifier and
// whether its value is blocked (SPEC §2: empty, null, undefined, …, or made
// only of '0' and '-'). ok is false when id has no colon or an empty type.
// Unknown types are trimmed only.
func Normalize(id string) (norm string, blocked, ok bool) {
	i := strings.IndexByte(id, ':')
	if i <= 0 {
		return "", false, false
	}
	typ, val := id[:i], id[i+1:]
	switch typ {
	case "email", "device", "idfa", "aaid":
		val = lowerASCII(strings.TrimSpace(val))
	case "phone":
		val = normalizePhone(val)
	case "serial":
		val = strings.ToUpper(strings.TrimSpace(val))
	default:
		val = strings.TrimSpace(val)
	}
	if val == id[i+1:] {
		norm = id
	} else {
		norm = typ + ":" + val
	}
	return norm, isBlocked(val), true
}

// lowerASCII lower-cases, allocating only when something changes.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(s)
		}
	}
	return s
}

// normalizePhone keeps a leading '+' and the digits.
func normalizePhone(s string) string {
	s = strings.TrimSpace(s)
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c == '+' && i == 0) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := make([]byte, 0, len(s))
	if strings.HasPrefix(s, "+") {
		b = append(b, '+')
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' {
			b = append(b, c)
		}
	}
	return string(b)
}

// blockedValues are SPEC §2's default blocked values, compared
// case-insensitively.
var blockedValues = map[string]bool{
	"": true, "null": true, "undefined": true, "none": true, "nil": true,
	"nan": true, "anonymous": true, "unknown": true, "[object object]": true,
	"-1": true,
}

func isBlocked(val string) bool {
	if len(val) <= len("[object object]") && blockedValues[strings.ToLower(val)] {
		return true
	}
	for i := 0; i < len(val); i++ {
		if val[i] != '0' && val[i] != '-' {
			return false
		}
	}
	return true // only '0' and '-' (the empty value was caught above)
}
