terraform {
  required_version = ">= 1.5"
  required_providers {
    drbd = {
      source = "seed-a700e435/drbd"
    }
  }
}
