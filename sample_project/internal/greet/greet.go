// Package greet builds the greeting text shared by the sample functions.
package greet

import "strings"

// DefaultName is used when no name is given.
const DefaultName = "world"

// Hello returns "hello, <name>". Surrounding whitespace is trimmed from name,
// and an empty name becomes DefaultName.
func Hello(name string) string {
	name = strings.TrimSpace(name)
	if name == "" {
		name = DefaultName
	}
	return "hello, " + name
}
