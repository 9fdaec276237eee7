# drbd_primary can be imported with host[:port]/resource.
terraform import drbd_primary.backend1 192.0.2.11/pc0
