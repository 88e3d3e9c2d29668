package cluster

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseMembers(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Member
		err  string
	}{
		{in: "n1=127.0.0.1:7391", want: []Member{{"n1", "127.0.0.1:7391"}}},
		{in: "n1=127.0.0.1:7391, n2=[::1]:7392,n3=db3.local:7393,", want: []Member{
			{"n1", "127.0.0.1:7391"}, {"n2", "[::1]:7392"}, {"n3", "db3.local:7393"}}},
		{in: "", err: "no cluster members"},
		{in: "n1", err: "NAME=HOST:PORT"},
		{in: "=127.0.0.1:1", err: "NAME=HOST:PORT"},
		{in: "n 1=127.0.0.1:1", err: "NAME=HOST:PORT"},
		{in: "n1=127.0.0.1", err: "address"},
		{in: "n1=127.0.0.1:1,n1=127.0.0.1:2", err: "named twice"},
		{in: "n1=127.0.0.1:1,n2=127.0.0.1:1", err: "given twice"},
	} {
		got, err := ParseMembers(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseMembers(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseMembers(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestConfigNodeMustBeAMember(t *testing.T) {
	_, err := Config{NodeID: "n4", Members: []Member{{"n1", "127.0.0.1:1"}, {"n2", "127.0.0.1:2"}}}.self()
	if err == nil || !strings.Contains(err.Error(), `"n4" is not a member of the cluster (n1, n2)`) {
		t.Fatalf("self() = %v", err)
	}
}

func FuzzParseMembers(f *testing.F) {
	for _, s := range []string{"n1=127.0.0.1:7391,n2=127.0.0.1:7392", "a=[::1]:1", "x", "=,=", "n1=h:1,n1=h:2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ms, err := ParseMembers(s)
		if err != nil {
			return
		}
		ids := map[string]bool{}
		for _, m := range ms {
			if !validNodeID(m.ID) || ids[m.ID] {
				t.Fatalf("ParseMembers(%q) accepted %v", s, ms)
			}
			ids[m.ID] = true
		}
	})
}
