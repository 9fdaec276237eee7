# Touch drbd_ready and run chef-server-ctl reconfigure, primary first.
resource "drbd_chef_backend_ready" "backend1" {
  host = "192.0.2.11"
}

resource "drbd_chef_backend_ready" "backend2" {
  host       = "192.0.2.12"
  depends_on = [drbd_chef_backend_ready.backend1]
}
