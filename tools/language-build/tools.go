//go:build tools

// Package tools pins the Node.js and Python language hosts (pulumi-language-nodejs, pulumi-language-python) so
// that `go build` can build them offline from the Go module proxy. Their own modules
// (sdk/nodejs/cmd/pulumi-language-nodejs/v3, sdk/python/cmd/pulumi-language-python/v3) are refused by the proxy;
// up to v3.68.0 both hosts lived inside github.com/pulumi/pulumi/sdk/v3, which is served.
// See scripts/pulumi.sh and the README ("The Pulumi engine, offline").
package tools

import (
	_ "github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs"
	_ "github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python"
)
