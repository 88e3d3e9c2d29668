package main

import (
	"crypto/subtle"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
)

// Every secret has a file form (the command line shows in ps), an empty
// secret is refused rather than read as "no password", and a secret file
// that its group or others may read is used with a warning.

// secretFlags are a secret given directly (--NAME) or in a file
// (--NAME-file).
type secretFlags struct {
	fs         *flag.FlagSet
	name, file string // flag names
	direct     *string
	path       *string
}

// addSecretFlags registers --name and --fileName.
func addSecretFlags(fs *flag.FlagSet, name, usage string) secretFlags {
	return addSecretFlagsNamed(fs, name, name+"-file", usage)
}

func addSecretFlagsNamed(fs *flag.FlagSet, name, fileName, usage string) secretFlags {
	return secretFlags{
		fs: fs, name: name, file: fileName,
		direct: fs.String(name, "", usage+" (visible to other users in ps: prefer --"+fileName+")"),
		path:   fs.String(fileName, "", "file holding the "+usage+" (surrounding white space ignored)"),
	}
}

// isSet reports whether the flag was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			found = true
		}
	})
	return found
}

// value returns the secret, "" when neither flag was given.
func (s secretFlags) value(stderr io.Writer) (string, error) {
	direct, file := isSet(s.fs, s.name), isSet(s.fs, s.file) && *s.path != ""
	switch {
	case direct && file:
		return "", exitError{2, fmt.Sprintf("give --%s or --%s, not both", s.name, s.file)}
	case file:
		return readSecretFile(*s.path, "--"+s.file, stderr)
	case direct && *s.direct == "":
		return "", exitError{2, fmt.Sprintf("--%s is empty: an empty password is refused (leave the flag out for none)", s.name)}
	}
	return *s.direct, nil
}

// readSecretFile reads a password file: surrounding white space is
// ignored, an empty one is an error, and one its group or others may read
// is used with a warning.
func readSecretFile(path, what string, stderr io.Writer) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	warnReadable(path, stderr)
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", exitError{2, fmt.Sprintf("%s: %s is empty: an empty password is refused", what, path)}
	}
	return s, nil
}

// warnReadable warns when a secret file is readable by its group or by
// everyone.
func warnReadable(path string, stderr io.Writer) {
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm()&0o077 == 0 {
		return
	}
	fmt.Fprintf(stderr, "warning: %s holds a secret and its group or others may read it (mode %v); chmod 600 %s\n",
		path, fi.Mode().Perm(), path)
}

// isLoopbackAddr reports whether a listen address stays on this machine.
// An empty host ("":9380) listens everywhere.
func isLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// requirePassword wraps an HTTP handler (metrics, pprof) so that it answers
// only requests that carry one of passwords, as a Bearer token or as the
// password of HTTP Basic authentication (any user name). With no
// passwords, it returns h unchanged.
func requirePassword(h http.Handler, passwords ...string) http.Handler {
	var keys []string
	for _, p := range passwords {
		if p != "" {
			keys = append(keys, p)
		}
	}
	if len(keys) == 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		given := ""
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			given = tok
		} else if _, pass, ok := r.BasicAuth(); ok {
			given = pass
		}
		for _, k := range keys {
			if given != "" && subtle.ConstantTimeCompare([]byte(given), []byte(k)) == 1 {
				h.ServeHTTP(w, r)
				return
			}
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="idgraph"`)
		http.Error(w, "authentication required: the server's password as a Bearer token or with HTTP Basic", http.StatusUnauthorized)
	})
}

// debugListenersNeedPassword refuses metrics and pprof listeners beyond
// loopback when the server has no password to protect them with.
func debugListenersNeedPassword(password string, listeners ...string) error {
	if password != "" {
		return nil
	}
	for _, addr := range listeners {
		if addr != "" && !isLoopbackAddr(addr) {
			return exitError{2, fmt.Sprintf("refusing to serve metrics or profiling on %s without a password: "+
				"set --password-file (they then require it, as a Bearer token or with HTTP Basic) or use a loopback address such as 127.0.0.1", addr)}
		}
	}
	return nil
}
