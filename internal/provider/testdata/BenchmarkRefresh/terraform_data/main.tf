# The baseline of BenchmarkRefresh: var.objects terraform_data resources, Terraform's own cost.

variable "objects" {
  type = number
}

resource "terraform_data" "x" {
  count = var.objects
  input = "x${count.index}"
}
