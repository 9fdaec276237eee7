data "drbd_status" "backend1" {
  host     = "192.0.2.11"
  resource = "pc0"
}

output "backend1_drbd" {
  value = {
    role             = data.drbd_status.backend1.role
    connection_state = data.drbd_status.backend1.connection_state
    disk_states      = "${data.drbd_status.backend1.disk_state}/${data.drbd_status.backend1.peer_disk_state}"
    in_sync          = data.drbd_status.backend1.in_sync
  }
}

# A health check: HCP Terraform's health assessments run it between runs and report a
# degraded pair. The scoped data source turns a host that cannot be read into a failed
# check (a warning), not a failed plan.
check "pc0_healthy" {
  data "drbd_status" "backend2" {
    host     = "192.0.2.12"
    resource = "pc0"
  }

  assert {
    condition = alltrue([
      data.drbd_status.backend2.connection_state == "Connected",
      data.drbd_status.backend2.disk_state == "UpToDate",
      data.drbd_status.backend2.peer_disk_state == "UpToDate",
      data.drbd_status.backend2.out_of_sync_kib == 0,
      !data.drbd_status.backend2.split_brain,
    ])
    error_message = "DRBD pc0 is degraded on 192.0.2.12: ${data.drbd_status.backend2.connection_state}, disks ${data.drbd_status.backend2.disk_state}/${data.drbd_status.backend2.peer_disk_state}, ${data.drbd_status.backend2.out_of_sync_kib} KiB out of sync, split brain ${data.drbd_status.backend2.split_brain}."
  }
}
