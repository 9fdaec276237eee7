package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/hostfs"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
)

// checkedString is the provider's one plan-time string validator: a description and a check
// that returns the problem with a value as a full sentence ("" when the value is fine).
// Null and unknown values are left to the attribute's Required/Optional rules.
type checkedString struct {
	desc    string
	summary string
	check   func(string) string
}

// Description implements validator.String.
func (v checkedString) Description(_ context.Context) string { return v.desc }

// MarkdownDescription implements validator.String.
func (v checkedString) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

// ValidateString implements validator.String.
func (v checkedString) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if problem := v.check(req.ConfigValue.ValueString()); problem != "" {
		resp.Diagnostics.AddAttributeError(req.Path, v.summary, problem)
	}
}

// errSentence turns an error into a diagnostic sentence, or "" for nil.
func errSentence(err error) string {
	if err == nil {
		return ""
	}
	return err.Error() + "."
}

// hostValidator accepts a host name or an IP address (no port).
func hostValidator() validator.String {
	return checkedString{"must be a host name or an IP address", "Invalid Host", func(h string) string {
		if validHost(h) {
			return ""
		}
		return fmt.Sprintf("%q must be a host name or an IP address (put the port in the port attribute, not in host).", h)
	}}
}

// hostKeyValidator accepts what the SSH pool accepts as a pinned key (sshx.ValidateHostKey):
// public key lines, without a known_hosts marker such as @revoked or @cert-authority.
func hostKeyValidator() validator.String {
	return checkedString{"one public key line per key (`ssh-ed25519 AAAA...`, or a known_hosts line without a marker)", "Invalid Host Key", func(s string) string {
		return errSentence(sshx.ValidateHostKey(s))
	}}
}

func absPathValidator() validator.String {
	return checkedString{"must be a clean absolute path without white space or shell metacharacters", "Invalid Path", func(p string) string {
		if problem := validateAbsPath(p); problem != "" {
			return fmt.Sprintf("%q %s.", p, problem)
		}
		return ""
	}}
}

// durationValidator checks Go duration strings such as "30s" or "2m", at least min.
func durationValidator(minimum time.Duration) validator.String {
	return checkedString{"must be a Go duration such as 30s, 2m or 1h", "Invalid Duration", func(s string) string {
		d, err := time.ParseDuration(s)
		switch {
		case err != nil || d < 0:
			return fmt.Sprintf("%q is not a valid duration: use a Go duration such as \"30s\", \"2m\" or \"1h\".", s)
		case d < minimum:
			return fmt.Sprintf("%q is shorter than the minimum of %s.", s, minimum)
		}
		return ""
	}}
}

// drbdNameValidator accepts what drbd.ValidateResourceName accepts.
func drbdNameValidator() validator.String {
	return checkedString{"must be a valid DRBD resource name", "Invalid DRBD Resource Name", func(s string) string {
		return errSentence(drbd.ValidateResourceName(s))
	}}
}

// rateValidator accepts a resync rate in DRBD's syntax (drbd.ValidateRate).
func rateValidator() validator.String {
	return checkedString{"must be a DRBD rate such as 1100M, 40960K or 100M", "Invalid Resync Rate", func(s string) string {
		return errSentence(drbd.ValidateRate(s))
	}}
}

// nonBlankValidator refuses an empty or white-space value.
func nonBlankValidator() validator.String {
	return checkedString{"must not be blank", "Blank Value", func(s string) string {
		if strings.TrimSpace(s) == "" {
			return "The value must not be empty or only white space."
		}
		return ""
	}}
}

// drbdDeviceValidator accepts what drbd.ValidateDRBDDevice accepts, after absPathValidator's
// checks.
func drbdDeviceValidator() validator.String {
	return checkedString{"a DRBD device: /dev/drbdN, /dev/drbd/by-res/RESOURCE[/VOLUME] or /dev/drbd/by-disk/DISK", "Invalid DRBD Device", func(p string) string {
		if validateAbsPath(p) != "" {
			return "" // absPathValidator says why
		}
		return errSentence(drbd.ValidateDRBDDevice(p))
	}}
}

// mkfsOptionsValidator accepts what hostfs.SplitMkfsOptions accepts.
func mkfsOptionsValidator() validator.String {
	return checkedString{"white-space separated mkfs options without shell metacharacters", "Invalid mkfs Options", func(s string) string {
		_, err := hostfs.SplitMkfsOptions(s)
		return errSentence(err)
	}}
}

// mountOptionsValidator accepts what hostfs.ValidateMountOptions accepts.
func mountOptionsValidator() validator.String {
	return checkedString{"comma-separated mount options without shell metacharacters", "Invalid Mount Options", func(s string) string {
		return errSentence(hostfs.ValidateMountOptions(s))
	}}
}

// fenceEntryValidator accepts a fenced_hosts entry (parseFence).
func fenceEntryValidator() validator.String {
	return checkedString{"must be a host or host:port (IPv6 as [addr]:port)", "Invalid Fenced Host", func(s string) string {
		_, _, err := parseFence(s)
		return errSentence(err)
	}}
}
