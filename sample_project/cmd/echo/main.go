// Command echo is a plain JSON-in/JSON-out function.
//
// Input {"text": "..."}; output {"echo": "<text>", "length": <n>, "upper": "<TEXT>"},
// where length counts Unicode code points (characters, as Python's len does).
// An empty text is an error.
package main

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/lambda"
)

// Input is the event the function accepts.
type Input struct {
	Text string `json:"text"`
}

// Output is what the function returns.
type Output struct {
	Echo   string `json:"echo"`
	Length int    `json:"length"`
	Upper  string `json:"upper"`
}

func handle(_ context.Context, in Input) (Output, error) {
	if in.Text == "" {
		return Output{}, errors.New("text must not be empty")
	}
	return Output{
		Echo:   in.Text,
		Length: utf8.RuneCountInString(in.Text),
		Upper:  strings.ToUpper(in.Text),
	}, nil
}

func main() {
	lambda.Start(handle)
}
