# drbd_sync can be imported with host[:port]/resource.
terraform import drbd_sync.pc0 192.0.2.11/pc0
