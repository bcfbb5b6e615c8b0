// Package shared holds helpers used by the sample functions under cmd/.
//
// It lives under cmd/ on purpose: it is a directory below cmd/ that is not a
// main package, so gbl must not treat it as a function.
package shared

import (
	"encoding/json"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
)

// JSONResponse marshals body and wraps it in an API Gateway HTTP API (v2)
// response with the given status code and a JSON content type.
func JSONResponse(status int, body any) (events.APIGatewayV2HTTPResponse, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusInternalServerError}, err
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"content-type": "application/json"},
		Body:       string(b),
	}, nil
}
