# The Chef Server HA backend runbook (seed-runbook.rst) as a dependency graph:
#
#   drbd_resource.primary ─┐
#   drbd_resource.secondary┴─> drbd_primary.primary (force, fresh pair only)
#                               └─> drbd_filesystem.data (mkfs only if blank, mount)
#                                    └─> drbd_sync.initial (UpToDate/UpToDate)
#                                         └─> drbd_chef_backend_ready.primary (touch + reconfigure)
#                                              └─> drbd_chef_backend_ready.secondary

provider "drbd" {
  user            = var.ssh_user
  private_key     = var.private_key
  known_hosts     = var.known_hosts
  host_key_policy = var.known_hosts == null ? "accept-new" : "strict"
}

# Steps before the runbook: metadata (only where none exists) and `drbdadm up` on both nodes.
resource "drbd_resource" "primary" {
  host = var.primary_host
  port = var.primary_port
  name = var.resource_name
}

resource "drbd_resource" "secondary" {
  host = var.secondary_host
  port = var.secondary_port
  name = var.resource_name
}

# Runbook step 1: drbdadm primary --force pc0 (the version's syntax), refused unless the pair is fresh.
resource "drbd_primary" "primary" {
  host     = var.primary_host
  port     = var.primary_port
  resource = drbd_resource.primary.name
  force    = true

  # The fresh-pair guard needs the peer connected, so bring it up first.
  depends_on = [drbd_resource.secondary]
}

# Runbook step 2: mkfs.ext4 /dev/drbd0 (only when blank), mkdir -p, mount.
resource "drbd_filesystem" "data" {
  host         = var.primary_host
  port         = var.primary_port
  resource     = drbd_primary.primary.resource
  fs_type      = var.fs_type
  mkfs_options = var.mkfs_options
  mountpoint   = "/var/opt/opscode/drbd/data"
}

# Runbook step 3: raise the resync rate on both nodes and wait for ds:UpToDate/UpToDate.
resource "drbd_sync" "initial" {
  host        = var.primary_host
  port        = var.primary_port
  peer_host   = var.secondary_host
  peer_port   = var.secondary_port
  resource    = drbd_primary.primary.resource
  resync_rate = var.resync_rate

  timeouts {
    create = var.sync_timeout
  }

  depends_on = [drbd_filesystem.data]
}

# Runbook steps 4-5: touch drbd_ready and reconfigure on the primary, after the sync.
resource "drbd_chef_backend_ready" "primary" {
  host       = var.primary_host
  port       = var.primary_port
  depends_on = [drbd_sync.initial]
}

# Runbook steps 6-7: the same on the secondary, after the primary.
resource "drbd_chef_backend_ready" "secondary" {
  host       = var.secondary_host
  port       = var.secondary_port
  depends_on = [drbd_chef_backend_ready.primary, drbd_resource.secondary]
}

data "drbd_status" "primary" {
  host       = var.primary_host
  port       = var.primary_port
  resource   = var.resource_name
  depends_on = [drbd_chef_backend_ready.secondary]
}

data "drbd_status" "secondary" {
  host       = var.secondary_host
  port       = var.secondary_port
  resource   = var.resource_name
  depends_on = [drbd_chef_backend_ready.secondary]
}
