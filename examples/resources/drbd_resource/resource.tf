# Bring up pc0 on a backend whose /etc/drbd.d/pc0.res is managed elsewhere
# (for example by the Chef HA installation).
resource "drbd_resource" "backend1" {
  host = "192.0.2.11"
  name = "pc0"
}

# Or write the resource file too (sent on stdin, mode 0600).
resource "drbd_resource" "backend2" {
  host = "192.0.2.12"
  name = "pc0"
  config = templatefile("${path.module}/pc0.res.tftpl", {
    secret = var.drbd_shared_secret
  })

  # Only to recover from a split brain DRBD reported: the next apply reconnects this
  # node with --discard-my-data, throwing away its changes since the split (it resyncs
  # them from backend1). Remove the line again once the pair is Connected.
  # split_brain_victim = true
}

variable "drbd_shared_secret" {
  type      = string
  sensitive = true
}
