// Package bench holds the benchmarks `make bench` (bench/run.sh) runs against things outside
// the test process: a local OpenSSH sshd started by the script on 127.0.0.1, and the built
// provider binary. Every benchmark skips unless run.sh sets the environment it needs.
package bench
