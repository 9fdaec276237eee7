variable "backend1_host" {
  description = "Address of the first backend."
  type        = string
}

variable "backend1_port" {
  description = "SSH port of the first backend."
  type        = number
  default     = 22
}

variable "backend2_host" {
  description = "Address of the second backend."
  type        = string
}

variable "backend2_port" {
  description = "SSH port of the second backend."
  type        = number
  default     = 22
}

variable "primary" {
  description = "The backend that is DRBD Primary and serves Chef: \"backend1\" or \"backend2\". Changing it is a switchover (or, with the old primary fenced, a failover)."
  type        = string
  default     = "backend1"

  validation {
    condition     = contains(["backend1", "backend2"], var.primary)
    error_message = "primary must be \"backend1\" or \"backend2\"."
  }
}

variable "fenced" {
  description = "Backends (\"backend1\", \"backend2\") fenced by the operator: powered off, or cut off so that they cannot write. The provider never contacts them, and their per-backend steps are dropped until they are removed from this set again (a rejoin)."
  type        = set(string)
  default     = []

  validation {
    condition     = length(setsubtract(var.fenced, ["backend1", "backend2"])) == 0
    error_message = "fenced may only name \"backend1\" and \"backend2\"."
  }
}

variable "split_brain_victim" {
  description = "During split-brain recovery only: the backend whose changes since the split are discarded (it resyncs from the other). null otherwise."
  type        = string
  default     = null

  validation {
    condition     = var.split_brain_victim == null || contains(["backend1", "backend2"], coalesce(var.split_brain_victim, "none"))
    error_message = "split_brain_victim must be null, \"backend1\" or \"backend2\"."
  }
}

variable "ssh_user" {
  description = "SSH user on both backends (root, or a user with passwordless sudo and sudo = true)."
  type        = string
  default     = "root"
}

variable "private_key" {
  description = "SSH private key content (not a path)."
  type        = string
  sensitive   = true
}

variable "known_hosts" {
  description = "known_hosts content for both backends."
  type        = string
  default     = null
}

variable "resource_name" {
  description = "DRBD resource of the Chef HA backend."
  type        = string
  default     = "pc0"
}

variable "resync_rate" {
  description = "Resync rate while waiting for the initial sync (DRBD syntax)."
  type        = string
  default     = "1100M"
}

variable "fs_type" {
  description = "Filesystem on the DRBD device."
  type        = string
  default     = "ext4"
}

variable "mkfs_options" {
  description = "Extra mkfs options, e.g. \"-E nodiscard\"."
  type        = string
  default     = null
}

variable "sync_timeout" {
  description = "How long to wait for the initial sync."
  type        = string
  default     = "2h"
}

variable "chef_stop_command" {
  description = "Command that stops the Chef Server services on the primary before its filesystem is unmounted (switchover, destroy)."
  type        = string
  default     = "chef-server-ctl stop"
}

variable "skip_initial_sync" {
  description = "On a brand-new pair whose backing disks are blank, skip the initial full sync (checked: both backends' DRBD metadata must be freshly created). Only the first apply uses it."
  type        = bool
  default     = false
}

variable "disk_size" {
  description = "Size of the backends' DRBD backing disks, as the VM provider sets it (any unit, e.g. \"20\" for 20 GB). Only its changes matter: a new value makes the same apply grow the DRBD device (drbdadm resize, once both disks are larger) and then the mounted filesystem (resize2fs/xfs_growfs). Pass the VM provider's disk size attribute when the VMs are in the same configuration; disks grown outside Terraform show in the next plan without it."
  type        = string
  default     = null
}
