#!/usr/bin/env bash
# check-init.sh: the two ways the README offers to use a local build really work, offline.
#
#  (a) `make install`, then `terraform init` + `terraform validate` of a copy of
#      examples/chef-ha-failover. make install copies the provider into
#      ~/.terraform.d/plugins/<address>/<VERSION>/<os>_<arch>/ for each address in
#      scripts/provider-addresses (Terraform's registry.terraform.io/..., OpenTofu's
#      registry.opentofu.org/...), an implied local mirror directory of both CLIs; init must find
#      it there, which only works when the example pins that pre-release exactly (neither CLI
#      selects a pre-release from a range). HOME points at a temporary directory, so the real ~/.terraform.d is not touched
#      and nothing installed earlier can make the check pass; the CLI configuration is an empty
#      file (no provider_installation block, so the implied mirror is in effect) and Terraform's
#      HTTP(S) proxy is a closed local port, so any attempt to reach a registry fails the check
#      instead of passing silently.
#  (b) `terraform validate` of a fresh copy with dev_overrides and no `terraform init`.
#
# It also checks that the README's and the templates' required_providers snippets pin the same
# version as the Makefile's VERSION.
#
# Environment: TERRAFORM, the CLI: terraform or tofu (default: `command -v terraform`, then
# /usr/local/bin/terraform).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

tf=${TERRAFORM:-$(command -v terraform 2>/dev/null || true)}
tf=${tf:-/usr/local/bin/terraform}
[ -x "$tf" ] || { echo "check-init: no terraform binary (set TERRAFORM=/path/to/terraform)" >&2; exit 1; }
tf=$(cd "$(dirname "$tf")" && pwd)/$(basename "$tf")
cli=$(basename "$tf") # what the messages call it: terraform or tofu

version=$(sed -n 's/^VERSION[[:space:]]*?=[[:space:]]*//p' GNUmakefile)
[ -n "$version" ] || { echo "check-init: no VERSION in GNUmakefile" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/drbd-check-init.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

fail=0
problem() { echo "FAIL: $*" >&2; fail=1; }

echo "--- the documented snippets pin version = \"$version\""
for f in README.md examples/chef-ha-failover/versions.tf examples/provider/provider.tf \
  examples/from-two-fresh-vms/main.tf \
  docs/index.md docs/guides/chef-ha-failover.md docs/guides/from-two-fresh-vms.md; do
  if grep -q 'source *= *"seed-a700e435/drbd"' "$f" && ! grep -q "version *= *\"$version\"" "$f"; then
    problem "$f uses seed-a700e435/drbd without version = \"$version\""
  fi
done

# The CLI: no CLI configuration of the caller's, no checkpoint, no prompts, no registry.
tfoffline() {
  env -u TF_PLUGIN_CACHE_DIR -u TF_DATA_DIR \
    TF_CLI_CONFIG_FILE="$tmp/empty.tfrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0 \
    HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 NO_PROXY='' no_proxy='' \
    https_proxy=http://127.0.0.1:9 http_proxy=http://127.0.0.1:9 \
    HOME="$tmp/home" "$tf" "$@"
}
: >"$tmp/empty.tfrc"
mkdir -p "$tmp/home"

echo "--- (a) make install with HOME=$tmp/home"
# Go keeps its own caches and settings: only Terraform's plugin directory moves.
GOPATH=$(go env GOPATH) GOCACHE=$(go env GOCACHE) GOMODCACHE=$(go env GOMODCACHE) GOENV=$(go env GOENV) \
  HOME="$tmp/home" make --no-print-directory install
os_arch=$(go env GOOS)_$(go env GOARCH)
for address in $(sed -e '/^#/d' -e '/^[[:space:]]*$/d' scripts/provider-addresses); do
  plugin=.terraform.d/plugins/$address/$version/$os_arch/terraform-provider-drbd_v$version
  [ -f "$tmp/home/$plugin" ] || { echo "check-init: make install put no ~/$plugin" >&2; exit 1; }
  echo "installed ~/$plugin"
done

echo "--- (a) $cli init -backend=false (offline, implied local mirror) and validate"
cp -R examples/chef-ha-failover "$tmp/init"
rm -rf "$tmp/init/.terraform" "$tmp/init/.terraform.lock.hcl"
if out=$(tfoffline -chdir="$tmp/init" init -backend=false -no-color 2>&1); then
  if grep -q "Installing seed-a700e435/drbd v$version" <<<"$out"; then
    echo "ok   $cli init installed seed-a700e435/drbd v$version from the local mirror"
  else
    echo "$out" >&2
    problem "$cli init did not install seed-a700e435/drbd v$version"
  fi
  if out=$(tfoffline -chdir="$tmp/init" validate -no-color 2>&1); then
    echo "ok   $cli validate after init"
  else
    echo "$out" >&2
    problem "$cli validate after $cli init"
  fi
else
  echo "$out" >&2
  problem "$cli init of examples/chef-ha-failover after make install"
fi

echo "--- (b) $cli validate with dev_overrides, without $cli init"
mkdir -p "$tmp/dev/bin"
cp "$root/bin/terraform-provider-drbd" "$tmp/dev/bin/"
"$root/scripts/dev-cli-config.sh" "$tmp/dev/terraformrc" "$tmp/dev/bin"
cp -R examples/chef-ha-failover "$tmp/dev/work"
rm -rf "$tmp/dev/work/.terraform" "$tmp/dev/work/.terraform.lock.hcl"
if out=$(TF_CLI_CONFIG_FILE="$tmp/dev/terraformrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0 \
  HTTPS_PROXY=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 NO_PROXY='' no_proxy='' \
  "$tf" -chdir="$tmp/dev/work" validate -no-color 2>&1); then
  echo "ok   $cli validate with dev_overrides"
else
  echo "$out" >&2
  problem "$cli validate with dev_overrides"
fi
[ ! -e "$tmp/dev/work/.terraform" ] || problem "validate with dev_overrides created .terraform (it must need no init)"

if [ "$fail" -ne 0 ]; then
  echo "check-init: FAILED" >&2
  exit 1
fi
echo "check-init: make install + $cli init and dev_overrides both work offline"
