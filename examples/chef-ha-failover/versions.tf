terraform {
  required_version = ">= 1.5"
  required_providers {
    drbd = {
      source = "seed-a700e435/drbd"
      # The local build that `make install` puts into ~/.terraform.d/plugins. Terraform only
      # selects a pre-release when it is pinned exactly; once the provider is published on the
      # Registry, replace this with the released version (e.g. "~> 0.1").
      version = "0.1.0-dev"
    }
  }
}
