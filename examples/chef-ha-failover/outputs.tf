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
  description = "DRBD status of the secondary backend after the runbook; null while it is fenced."
  value = local.secondary_live ? {
    role             = data.drbd_status.secondary[0].role
    peer_role        = data.drbd_status.secondary[0].peer_role
    connection_state = data.drbd_status.secondary[0].connection_state
    disk_state       = data.drbd_status.secondary[0].disk_state
    peer_disk_state  = data.drbd_status.secondary[0].peer_disk_state
    in_sync          = data.drbd_status.secondary[0].in_sync
    drbd_version     = data.drbd_status.secondary[0].drbd_version
  } : null
}

output "filesystem_uuid" {
  description = "UUID of the replicated filesystem."
  value       = drbd_filesystem.data.uuid
}
