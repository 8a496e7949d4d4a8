//go:build tools

// Package tools pins the Pulumi CLI so that `go build` can build it offline from the Go module proxy
// without tripping over the replace directives of Pulumi's own go.mod. See scripts/pulumi.sh.
// The Node.js language host is built by its own wrapper, tools/language-build (it needs an older sdk/v3).
package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
)
