#!/bin/sh
# dev-cli-config.sh: writes a Terraform CLI configuration whose dev_overrides serve the provider
# binary in BIN_DIR (a directory holding terraform-provider-drbd) for SOURCE, so that terraform
# uses that build without `terraform init` and without any registry. The one place that writes
# this file: the demo, the example checks, the docs generator, the lab tests and the refresh
# benchmark all call it.
#
# Usage: scripts/dev-cli-config.sh OUT_FILE BIN_DIR [SOURCE]
#   SOURCE  the provider address to override (default registry.terraform.io/seed-a700e435/drbd)
# Then: TF_CLI_CONFIG_FILE=OUT_FILE terraform ...
set -eu
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
	sed -n '8,10p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
fi
out=$1 bin=$2 source=${3:-registry.terraform.io/seed-a700e435/drbd}
case $bin$source in
*\"* | *\\* | *\$*)
	echo "dev-cli-config.sh: $bin or $source holds a character HCL would interpret (\" \\ \$)" >&2
	exit 2
	;;
esac
cat >"$out" <<CFG
provider_installation {
  dev_overrides {
    "$source" = "$bin"
  }
  direct {}
}
CFG
