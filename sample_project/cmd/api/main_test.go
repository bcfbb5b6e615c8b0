package main

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestHandle(t *testing.T) {
	cases := []struct {
		desc string
		req  events.APIGatewayV2HTTPRequest
		want string
	}{
		{
			desc: "name given",
			req: events.APIGatewayV2HTTPRequest{
				RawPath:               "/hello",
				QueryStringParameters: map[string]string{"name": "gbl"},
			},
			want: `{"message":"hello, gbl","path":"/hello"}`,
		},
		{
			desc: "no query string",
			req:  events.APIGatewayV2HTTPRequest{RawPath: "/"},
			want: `{"message":"hello, world","path":"/"}`,
		},
		{
			desc: "empty name",
			req: events.APIGatewayV2HTTPRequest{
				RawPath:               "/a/b",
				QueryStringParameters: map[string]string{"name": ""},
			},
			want: `{"message":"hello, world","path":"/a/b"}`,
		},
	}
	for _, c := range cases {
		resp, err := handle(context.Background(), c.req)
		if err != nil {
			t.Fatalf("%s: %v", c.desc, err)
		}
		if resp.StatusCode != 200 {
			t.Errorf("%s: status = %d, want 200", c.desc, resp.StatusCode)
		}
		if ct := resp.Headers["content-type"]; ct != "application/json" {
			t.Errorf("%s: content-type = %q", c.desc, ct)
		}
		if resp.Body != c.want {
			t.Errorf("%s: body = %s, want %s", c.desc, resp.Body, c.want)
		}
	}
}

// The example event shipped in events/api.json must decode and give the
// documented answer.
func TestExampleEvent(t *testing.T) {
	data, err := os.ReadFile("../../events/api.json")
	if err != nil {
		t.Fatal(err)
	}
	var req events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(data, &req); err != nil {
		t.Fatal(err)
	}
	resp, err := handle(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"message":"hello, gbl","path":"/hello"}`; resp.Body != want {
		t.Errorf("body = %s, want %s", resp.Body, want)
	}
}
