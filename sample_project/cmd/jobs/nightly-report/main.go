// Command nightly-report is run by an EventBridge schedule.
//
// It takes the scheduled event (events.CloudWatchEvent) and returns
// {"job":"nightly-report","source":"<source>","detail_type":"<detail-type>","greeting":"hello, <source>"}.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"example.com/sample/internal/greet"
)

// JobName is the name the function reports itself under.
const JobName = "nightly-report"

// Report is what the function returns.
type Report struct {
	Job        string `json:"job"`
	Source     string `json:"source"`
	DetailType string `json:"detail_type"`
	Greeting   string `json:"greeting"`
}

func handle(_ context.Context, ev events.CloudWatchEvent) (Report, error) {
	return Report{
		Job:        JobName,
		Source:     ev.Source,
		DetailType: ev.DetailType,
		Greeting:   greet.Hello(ev.Source),
	}, nil
}

func main() {
	lambda.Start(handle)
}
