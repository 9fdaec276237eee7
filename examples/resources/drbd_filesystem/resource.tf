# mkfs.ext4 only when /dev/drbd0 carries no signature, then mount on the Chef HA data path.
resource "drbd_filesystem" "data" {
  host       = "192.0.2.11"
  resource   = "pc0"
  fs_type    = "ext4"
  mountpoint = "/var/opt/opscode/drbd/data"
}
