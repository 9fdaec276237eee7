#!/usr/bin/env bash
# validate-examples.sh: `terraform fmt -check` and `terraform validate` over every example, with
# no registry access: a freshly built provider is served through dev_overrides (TF_CLI_CONFIG_FILE),
# with which `terraform validate` needs no `terraform init`.
#
# Also checks that every resource and data source of the provider's schema has its example
# (examples/resources/<type>/resource.tf + import.sh unless the type has no import,
# examples/data-sources/<type>/data-source.tf)
# and that every import.sh is valid shell that imports its own type.
#
# Environment: TERRAFORM (default: `command -v terraform`, then /usr/local/bin/terraform).
set -euo pipefail
cd "$(dirname "$0")/.."

tf=${TERRAFORM:-$(command -v terraform 2>/dev/null || true)}
tf=${tf:-/usr/local/bin/terraform}
[ -x "$tf" ] || { echo "validate-examples: no terraform binary (set TERRAFORM=/path/to/terraform)" >&2; exit 1; }
export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0

tmp=$(mktemp -d "${TMPDIR:-/tmp}/drbd-examples.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

fail=0
problem() { echo "FAIL: $*" >&2; fail=1; }

echo "--- building the provider"
go build -o "$tmp/plugins/terraform-provider-drbd" .
scripts/dev-cli-config.sh "$tmp/terraformrc" "$tmp/plugins"
export TF_CLI_CONFIG_FILE="$tmp/terraformrc"

echo "--- terraform fmt -check -recursive examples/"
if ! "$tf" fmt -check -recursive -diff examples/; then
  problem "examples need terraform fmt (run: make fmt)"
fi

echo "--- every resource and data source has an example"
mkdir "$tmp/schema"
cat >"$tmp/schema/main.tf" <<'EOF'
terraform {
  required_providers {
    drbd = { source = "seed-a700e435/drbd" }
  }
}
EOF
"$tf" -chdir="$tmp/schema" providers schema -json >"$tmp/schema.json"
schematypes() { (cd tools && go run ./cmd/schematypes "$1") <"$tmp/schema.json"; }
resources=$(schematypes resources)
data_sources=$(schematypes data-sources)
[ -n "$resources" ] || problem "the provider schema lists no resources"
# Types without import: a drbd_verify run leaves nothing on the hosts to read back (its docs say so).
no_import=" drbd_verify "
for r in $resources; do
  [ -f "examples/resources/$r/resource.tf" ] || problem "examples/resources/$r/resource.tf missing"
  imp="examples/resources/$r/import.sh"
  if [[ $no_import == *" $r "* ]]; then
    [ ! -f "$imp" ] || problem "$imp exists, but $r does not support import"
  elif [ ! -f "$imp" ]; then
    problem "$imp missing"
  else
    bash -n "$imp" || problem "$imp is not valid shell"
    grep -Eq "^terraform import $r\.[A-Za-z0-9_-]+ [^ ]+/[^ ]+$" "$imp" ||
      problem "$imp has no 'terraform import $r.<name> host[:port]/...' line"
  fi
done
for d in $data_sources; do
  [ -f "examples/data-sources/$d/data-source.tf" ] || problem "examples/data-sources/$d/data-source.tf missing"
done

echo "--- terraform validate"
# Every directory holding .tf files is a configuration. The snippets under resources/ and
# data-sources/ carry no terraform block (as on the Registry); validate them with the
# provider's source address added, from a copy so that nothing is written into examples/.
mapfile -t dirs < <(find examples -name '*.tf' -printf '%h\n' | sort -u)
[ "${#dirs[@]}" -gt 0 ] || problem "no examples found"
for dir in "${dirs[@]}"; do
  work="$tmp/validate/$dir"
  mkdir -p "$work"
  cp -R "$dir/." "$work/"
  if ! grep -qs 'required_providers' "$work"/*.tf; then
    cat >"$work/zz_required_providers.tf" <<'EOF'
terraform {
  required_providers {
    drbd = { source = "seed-a700e435/drbd" }
  }
}
EOF
  fi
  if out=$("$tf" -chdir="$work" validate -no-color 2>&1); then
    echo "ok   $dir"
  else
    echo "$out" >&2
    problem "terraform validate $dir"
  fi
done

if [ "$fail" -ne 0 ]; then
  echo "validate-examples: FAILED" >&2
  exit 1
fi
echo "validate-examples: all ${#dirs[@]} example configurations are formatted and valid"
