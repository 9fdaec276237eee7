#!/usr/bin/env bash
# gendocs.sh: regenerate ../docs with tfplugindocs (pinned in go.mod) and validate the result.
#
# tfplugindocs would otherwise look for terraform on PATH and, failing that, download the latest
# release from releases.hashicorp.com (not reachable in CI). To never depend on that fallback, this
# script builds the provider from the repository root, asks the LOCAL terraform binary for the
# provider schema (dev_overrides, so no `terraform init` and no registry), and hands the schema to
# both `tfplugindocs generate` and `tfplugindocs validate` with --providers-schema. The only
# network access is the Go module proxy, for tfplugindocs itself.
#
# Environment: TERRAFORM (path of the terraform binary; default: `command -v terraform`, then
# /usr/local/bin/terraform).
set -euo pipefail
cd "$(dirname "$0")"
tools=$PWD
root=$(cd .. && pwd)

tf=${TERRAFORM:-$(command -v terraform 2>/dev/null || true)}
tf=${tf:-/usr/local/bin/terraform}
if [ ! -x "$tf" ]; then
  echo "gendocs.sh: no terraform binary (set TERRAFORM=/path/to/terraform); refusing to let tfplugindocs download one" >&2
  exit 1
fi
# Keep the local binary first on PATH as well, in case anything else looks for terraform.
tfdir=$(dirname "$tf")
export PATH="$tfdir:$PATH"
export CHECKPOINT_DISABLE=1

work=$(mktemp -d "${TMPDIR:-/tmp}/drbd-docs.XXXXXX")
trap 'rm -rf "$work"' EXIT

# tfplugindocs resolves --provider-name drbd to "drbd" or "registry.terraform.io/hashicorp/drbd"
# in the schema JSON, so the schema is produced under the implied hashicorp/drbd address.
(cd "$root" && go build -o "$work/bin/terraform-provider-drbd" .)
"$root/scripts/dev-cli-config.sh" "$work/cli.tfrc" "$work/bin" registry.terraform.io/hashicorp/drbd
mkdir "$work/schema"
printf 'provider "drbd" {}\n' >"$work/schema/main.tf"
(cd "$work/schema" && TF_CLI_CONFIG_FILE="$work/cli.tfrc" "$tf" providers schema -json) >"$work/schema.json"

tfplugindocs() { (cd "$tools" && go run github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs "$@"); }

tfplugindocs generate \
  --provider-dir "$root" \
  --provider-name drbd \
  --rendered-provider-name DRBD \
  --providers-schema "$work/schema.json" \
  --website-temp-dir "$work/website"

tfplugindocs validate \
  --provider-dir "$root" \
  --provider-name drbd \
  --providers-schema "$work/schema.json" \
  --allowed-guide-subcategories "Guides"
