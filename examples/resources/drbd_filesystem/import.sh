# drbd_filesystem can be imported with host[:port]/mountpoint.
terraform import drbd_filesystem.data 192.0.2.11/var/opt/opscode/drbd/data
