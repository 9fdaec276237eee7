// Package bench holds the benchmarks `make bench` (bench/run.sh) runs against things outside
// the test process: a local OpenSSH sshd started by the script on 127.0.0.1 (sessions as a
// bench user whose shell runs no rc file), the built provider binary, bench/noopprovider (the
// provider's schemas with no-op CRUD, the refresh floor), bench/emptyprovider (no resources,
// the start-up floor) and bench/cmd/simhosts (simulated DRBD pairs behind SSH, in a process of
// their own). Variants are interleaved round by round; every figure is recorded per round as
// a median and range, and ratios are taken within a round. Every benchmark skips unless
// run.sh sets the environment it needs.
package bench
