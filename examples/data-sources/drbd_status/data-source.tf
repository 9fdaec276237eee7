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
