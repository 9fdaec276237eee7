package provider

import (
	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
)

// The models shared by several resources and the data source, as the tls provider keeps
// its shared models in one place.

// connectionModel holds the connection attributes every resource and data source has. It is
// embedded in their models.
type connectionModel struct {
	Host               types.String `tfsdk:"host"`
	Port               types.Int64  `tfsdk:"port"`
	User               types.String `tfsdk:"user"`
	HostKey            types.String `tfsdk:"host_key"`
	HostKeyFingerprint types.String `tfsdk:"host_key_fingerprint"`
	ID                 types.String `tfsdk:"id"`
}

// target turns the connection attributes into an sshx target; a fingerprint already in state is
// enforced (host_key_policy = "accept-new").
func (c connectionModel) target() sshx.Target {
	t := sshx.Target{
		Host:    c.Host.ValueString(),
		Port:    int(c.Port.ValueInt64()),
		User:    c.User.ValueString(),
		HostKey: c.HostKey.ValueString(),
	}
	if !c.HostKeyFingerprint.IsUnknown() {
		t.KnownFingerprint = c.HostKeyFingerprint.ValueString()
	}
	return t
}

// pairStateModel is the state of the pair as one node sees it, in DRBD's own words: the
// computed attributes of drbd_sync, drbd_primary and drbd_status.
type pairStateModel struct {
	ConnectionState  types.String `tfsdk:"connection_state"`
	ReplicationState types.String `tfsdk:"replication_state"`
	DiskState        types.String `tfsdk:"disk_state"`
	PeerDiskState    types.String `tfsdk:"peer_disk_state"`
}

// fillPair sets the pair state from a status.
func (s *pairStateModel) fillPair(st drbd.Status) {
	s.ConnectionState = types.StringValue(string(st.ConnectionState))
	s.ReplicationState = types.StringValue(st.ReplicationState)
	s.DiskState = types.StringValue(string(st.DiskState))
	s.PeerDiskState = types.StringValue(string(st.PeerDiskState))
}

// unknownPairState is the pair state of an imported resource until its first Read.
func unknownPairState() pairStateModel {
	return pairStateModel{ConnectionState: types.StringUnknown(), ReplicationState: types.StringUnknown(),
		DiskState: types.StringUnknown(), PeerDiskState: types.StringUnknown()}
}

// unknownRoleState is unknownPairState with unknown roles.
func unknownRoleState() roleStateModel {
	return roleStateModel{Role: types.StringUnknown(), PeerRole: types.StringUnknown(), pairStateModel: unknownPairState()}
}

// roleStateModel is pairStateModel with both roles: the computed attributes of drbd_primary
// and drbd_status.
type roleStateModel struct {
	Role     types.String `tfsdk:"role"`
	PeerRole types.String `tfsdk:"peer_role"`
	pairStateModel
}

// fill sets the roles and the pair state from a status.
func (s *roleStateModel) fill(st drbd.Status) {
	s.Role = types.StringValue(roleOrUnknown(st.Role))
	s.PeerRole = types.StringValue(roleOrUnknown(st.PeerRole))
	s.fillPair(st)
}

// roleOrUnknown returns r, or DRBD's own word "Unknown" when no role was read.
func roleOrUnknown(r drbd.Role) string {
	if r == "" {
		return string(drbd.RoleUnknown)
	}
	return string(r)
}

// probedHost is a host with the status just read from it.
type probedHost struct {
	host  *remoteHost
	probe *drbd.Probe
}

// providerModel is the provider block.
type providerModel struct {
	User                 types.String         `tfsdk:"user"`
	Port                 types.Int64          `tfsdk:"port"`
	PrivateKey           types.String         `tfsdk:"private_key"`
	PrivateKeyPassphrase types.String         `tfsdk:"private_key_passphrase"`
	Certificate          types.String         `tfsdk:"certificate"`
	Password             types.String         `tfsdk:"password"`
	Agent                types.Bool           `tfsdk:"agent"`
	KnownHosts           types.String         `tfsdk:"known_hosts"`
	KnownHostsFile       types.String         `tfsdk:"known_hosts_file"`
	HostKeyPolicy        types.String         `tfsdk:"host_key_policy"`
	Bastion              *bastionModel        `tfsdk:"bastion"`
	Sudo                 types.Bool           `tfsdk:"sudo"`
	ConnectTimeout       timetypes.GoDuration `tfsdk:"connect_timeout"`
	ConnectRetries       types.Int64          `tfsdk:"connect_retries"`
	KeepaliveInterval    timetypes.GoDuration `tfsdk:"keepalive_interval"`
	FencedHosts          types.Set            `tfsdk:"fenced_hosts"`
}

// bastionModel is the provider's bastion block.
type bastionModel struct {
	Host       types.String `tfsdk:"host"`
	Port       types.Int64  `tfsdk:"port"`
	User       types.String `tfsdk:"user"`
	PrivateKey types.String `tfsdk:"private_key"`
	Password   types.String `tfsdk:"password"`
	HostKey    types.String `tfsdk:"host_key"`
}
