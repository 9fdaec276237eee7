# The Chef Server HA backend runbook as a dependency graph, shaped for day 2:
#
#   drbd_resource.backend1, .backend2 ─> drbd_primary.primary (force on a fresh pair only)
#                                         └─> drbd_filesystem.data (mkfs only if blank, mount)
#                                              └─> drbd_sync.initial (UpToDate/UpToDate)
#                                                   └─> drbd_chef_backend_ready.primary (touch + reconfigure)
#                                                        └─> drbd_chef_backend_ready.secondary
#
# drbd_resource exists once per backend and never moves; every other step is bound to a
# role, and var.primary says which backend holds it. Each day-2 operation is then one
# change of the variables (docs/guides/day-2-operations.md walks through each one):
#   switchover  primary = the other backend                (both alive)
#   failover    fenced = [the dead primary], primary = the other one
#   rejoin      fenced = []                                (restarted, or rebuilt on a blank disk)
#   split brain split_brain_victim = the backend whose changes are discarded

locals {
  backends = {
    backend1 = { host = var.backend1_host, port = var.backend1_port }
    backend2 = { host = var.backend2_host, port = var.backend2_port }
  }
  primary   = local.backends[var.primary]
  secondary = local.backends[var.primary == "backend1" ? "backend2" : "backend1"]

  # What the provider's fenced_hosts matches: host:port, as the resources below write it.
  fenced_hosts   = [for name in var.fenced : "${local.backends[name].host}:${local.backends[name].port}"]
  secondary_live = !contains(var.fenced, var.primary == "backend1" ? "backend2" : "backend1")
}

provider "drbd" {
  user            = var.ssh_user
  private_key     = var.private_key
  known_hosts     = var.known_hosts
  host_key_policy = var.known_hosts == null ? "accept-new" : "strict"
  fenced_hosts    = local.fenced_hosts
}

# Before the runbook, on each backend that is not fenced: metadata (only where none exists),
# `drbdadm up`, and reconnecting a StandAlone node (discarding its changes after a split
# brain only when it is the chosen victim).
resource "drbd_resource" "backend1" {
  count = contains(var.fenced, "backend1") ? 0 : 1

  host               = var.backend1_host
  port               = var.backend1_port
  name               = var.resource_name
  split_brain_victim = var.split_brain_victim == "backend1"

  # Online grow: the peer's disk size is read before a grow is planned (DRBD grows to the
  # smaller disk), and a new var.disk_size grows the device in the same apply.
  peer_host     = var.backend2_host
  peer_port     = var.backend2_port
  grow_triggers = var.disk_size == null ? null : { disk_size = var.disk_size }
}

resource "drbd_resource" "backend2" {
  count = contains(var.fenced, "backend2") ? 0 : 1

  host               = var.backend2_host
  port               = var.backend2_port
  name               = var.resource_name
  split_brain_victim = var.split_brain_victim == "backend2"

  # Online grow: the peer's disk size is read before a grow is planned (DRBD grows to the
  # smaller disk), and a new var.disk_size grows the device in the same apply.
  peer_host     = var.backend1_host
  peer_port     = var.backend1_port
  grow_triggers = var.disk_size == null ? null : { disk_size = var.disk_size }
}

# Runbook step 1: drbdadm primary --force pc0 on a fresh pair; a plain promotion when this
# backend's disk is UpToDate (switchover), a failover when its peer is fenced.
resource "drbd_primary" "primary" {
  host      = local.primary.host
  port      = local.primary.port
  resource  = var.resource_name
  force     = true
  peer_host = local.secondary.host
  peer_port = local.secondary.port

  # Blank disks on both backends: mark the fresh pair in sync instead of a full initial sync.
  skip_initial_sync = var.skip_initial_sync

  # The fresh-pair guard needs the peer connected, so bring both backends up first.
  depends_on = [drbd_resource.backend1, drbd_resource.backend2]
}

# Runbook step 2: mkfs.ext4 /dev/drbd0 (only when blank), mkdir -p, mount.
resource "drbd_filesystem" "data" {
  host         = local.primary.host
  port         = local.primary.port
  resource     = drbd_primary.primary.resource
  fs_type      = var.fs_type
  mkfs_options = var.mkfs_options
  mountpoint   = "/var/opt/opscode/drbd/data"

  # After drbd_resource has grown the device (drbd_primary depends on it), grow the filesystem.
  grow_triggers = var.disk_size == null ? null : { disk_size = var.disk_size }
}

# Runbook step 3: raise the resync rate on both backends and wait for ds:UpToDate/UpToDate.
# With the secondary fenced it does not wait: the pair runs degraded until it rejoins.
resource "drbd_sync" "initial" {
  host        = local.primary.host
  port        = local.primary.port
  peer_host   = local.secondary.host
  peer_port   = local.secondary.port
  resource    = drbd_primary.primary.resource
  resync_rate = var.resync_rate

  timeouts {
    create = var.sync_timeout
  }

  depends_on = [drbd_filesystem.data]
}

# Runbook steps 4-5: touch drbd_ready and reconfigure on the primary, after the sync. Its
# destroy (a switchover) stops the services first, so that the unmount is not busy.
resource "drbd_chef_backend_ready" "primary" {
  host         = local.primary.host
  port         = local.primary.port
  stop_command = var.chef_stop_command
  depends_on   = [drbd_sync.initial]
}

# Runbook steps 6-7: the same on the secondary, after the primary (not while it is fenced).
resource "drbd_chef_backend_ready" "secondary" {
  count = local.secondary_live ? 1 : 0

  host       = local.secondary.host
  port       = local.secondary.port
  depends_on = [drbd_chef_backend_ready.primary, drbd_resource.backend1, drbd_resource.backend2]
}

data "drbd_status" "primary" {
  host     = local.primary.host
  port     = local.primary.port
  resource = var.resource_name
  # Read after every step that can change the pair in this apply.
  depends_on = [drbd_resource.backend1, drbd_resource.backend2, drbd_sync.initial, drbd_chef_backend_ready.secondary]
}

data "drbd_status" "secondary" {
  count = local.secondary_live ? 1 : 0

  host     = local.secondary.host
  port     = local.secondary.port
  resource = var.resource_name
  # Read after every step that can change the pair in this apply.
  depends_on = [drbd_resource.backend1, drbd_resource.backend2, drbd_sync.initial, drbd_chef_backend_ready.secondary]
}
