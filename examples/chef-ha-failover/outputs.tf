output "primary_status" {
  description = "DRBD status of the primary backend after the runbook."
  value = {
    role             = data.drbd_status.primary.role
    peer_role        = data.drbd_status.primary.peer_role
    connection_state = data.drbd_status.primary.connection_state
    disk_state       = data.drbd_status.primary.disk_state
    peer_disk_state  = data.drbd_status.primary.peer_disk_state
    in_sync          = data.drbd_status.primary.in_sync
    drbd_version     = data.drbd_status.primary.drbd_version
  }
}

output "secondary_status" {
  description = "DRBD status of the secondary backend after the runbook."
  value = {
    role             = data.drbd_status.secondary.role
    peer_role        = data.drbd_status.secondary.peer_role
    connection_state = data.drbd_status.secondary.connection_state
    disk_state       = data.drbd_status.secondary.disk_state
    peer_disk_state  = data.drbd_status.secondary.peer_disk_state
    in_sync          = data.drbd_status.secondary.in_sync
    drbd_version     = data.drbd_status.secondary.drbd_version
  }
}

output "filesystem_uuid" {
  description = "UUID of the replicated filesystem."
  value       = drbd_filesystem.data.uuid
}
