variable "primary_host" {
  description = "Address of the backend that becomes DRBD Primary (the runbook's primary backend)."
  type        = string
}

variable "primary_port" {
  description = "SSH port of the primary backend."
  type        = number
  default     = 22
}

variable "secondary_host" {
  description = "Address of the secondary backend."
  type        = string
}

variable "secondary_port" {
  description = "SSH port of the secondary backend."
  type        = number
  default     = 22
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
