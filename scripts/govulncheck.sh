#!/usr/bin/env bash
# govulncheck.sh: govulncheck ./... against the Go vulnerability database.
#
# The database is a pinned snapshot: the OSV files of the golang.org/x/vulndb module at
# VULNDB_VERSION, fetched through the Go module proxy (checked against sum.golang.org like any
# module) and indexed with that module's own cmd/indexdb into the layout govulncheck reads
# (-db file://...). That works where vuln.go.dev is not reachable, and gives the same answer on
# every run until the pin is moved. The indexed database is cached outside the clone, keyed by the
# version: ${XDG_CACHE_HOME:-~/.cache}/terraform-provider-drbd/vulndb-<version>.
#
# GOVULNDB=https://vuln.go.dev scripts/govulncheck.sh checks against the live database instead.
# Move the pin with: go list -m -versions golang.org/x/vulndb (or @latest).
set -euo pipefail
cd "$(dirname "$0")/.."
GOVULNCHECK_VERSION=${GOVULNCHECK_VERSION:-v1.9.0}
VULNDB_VERSION=${VULNDB_VERSION:-v0.0.0-20261105234957-e22db6528018}

# The standard library is checked at the version the release is built with: go.mod's toolchain
# line (fetched from the Go module proxy when this machine's Go is another one).
tc=$(sed -n 's/^toolchain \(go[0-9][0-9.]*\).*/\1/p' go.mod)
if [ -n "$tc" ]; then export GOTOOLCHAIN=$tc+auto; fi

db=${GOVULNDB:-}
if [ -z "$db" ]; then
	cache=${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-drbd/vulndb-$VULNDB_VERSION
	if [ ! -f "$cache/index/db.json" ]; then
		echo "indexing the Go vulnerability database golang.org/x/vulndb@$VULNDB_VERSION into $cache"
		src=$(go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" |
			sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
		[ -d "$src/data/osv" ] || { echo "golang.org/x/vulndb@$VULNDB_VERSION has no data/osv" >&2; exit 1; }
		rm -rf "$cache.partial"
		mkdir -p "$(dirname "$cache")"
		go run "golang.org/x/vulndb/cmd/indexdb@$VULNDB_VERSION" -vulns "$src/data/osv" -out "$cache.partial"
		rm -rf "$cache"
		mv "$cache.partial" "$cache"
	fi
	db=file://$cache
fi
echo "govulncheck $GOVULNCHECK_VERSION, $(go env GOVERSION), database $db"
go run "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION" -db "$db" ./...
