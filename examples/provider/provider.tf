terraform {
  required_providers {
    drbd = {
      source = "seed-a700e435/drbd"
    }
  }
}

variable "ssh_private_key" {
  description = "Private key content (not a path) for the backends' root user."
  type        = string
  sensitive   = true
}

variable "known_hosts" {
  description = "known_hosts lines for both backends (e.g. from cloud-init output)."
  type        = string
}

# Laptop: key content from a file, host keys from known_hosts.
provider "drbd" {
  user            = "root"
  private_key     = var.ssh_private_key
  known_hosts     = var.known_hosts
  host_key_policy = "strict"
}

# Through a jump host, with sudo for a non-root user (HCP Terraform: pass the key and
# known_hosts as sensitive workspace variables; nothing is read from local files).
provider "drbd" {
  alias       = "via_bastion"
  user        = "deploy"
  sudo        = true
  private_key = var.ssh_private_key
  known_hosts = var.known_hosts

  bastion {
    host = "bastion.example.com"
    user = "jump"
  }
}
