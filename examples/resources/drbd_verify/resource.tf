# Verify the pair once a month: a new month changes the trigger, which replaces the resource
# and runs `drbdadm verify` again. The DRBD configuration needs `net { verify-alg sha256; }`.
resource "drbd_verify" "pc0" {
  host      = "192.0.2.11" # the Primary
  peer_host = "192.0.2.12" # disconnected and reconnected to resync what the verify finds
  resource  = "pc0"

  # Resync the blocks found out of sync from the Primary, then wait for UpToDate/UpToDate.
  resync_out_of_sync = true

  triggers = {
    month = formatdate("YYYY-MM", plantimestamp())
  }

  timeouts {
    create = "6h"
  }
}

output "pc0_verify" {
  value = {
    verified_at     = drbd_verify.pc0.verified_at
    out_of_sync_kib = drbd_verify.pc0.out_of_sync_kib # found (and, here, resynced)
  }
}
