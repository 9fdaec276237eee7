//go:build generate

// Package tools pins the code-generation tools of the provider (go generate sets the
// "generate" build tag, so this file is seen by go generate and ignored by go build).
package tools

import (
	// Documentation generation: tfplugindocs, run by gendocs.sh.
	_ "github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs"

	// Test output for make test: package results as they finish, and a closing summary.
	_ "gotest.tools/gotestsum"
)

// Generate docs/ from templates/ and examples/, then validate it; see gendocs.sh for why the
// schema comes from the local Terraform binary and never from a download.
//go:generate bash gendocs.sh
