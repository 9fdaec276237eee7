#!/bin/sh
# dev-cli-config.sh: writes a Terraform or OpenTofu CLI configuration whose dev_overrides serve
# the provider binary in BIN_DIR (a directory holding terraform-provider-drbd) for SOURCE, so
# that terraform or tofu uses that build without `init` and without any registry. The one place
# that writes this file: the demo, the example checks, the docs generator, the lab tests and the
# refresh benchmark all call it.
#
# Usage: scripts/dev-cli-config.sh OUT_FILE BIN_DIR [SOURCE]
#   SOURCE  the provider address to override (default: each address in scripts/provider-addresses)
# Then: TF_CLI_CONFIG_FILE=OUT_FILE terraform ... (or tofu ...)
set -eu
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
	sed -n '8,10p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
fi
out=$1 bin=$2
if [ $# -eq 3 ]; then
	sources=$3
else
	sources=$(sed -e '/^#/d' -e '/^[[:space:]]*$/d' "$(dirname "$0")/provider-addresses")
fi
for source in $sources; do
	case $bin$source in
	*\"* | *\\* | *\$*)
		echo "dev-cli-config.sh: $bin or $source holds a character HCL would interpret (\" \\ \$)" >&2
		exit 2
		;;
	esac
done
{
	echo 'provider_installation {'
	echo '  dev_overrides {'
	for source in $sources; do
		printf '    "%s" = "%s"\n' "$source" "$bin"
	done
	echo '  }'
	echo '  direct {}'
	echo '}'
} >"$out"
