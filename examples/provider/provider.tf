terraform {
  required_providers {
    drbd = {
      source = "seed-a700e435/drbd"
      # The local build from `make install` (Terraform selects a pre-release only when pinned
      # exactly); once the provider is released on the Registry, use that version instead.
      version = "0.1.0-dev"
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

# Laptop: key content and known_hosts lines passed as variables (for example
# -var "ssh_private_key=$(cat ~/.ssh/id_ed25519)"); in a configuration that may read local
# files, private_key = file(pathexpand("~/.ssh/id_ed25519")) works as well.
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
