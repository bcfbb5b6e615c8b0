package greet

import "testing"

func TestHello(t *testing.T) {
	cases := []struct {
		name string
		want string
	}{
		{"gbl", "hello, gbl"},
		{"", "hello, world"},
		{"   ", "hello, world"},
		{"  Ada ", "hello, Ada"},
		{"wörld", "hello, wörld"},
	}
	for _, c := range cases {
		if got := Hello(c.name); got != c.want {
			t.Errorf("Hello(%q) = %q, want %q", c.name, got, c.want)
		}
	}
}
