// Package labtest holds the checks of `make test-lab`: end-to-end tests of
// examples/chef-ha-failover with the real Terraform CLI against the real-DRBD lab (two QEMU
// VMs with Debian's DRBD 8.4 module, see lab/README.md).
//
// The tests are behind the `lab` build tag, so `go test ./...` never starts VMs. Run them with
// lab/test-lab.sh (what `make test-lab` does), or directly:
//
//	go test -tags lab -count=1 -v -timeout 120m ./lab/labtest/ -run 'TestLab(Runbook|Crash|SplitBrain|Day2|SkipSync|GrowVerify)$'
//
// Lab control (up, down, crash, start) goes through lab/lab.sh; commands on the nodes run over
// internal/sshx with the lab's key and known_hosts; node state is read with internal/drbd.
package labtest
