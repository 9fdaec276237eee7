# Two fresh Debian/Ubuntu VMs to a replicated Chef Server HA backend pair: the resource file is
# delivered by drbd_resource.config, and the provider logs in as a non-root user with sudo.
# See docs/guides/from-two-fresh-vms.md for the preparation of the VMs.

terraform {
  required_version = ">= 1.5"
  required_providers {
    drbd = {
      source = "seed-a700e435/drbd"
      # The local build from `make install` (Terraform selects a pre-release only when pinned
      # exactly); once the provider is released on the Registry, use that version instead.
      version = "0.1.0-dev"
    }
  }
}

variable "primary" {
  description = "The backend that becomes Primary: SSH address, `uname -n`, replication address."
  type = object({
    ssh_host     = string
    node_name    = string
    drbd_address = string
  })
}

variable "secondary" {
  description = "The other backend, like primary."
  type = object({
    ssh_host     = string
    node_name    = string
    drbd_address = string
  })
}

variable "backing_disk" {
  description = "Blank disk under DRBD on both nodes (the same path on each)."
  type        = string
  default     = "/dev/vdb"
}

variable "drbd_shared_secret" {
  description = "DRBD peer authentication secret (shared-secret in the resource file)."
  type        = string
  sensitive   = true
}

variable "ssh_user" {
  description = "Login user on both nodes, with passwordless sudo."
  type        = string
  default     = "deploy"
}

variable "private_key" {
  description = "SSH private key content (not a path) of ssh_user."
  type        = string
  sensitive   = true
}

variable "known_hosts" {
  description = "known_hosts lines of both nodes (ssh-keyscan, or the VMs' cloud-init output)."
  type        = string
}

provider "drbd" {
  user        = var.ssh_user
  sudo        = true # every command runs as: sudo -n -- sh -c '...'
  private_key = var.private_key
  known_hosts = var.known_hosts
}

locals {
  resource = "pc0"
  res_file = templatefile("${path.module}/pc0.res.tftpl", {
    resource          = local.resource
    secret            = var.drbd_shared_secret
    disk              = var.backing_disk
    primary_name      = var.primary.node_name
    primary_address   = var.primary.drbd_address
    secondary_name    = var.secondary.node_name
    secondary_address = var.secondary.drbd_address
  })
}

# /etc/drbd.d/pc0.res (mode 0600), metadata on the blank disk, drbdadm up: on both nodes.
resource "drbd_resource" "primary" {
  host   = var.primary.ssh_host
  name   = local.resource
  config = local.res_file
}

resource "drbd_resource" "secondary" {
  host   = var.secondary.ssh_host
  name   = local.resource
  config = local.res_file
}

# The initial-sync promotion of the fresh pair.
resource "drbd_primary" "primary" {
  host       = var.primary.ssh_host
  resource   = drbd_resource.primary.name
  force      = true
  depends_on = [drbd_resource.secondary]
}

# mkfs (only on a blank device) and mount where Chef Server HA expects its data.
resource "drbd_filesystem" "data" {
  host       = var.primary.ssh_host
  resource   = drbd_primary.primary.resource
  fs_type    = "ext4"
  mountpoint = "/var/opt/opscode/drbd/data"
}

# Wait for UpToDate/UpToDate, with the resync rate raised on both nodes meanwhile.
resource "drbd_sync" "initial" {
  host        = var.primary.ssh_host
  peer_host   = var.secondary.ssh_host
  resource    = drbd_primary.primary.resource
  resync_rate = "1100M"

  timeouts {
    create = "2h"
  }

  depends_on = [drbd_filesystem.data]
}

# touch drbd_ready + chef-server-ctl reconfigure: the primary, then the secondary. Chef Server
# and its DRBD HA configuration must be installed on both nodes before this step.
resource "drbd_chef_backend_ready" "primary" {
  host       = var.primary.ssh_host
  depends_on = [drbd_sync.initial]
}

resource "drbd_chef_backend_ready" "secondary" {
  host       = var.secondary.ssh_host
  depends_on = [drbd_chef_backend_ready.primary, drbd_resource.secondary]
}

data "drbd_status" "primary" {
  host       = var.primary.ssh_host
  resource   = local.resource
  depends_on = [drbd_chef_backend_ready.secondary]
}

output "primary_status" {
  description = "DRBD's view from the primary after the apply."
  value = {
    role             = data.drbd_status.primary.role
    connection_state = data.drbd_status.primary.connection_state
    disk_state       = data.drbd_status.primary.disk_state
    peer_disk_state  = data.drbd_status.primary.peer_disk_state
  }
}
