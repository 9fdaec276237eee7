# Wait for ds:UpToDate/UpToDate, with a fixed 1100M resync rate on both nodes while waiting.
resource "drbd_sync" "pc0" {
  host        = "192.0.2.11"
  peer_host   = "192.0.2.12"
  resource    = "pc0"
  resync_rate = "1100M"

  timeouts {
    create = "2h"
  }
}
