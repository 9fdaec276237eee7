// Command schematypes prints the resource or data source type names of a provider schema, one
// per line and sorted, from `terraform providers schema -json` on standard input. It lets
// scripts/validate-examples.sh check example coverage without jq.
//
// Usage: schematypes resources|data-sources < schema.json
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
)

// providerSchemas is the part of `terraform providers schema -json` this command reads.
type providerSchemas struct {
	ProviderSchemas map[string]struct {
		ResourceSchemas   map[string]json.RawMessage `json:"resource_schemas"`
		DataSourceSchemas map[string]json.RawMessage `json:"data_source_schemas"`
	} `json:"provider_schemas"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: schematypes resources|data-sources < schema.json")
		os.Exit(2)
	}
	names, err := typeNames(os.Stdin, os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "schematypes:", err)
		os.Exit(1)
	}
	for _, n := range names {
		fmt.Println(n)
	}
}

// typeNames returns the sorted type names of kind ("resources" or "data-sources") over every
// provider in the schema JSON read from r.
func typeNames(r io.Reader, kind string) ([]string, error) {
	var s providerSchemas
	if err := json.NewDecoder(r).Decode(&s); err != nil {
		return nil, fmt.Errorf("decode provider schema: %w", err)
	}
	if len(s.ProviderSchemas) == 0 {
		return nil, fmt.Errorf("no provider_schemas in the input")
	}
	var names []string
	for _, p := range s.ProviderSchemas {
		var m map[string]json.RawMessage
		switch kind {
		case "resources":
			m = p.ResourceSchemas
		case "data-sources":
			m = p.DataSourceSchemas
		default:
			return nil, fmt.Errorf("unknown kind %q: want resources or data-sources", kind)
		}
		for n := range m {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names, nil
}
