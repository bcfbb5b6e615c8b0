package shared

import "testing"

func TestJSONResponse(t *testing.T) {
	resp, err := JSONResponse(201, map[string]int{"n": 1})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 201 {
		t.Errorf("status = %d, want 201", resp.StatusCode)
	}
	if got := resp.Headers["content-type"]; got != "application/json" {
		t.Errorf("content-type = %q", got)
	}
	if resp.Body != `{"n":1}` {
		t.Errorf("body = %q", resp.Body)
	}
	if resp.IsBase64Encoded {
		t.Error("body must not be base64 encoded")
	}
}

func TestJSONResponseMarshalError(t *testing.T) {
	if _, err := JSONResponse(200, make(chan int)); err == nil {
		t.Fatal("expected an error for an unmarshalable body")
	}
}
