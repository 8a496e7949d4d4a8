// Command gen-sdk writes the Python SDK of the netpersona package from schema.json with the Pulumi engine's
// own code generator (pkg/codegen/python, the generator `pulumi package gen-sdk --language python` runs
// through the Python language host, which cannot be built here: see the README). Offline: the schema has
// no references to other packages, so no plugin is loaded.
//
// Usage: gen-sdk SCHEMA.json OUT_DIR
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

// noRefs refuses every package reference: netpersona's schema refers only to its own types.
type noRefs struct{}

func (noRefs) LoadPackage(pkg string, _ *semver.Version) (*schema.Package, error) {
	return nil, fmt.Errorf("gen-sdk: schema refers to package %q, which is not loaded offline", pkg)
}

func (noRefs) LoadPackageV2(_ context.Context, d *schema.PackageDescriptor) (*schema.Package, error) {
	return noRefs{}.LoadPackage(d.Name, nil)
}

func (noRefs) LoadPackageReference(pkg string, _ *semver.Version) (schema.PackageReference, error) {
	return nil, fmt.Errorf("gen-sdk: schema refers to package %q, which is not loaded offline", pkg)
}

func (noRefs) LoadPackageReferenceV2(_ context.Context, d *schema.PackageDescriptor) (schema.PackageReference, error) {
	return noRefs{}.LoadPackageReference(d.Name, nil)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gen-sdk SCHEMA.json OUT_DIR")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "gen-sdk:", err)
		os.Exit(1)
	}
}

func run(schemaPath, out string) error {
	raw, err := os.ReadFile(schemaPath)
	if err != nil {
		return err
	}
	var spec schema.PackageSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		return fmt.Errorf("%s: %w", schemaPath, err)
	}
	pkg, diags, err := schema.BindSpec(spec, noRefs{}, schema.ValidationOptions{})
	if err != nil {
		return err
	}
	if diags.HasErrors() {
		return diags
	}
	files, err := python.GeneratePackage("netpersona-gen-sdk", pkg, nil, noRefs{})
	if err != nil {
		return err
	}
	for name, text := range files {
		p := filepath.Join(out, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, text, 0o644); err != nil {
			return err
		}
	}
	return nil
}
