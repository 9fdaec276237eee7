# Every resource type and the data source on each pair of var.pairs (pair name -> the ports
# of its primary p and secondary s), for BenchmarkRefresh.

terraform {
  required_providers {
    drbd = {
      source = "seed-a700e435/drbd"
    }
  }
}

variable "pairs" {
  type = map(object({ p = number, s = number }))
}

variable "private_key" {
  type      = string
  sensitive = true
}

variable "known_hosts" {
  type = string
}

provider "drbd" {
  private_key     = var.private_key
  known_hosts     = var.known_hosts
  connect_retries = 0
}

resource "drbd_resource" "primary" {
  for_each = var.pairs
  host     = "127.0.0.1"
  port     = each.value.p
  name     = "pc0"
}

resource "drbd_resource" "secondary" {
  for_each = var.pairs
  host     = "127.0.0.1"
  port     = each.value.s
  name     = "pc0"
}

resource "drbd_primary" "primary" {
  for_each   = var.pairs
  host       = "127.0.0.1"
  port       = each.value.p
  resource   = drbd_resource.primary[each.key].name
  force      = true
  depends_on = [drbd_resource.secondary]
}

resource "drbd_filesystem" "data" {
  for_each = var.pairs
  host     = "127.0.0.1"
  port     = each.value.p
  resource = drbd_primary.primary[each.key].resource
}

resource "drbd_sync" "initial" {
  for_each      = var.pairs
  host          = "127.0.0.1"
  port          = each.value.p
  peer_host     = "127.0.0.1"
  peer_port     = each.value.s
  resource      = drbd_filesystem.data[each.key].resource
  resync_rate   = "1100M"
  poll_interval = "100ms"
}

resource "drbd_chef_backend_ready" "primary" {
  for_each   = var.pairs
  host       = "127.0.0.1"
  port       = each.value.p
  depends_on = [drbd_sync.initial]
}

resource "drbd_chef_backend_ready" "secondary" {
  for_each   = var.pairs
  host       = "127.0.0.1"
  port       = each.value.s
  depends_on = [drbd_chef_backend_ready.primary]
}

data "drbd_status" "primary" {
  for_each   = var.pairs
  host       = "127.0.0.1"
  port       = each.value.p
  resource   = "pc0"
  depends_on = [drbd_chef_backend_ready.secondary]
}

data "drbd_status" "secondary" {
  for_each   = var.pairs
  host       = "127.0.0.1"
  port       = each.value.s
  resource   = "pc0"
  depends_on = [drbd_chef_backend_ready.secondary]
}
