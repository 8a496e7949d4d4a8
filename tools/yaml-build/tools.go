//go:build tools

// Package tools pins the YAML language host (pulumi-language-yaml) so that `go build` can build it offline
// from the Go module proxy (github.com/pulumi/pulumi-yaml is served). See scripts/pulumi.sh.
package tools

import (
	_ "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml"
)
