// Command api is an API Gateway HTTP API (payload format 2.0) function.
//
// It answers every request with 200 and a JSON body
// {"message":"hello, <name>","path":"<rawPath>"}, where name is the query
// string parameter "name" (default "world").
package main

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"example.com/sample/cmd/internal/shared"
	"example.com/sample/internal/greet"
)

type response struct {
	Message string `json:"message"`
	Path    string `json:"path"`
}

func handle(_ context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return shared.JSONResponse(http.StatusOK, response{
		Message: greet.Hello(req.QueryStringParameters["name"]),
		Path:    req.RawPath,
	})
}

func main() {
	lambda.Start(handle)
}
