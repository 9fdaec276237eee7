# Initial-sync promotion of a fresh pair: backend1 becomes the sync source. Refused when the
# peer already holds data (set allow_overwrite_peer_data only if that is really intended).
resource "drbd_primary" "backend1" {
  host     = "192.0.2.11"
  resource = "pc0"
  force    = true
}
