// Package sshx runs commands on remote hosts over SSH through a pool that keeps one
// connection per (host, port, user), multiplexes sessions on it, checks host keys the way
// OpenSSH does and redials broken connections transparently. It has no Terraform imports.
//
// Decisions worth knowing:
//
//   - Authentication: the private key, the certificate and the ssh-agent keys are offered in
//     that order inside one "publickey" method (x/crypto tries each method type only once),
//     then the password, as "password" and as "keyboard-interactive". The agent socket is
//     dialled for each handshake and closed after it.
//   - Host keys: every source that knows a host must agree with the key it offers: the pinned
//     Target.HostKey, Target.KnownFingerprint, known_hosts (content and file) and keys this
//     pool accepted under accept-new. Any contradiction is a mismatch, refused under both
//     strict and accept-new. A host no source knows is refused under strict and trusted (and
//     remembered for the pool's lifetime) under accept-new. Keys the host is known by are
//     preferred in the host key algorithm negotiation, as OpenSSH does.
//   - known_hosts content is parsed once in NewPool through a temporary file that is removed
//     before NewPool returns (knownhosts reads files only); a line it cannot parse is an
//     error rather than silently skipped. KnownHostsFile is read once, in NewPool, too.
//   - Retries: only failures that happen before the host key is seen are retried (refused,
//     reset, timed out, EOF before or during the version and key exchange, and a bastion that
//     cannot reach the target). Authentication and host-key failures fail at once.
//   - A command interrupted by a dropped connection fails with ErrConnectionLost and is never
//     re-run; the next command redials. Opening a session on a connection found dead drops
//     it and redials once.
//   - Cancelling ctx signals the remote command (SIGTERM), closes its session and returns at
//     most a couple of seconds later even if the host never acknowledges; the connection
//     stays pooled.
package sshx
