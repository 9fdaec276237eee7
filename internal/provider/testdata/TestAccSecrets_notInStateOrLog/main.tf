# The whole runbook with an encrypted private key, its passphrase and a password configured
# together (TestAccSecrets_notInStateOrLog). Every value comes from a TF_VAR_ environment
# variable, so that the secrets reach Terraform only that way.

terraform {
  required_providers {
    drbd = {
      source = "seed-a700e435/drbd"
    }
  }
}

variable "backend1_host" {
  type = string
}

variable "backend1_port" {
  type = number
}

variable "backend2_host" {
  type = string
}

variable "backend2_port" {
  type = number
}

variable "known_hosts" {
  type = string
}

variable "private_key" {
  type      = string
  sensitive = true
}

variable "private_key_passphrase" {
  type      = string
  sensitive = true
}

variable "password" {
  type      = string
  sensitive = true
}

provider "drbd" {
  private_key            = var.private_key
  private_key_passphrase = var.private_key_passphrase
  password               = var.password
  known_hosts            = var.known_hosts
  connect_retries        = 0
}

resource "drbd_resource" "primary" {
  host = var.backend1_host
  port = var.backend1_port
  name = "pc0"
}

resource "drbd_resource" "secondary" {
  host = var.backend2_host
  port = var.backend2_port
  name = "pc0"
}

resource "drbd_primary" "primary" {
  host       = var.backend1_host
  port       = var.backend1_port
  resource   = drbd_resource.primary.name
  force      = true
  depends_on = [drbd_resource.secondary]
}

resource "drbd_filesystem" "data" {
  host     = var.backend1_host
  port     = var.backend1_port
  resource = drbd_primary.primary.resource
}

resource "drbd_sync" "initial" {
  host          = var.backend1_host
  port          = var.backend1_port
  peer_host     = var.backend2_host
  peer_port     = var.backend2_port
  resource      = drbd_primary.primary.resource
  resync_rate   = "1100M"
  poll_interval = "100ms"
  depends_on    = [drbd_filesystem.data]
}

resource "drbd_chef_backend_ready" "primary" {
  host       = var.backend1_host
  port       = var.backend1_port
  depends_on = [drbd_sync.initial]
}

resource "drbd_chef_backend_ready" "secondary" {
  host       = var.backend2_host
  port       = var.backend2_port
  depends_on = [drbd_chef_backend_ready.primary]
}

data "drbd_status" "secondary" {
  host       = var.backend2_host
  port       = var.backend2_port
  resource   = "pc0"
  depends_on = [drbd_chef_backend_ready.secondary]
}
