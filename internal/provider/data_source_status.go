package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
)

// statusDataSource is the drbd_status data source.
type statusDataSource struct{ remoteDataSourceBase }

func (d *statusDataSource) Schema(ctx context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{MarkdownDescription: desc, Computed: true}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads the DRBD status of one resource on one node, in DRBD's own words: " +
			"`/proc/drbd` on DRBD 8.3/8.4, `drbdsetup status --json` on DRBD 9. A resource that is not up reads as " +
			"`configured = false` with connection state `Unconfigured`, not as an error.",
		Attributes: connectionDataSourceAttributes(map[string]schema.Attribute{
			"resource": schema.StringAttribute{
				MarkdownDescription: "DRBD resource name, e.g. `pc0`.",
				Required:            true,
				Validators:          []validator.String{drbdNameValidator()},
			},
			"configured":        schema.BoolAttribute{MarkdownDescription: "Whether the resource is up (configured in the kernel).", Computed: true},
			"device":            str("DRBD device, e.g. `/dev/drbd0`."),
			"role":              str("Local role: `Primary`, `Secondary` or `Unknown`."),
			"peer_role":         str("Peer's role: `Primary`, `Secondary` or `Unknown`."),
			"connection_state":  str("Connection state, e.g. `Connected`, `SyncSource`, `WFConnection`, `StandAlone`, or `Unconfigured`."),
			"replication_state": str("DRBD 9 replication state (`Established`, `SyncSource`, ...); empty on DRBD 8."),
			"disk_state":        str("Local disk state, e.g. `UpToDate`."),
			"peer_disk_state":   str("Peer's disk state, e.g. `UpToDate`, `DUnknown`."),
			"sync_percent": schema.Float64Attribute{
				MarkdownDescription: "Percentage of the device in sync (100 when in sync).",
				Computed:            true,
			},
			"out_of_sync_kib": schema.Int64Attribute{MarkdownDescription: "KiB still out of sync.", Computed: true},
			"in_sync":         schema.BoolAttribute{MarkdownDescription: "Connected with both disks UpToDate.", Computed: true},
			"drbd_version":    str("Version of the DRBD kernel module, e.g. `8.4.11`."),
			"utils_version":   str("Version of drbd-utils (`drbdadm`), e.g. `9.22.0`; empty when unknown."),
			"split_brain": schema.BoolAttribute{
				MarkdownDescription: "Whether the node is StandAlone and DRBD itself reported a split brain on it since its last " +
					"successful handshake. It is decided from the kernel log, read in the same round trip as the status (`dmesg`; " +
					"with `sudo = true` it runs under sudo like every command): true when the node is StandAlone and a " +
					"`Split-Brain detected` message for this resource, whatever words follow it, comes after its last successful " +
					"handshake (a connection state change to `Connected`, `WFBitMapS/T`, `SyncSource/Target`, ...; on DRBD 9 also " +
					"`repl( ... -> Established )`, per peer). \"Automatically solved\" or \"manually solved\" counts as a " +
					"resolution only when such a state change follows: with both nodes Primary, DRBD 8.4.11 logs " +
					"`Split-Brain detected, 2 primaries, automatically solved. Sync from this node`, then refuses the resync " +
					"(`State change failed: Multiple primaries not allowed by config`) and goes StandAlone. A StandAlone " +
					"connection left by `drbdadm disconnect` is not a split brain. When the kernel log cannot be read (a non-root " +
					"user without sudo under `kernel.dmesg_restrict`), it is false and a warning says so; when the kernel's ring " +
					"buffer has overwritten the message, it is false too.",
				Computed: true,
			},
			"raw": str("The raw status text the values were read from (`/proc/drbd`, or the JSON of `drbdsetup status`)."),
		}),
		Blocks: map[string]schema.Block{"timeouts": dataSourceTimeoutsBlock(ctx)},
	}
}

func (d *statusDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	m, h, name, p := readResource[statusDataSourceModel](ctx, &d.remoteBase, req.Config.Get, "Unable to Read DRBD Status", &resp.Diagnostics)
	if p == nil {
		return
	}
	st := p.Status
	m.Configured = types.BoolValue(st.Configured)
	conn := string(st.ConnectionState)
	if !st.Configured {
		conn = "Unconfigured"
	}
	m.Device = types.StringValue(p.Device())
	m.fill(st)
	m.ConnectionState = types.StringValue(conn)
	m.SyncPercent = types.Float64Value(st.SyncPercent)
	m.OutOfSyncKiB = types.Int64Value(st.OutOfSyncKiB)
	m.InSync = types.BoolValue(drbd.InSync(st))
	m.DRBDVersion = types.StringValue(versionString(p.Versions.Kernel))
	m.UtilsVersion = types.StringValue(versionString(p.Versions.Utils))
	m.SplitBrain = types.BoolValue(st.SplitBrain)
	h.warnSecondPrimary(&resp.Diagnostics, st, name)
	if st.SplitBrainUnknown && st.ConnectionState == drbd.ConnStandAlone {
		resp.Diagnostics.AddWarning("Split Brain Unknown",
			fmt.Sprintf("DRBD resource %s on %s is StandAlone, and whether DRBD reported a split brain is unknown: %s. "+
				"split_brain is false. Read the kernel log as root, or set sudo = true on the provider.", name, h, p.KernelLogError))
	}
	m.Raw = types.StringValue(p.Raw)
	h.save(ctx, &resp.Diagnostics, &resp.State, &m, name.String())
}

// versionString is v as DRBD prints it, "" when no version was read.
func versionString(v drbd.Version) string {
	if v.IsZero() {
		return ""
	}
	return v.String()
}
