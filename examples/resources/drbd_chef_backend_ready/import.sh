# drbd_chef_backend_ready can be imported with host[:port]/ready_file.
terraform import drbd_chef_backend_ready.backend1 192.0.2.11/var/opt/opscode/drbd/drbd_ready
