package provider

import (
	dstimeouts "github.com/hashicorp/terraform-plugin-framework-timeouts/datasource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
)

// The models of the provider block, every resource and the data source, and the parts they
// share, in one place as the tls provider keeps them.

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

// unresolvedTarget turns the connection attributes into an sshx target before the pool applies its defaults; a fingerprint already in state is
// enforced (host_key_policy = "accept-new").
func (c connectionModel) unresolvedTarget() sshx.Target {
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

// resourceNameModel is the resource attribute of the steps on one DRBD resource (drbd_primary,
// drbd_sync, drbd_status).
type resourceNameModel struct {
	Resource types.String `tfsdk:"resource"`
}

// drbdResource is the DRBD resource the model acts on (actsOnResource).
func (m resourceNameModel) drbdResource() types.String { return m.Resource }

// peerModel is peer_host, peer_port and peer_host_key of drbd_primary and drbd_sync: the other
// node of the pair, reached with the provider's credentials and the resource's user.
type peerModel struct {
	PeerHost    types.String `tfsdk:"peer_host"`
	PeerPort    types.Int64  `tfsdk:"peer_port"`
	PeerHostKey types.String `tfsdk:"peer_host_key"`
}

// peerConnection is the connection to peer_host (null when it is not set) as user, checked
// like every host: a pinned peer_host_key, known_hosts, and under accept-new fingerprint when
// one was recorded.
func (p peerModel) peerConnection(user, fingerprint types.String) connectionModel {
	return connectionModel{Host: p.PeerHost, Port: p.PeerPort, User: user, HostKey: p.PeerHostKey, HostKeyFingerprint: fingerprint}
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

// resourceResourceModel is the drbd_resource resource.
type resourceResourceModel struct {
	connectionModel
	Name        types.String `tfsdk:"name"`
	Config      types.String `tfsdk:"config"`
	Device      types.String `tfsdk:"device"`
	Minor       types.Int64  `tfsdk:"minor"`
	DRBDVersion types.String `tfsdk:"drbd_version"`
	// SplitBrainVictim makes apply reconnect a split-brained StandAlone node with --discard-my-data.
	SplitBrainVictim types.Bool     `tfsdk:"split_brain_victim"`
	Timeouts         timeouts.Value `tfsdk:"timeouts"`
	// Size and BackingSize are the first volume's DRBD device and backing disk sizes in bytes.
	Size         types.Int64 `tfsdk:"size"`
	BackingSize  types.Int64 `tfsdk:"backing_size"`
	GrowTriggers types.Map   `tfsdk:"grow_triggers"`
	peerModel
	// PeerHostFingerprint is the peer's host key fingerprint, recorded like host_key_fingerprint.
	PeerHostFingerprint types.String `tfsdk:"peer_host_fingerprint"`
}

// drbdResource is the DRBD resource the model acts on (actsOnResource).
func (m resourceResourceModel) drbdResource() types.String { return m.Name }

// primaryResourceModel is the drbd_primary resource.
type primaryResourceModel struct {
	connectionModel
	resourceNameModel
	Force                  types.Bool           `tfsdk:"force"`
	AllowOverwritePeerData types.Bool           `tfsdk:"allow_overwrite_peer_data"`
	DemoteOnDestroy        types.Bool           `tfsdk:"demote_on_destroy"`
	ConnectTimeout         timetypes.GoDuration `tfsdk:"connect_timeout"`
	peerModel
	SkipInitialSync types.Bool     `tfsdk:"skip_initial_sync"`
	Timeouts        timeouts.Value `tfsdk:"timeouts"`
	roleStateModel
	// PeerHostFingerprint is the peer's host key fingerprint, recorded like host_key_fingerprint.
	PeerHostFingerprint types.String `tfsdk:"peer_host_fingerprint"`
}

// peer is the connection to peer_host (null when it is not set); under accept-new the
// recorded peer_host_fingerprint is enforced.
func (m primaryResourceModel) peer() connectionModel {
	return m.peerConnection(m.User, m.PeerHostFingerprint)
}

// filesystemResourceModel is the drbd_filesystem resource.
type filesystemResourceModel struct {
	connectionModel
	Device       types.String   `tfsdk:"device"`
	Resource     types.String   `tfsdk:"resource"`
	FSType       types.String   `tfsdk:"fs_type"`
	MkfsOptions  types.String   `tfsdk:"mkfs_options"`
	Mountpoint   types.String   `tfsdk:"mountpoint"`
	MountOptions types.String   `tfsdk:"mount_options"`
	UUID         types.String   `tfsdk:"uuid"`
	Timeouts     timeouts.Value `tfsdk:"timeouts"`
	// Size is the filesystem's size in bytes; GrowTriggers plan a grow check when they change.
	Size         types.Int64 `tfsdk:"size"`
	GrowTriggers types.Map   `tfsdk:"grow_triggers"`
}

// syncResourceModel is the drbd_sync resource.
type syncResourceModel struct {
	connectionModel
	resourceNameModel
	ResyncRate types.String `tfsdk:"resync_rate"`
	peerModel
	PollInterval   timetypes.GoDuration `tfsdk:"poll_interval"`
	ConnectTimeout timetypes.GoDuration `tfsdk:"connect_timeout"`
	StallTimeout   timetypes.GoDuration `tfsdk:"stall_timeout"`
	KeepResyncRate types.Bool           `tfsdk:"keep_resync_rate"`
	Timeouts       timeouts.Value       `tfsdk:"timeouts"`
	pairStateModel
	InSync types.Bool `tfsdk:"in_sync"`
	// PeerHostFingerprint is the peer's host key fingerprint, recorded like host_key_fingerprint.
	PeerHostFingerprint types.String `tfsdk:"peer_host_fingerprint"`
}

// fill sets the pair state and in_sync from a status.
func (m *syncResourceModel) fill(st drbd.Status) {
	m.fillPair(st)
	m.InSync = types.BoolValue(drbd.InSync(st))
}

// peer is the connection to peer_host; under accept-new the recorded peer_host_fingerprint is
// enforced.
func (m syncResourceModel) peer() connectionModel {
	return m.peerConnection(m.User, m.PeerHostFingerprint)
}

// verifyResourceModel is the drbd_verify resource.
type verifyResourceModel struct {
	connectionModel
	resourceNameModel
	Triggers        types.Map  `tfsdk:"triggers"`
	ResyncOutOfSync types.Bool `tfsdk:"resync_out_of_sync"`
	peerModel
	PollInterval timetypes.GoDuration `tfsdk:"poll_interval"`
	StallTimeout timetypes.GoDuration `tfsdk:"stall_timeout"`
	Timeouts     timeouts.Value       `tfsdk:"timeouts"`
	OutOfSyncKiB types.Int64          `tfsdk:"out_of_sync_kib"`
	VerifiedAt   types.String         `tfsdk:"verified_at"`
	VerifyAlg    types.String         `tfsdk:"verify_alg"`
	// PeerHostFingerprint is the peer's host key fingerprint, recorded like host_key_fingerprint.
	PeerHostFingerprint types.String `tfsdk:"peer_host_fingerprint"`
}

// peer is the connection to peer_host; under accept-new the recorded peer_host_fingerprint is
// enforced.
func (m verifyResourceModel) peer() connectionModel {
	return m.peerConnection(m.User, m.PeerHostFingerprint)
}

// chefBackendReadyModel is the drbd_chef_backend_ready resource.
type chefBackendReadyModel struct {
	connectionModel
	ReadyFile                types.String   `tfsdk:"ready_file"`
	Reconfigure              types.Bool     `tfsdk:"reconfigure"`
	ReconfigureCommand       types.String   `tfsdk:"reconfigure_command"`
	RemoveReadyFileOnDestroy types.Bool     `tfsdk:"remove_ready_file_on_destroy"`
	StopCommand              types.String   `tfsdk:"stop_command"`
	Timeouts                 timeouts.Value `tfsdk:"timeouts"`
}

// statusDataSourceModel is the drbd_status data source.
type statusDataSourceModel struct {
	connectionModel
	resourceNameModel
	Configured types.Bool   `tfsdk:"configured"`
	Device     types.String `tfsdk:"device"`
	roleStateModel
	SyncPercent  types.Float64    `tfsdk:"sync_percent"`
	OutOfSyncKiB types.Int64      `tfsdk:"out_of_sync_kib"`
	InSync       types.Bool       `tfsdk:"in_sync"`
	DRBDVersion  types.String     `tfsdk:"drbd_version"`
	UtilsVersion types.String     `tfsdk:"utils_version"`
	SplitBrain   types.Bool       `tfsdk:"split_brain"`
	Raw          types.String     `tfsdk:"raw"`
	Timeouts     dstimeouts.Value `tfsdk:"timeouts"`
}
