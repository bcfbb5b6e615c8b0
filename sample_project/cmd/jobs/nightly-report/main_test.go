package main

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestHandle(t *testing.T) {
	got, err := handle(context.Background(), events.CloudWatchEvent{
		Source:     "aws.events",
		DetailType: "Scheduled Event",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Report{
		Job:        "nightly-report",
		Source:     "aws.events",
		DetailType: "Scheduled Event",
		Greeting:   "hello, aws.events",
	}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestHandleEmptyEvent(t *testing.T) {
	got, err := handle(context.Background(), events.CloudWatchEvent{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Job != "nightly-report" || got.Greeting != "hello, world" {
		t.Errorf("got %+v", got)
	}
}

func TestReportJSON(t *testing.T) {
	b, err := json.Marshal(Report{Job: "j", Source: "s", DetailType: "d", Greeting: "g"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"job":"j","source":"s","detail_type":"d","greeting":"g"}`; string(b) != want {
		t.Errorf("json = %s, want %s", b, want)
	}
}

func TestExampleEvent(t *testing.T) {
	data, err := os.ReadFile("../../../events/nightly-report.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.CloudWatchEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatal(err)
	}
	got, err := handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	want := Report{
		Job:        "nightly-report",
		Source:     "aws.events",
		DetailType: "Scheduled Event",
		Greeting:   "hello, aws.events",
	}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}
