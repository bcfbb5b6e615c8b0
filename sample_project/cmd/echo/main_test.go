package main

import (
	"context"
	"encoding/json"
	"os"
	"testing"
)

func TestHandle(t *testing.T) {
	cases := []struct {
		in   string
		want Output
	}{
		{"hello", Output{Echo: "hello", Length: 5, Upper: "HELLO"}},
		{"Go λ", Output{Echo: "Go λ", Length: 4, Upper: "GO Λ"}},
	}
	for _, c := range cases {
		got, err := handle(context.Background(), Input{Text: c.in})
		if err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		if got != c.want {
			t.Errorf("%q: got %+v, want %+v", c.in, got, c.want)
		}
	}
}

func TestHandleEmpty(t *testing.T) {
	_, err := handle(context.Background(), Input{})
	if err == nil || err.Error() != "text must not be empty" {
		t.Fatalf("err = %v, want %q", err, "text must not be empty")
	}
}

func TestOutputJSON(t *testing.T) {
	b, err := json.Marshal(Output{Echo: "hi", Length: 2, Upper: "HI"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"echo":"hi","length":2,"upper":"HI"}`; string(b) != want {
		t.Errorf("json = %s, want %s", b, want)
	}
}

func TestExampleEvent(t *testing.T) {
	data, err := os.ReadFile("../../events/echo.json")
	if err != nil {
		t.Fatal(err)
	}
	var in Input
	if err := json.Unmarshal(data, &in); err != nil {
		t.Fatal(err)
	}
	got, err := handle(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Output{Echo: "hello", Length: 5, Upper: "HELLO"}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}
