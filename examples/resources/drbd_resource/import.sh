# drbd_resource can be imported with host[:port]/resource.
terraform import drbd_resource.backend1 192.0.2.11/pc0
