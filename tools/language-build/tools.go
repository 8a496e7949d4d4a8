//go:build tools

// Package tools pins the Node.js language host (pulumi-language-nodejs) so that `go build` can build it
// offline from the Go module proxy. Its own module (sdk/nodejs/cmd/pulumi-language-nodejs/v3) is refused
// by the proxy; up to v3.68.0 the host lived inside github.com/pulumi/pulumi/sdk/v3, which is served.
// See scripts/pulumi.sh and the README ("The Pulumi engine, offline").
package tools

import (
	_ "github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs"
)
