package sshx

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// authSet is the parsed credentials for one login. It holds no connections, so it can be
// shared by every dial.
type authSet struct {
	key         ssh.Signer // Config.PrivateKey
	cert        ssh.Signer // Config.Certificate over Config.PrivateKey
	agentSocket string     // "" = no agent
	password    string
}

// parsePrivateKey parses PEM/OpenSSH key content and explains the usual mistakes.
func parsePrivateKey(what, pemText, passphrase string) (ssh.Signer, error) {
	pemBytes := []byte(strings.TrimSpace(pemText) + "\n")
	if passphrase != "" {
		s, err := ssh.ParsePrivateKeyWithPassphrase(pemBytes, []byte(passphrase))
		switch {
		case err == nil:
			return s, nil
		case errors.Is(err, x509.IncorrectPasswordError):
			return nil, fmt.Errorf("%s: the passphrase is wrong: %w", what, err)
		case strings.Contains(err.Error(), "not password protected"):
			// A passphrase for a plain key is harmless; fall through to the plain parse.
		default:
			return nil, fmt.Errorf("%s: cannot parse it as a PEM or OpenSSH private key: %w", what, err)
		}
	}
	s, err := ssh.ParsePrivateKey(pemBytes)
	if err != nil {
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, fmt.Errorf("%s is encrypted: set its passphrase: %w", what, err)
		}
		return nil, fmt.Errorf("%s: cannot parse it as a PEM or OpenSSH private key: %w", what, err)
	}
	return s, nil
}

// newAuthSet parses the configuration's credentials once (keys, certificate, agent).
func newAuthSet(cfg *Config) (*authSet, error) {
	a := &authSet{password: cfg.Password}
	if cfg.PrivateKey != "" {
		s, err := parsePrivateKey("private key", cfg.PrivateKey, cfg.PrivateKeyPassphrase)
		if err != nil {
			return nil, err
		}
		a.key = s
	}
	if cfg.Certificate != "" {
		if a.key == nil {
			return nil, errors.New("certificate is set but private key is not: the certificate needs the private key it was issued for")
		}
		pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(cfg.Certificate))
		if err != nil {
			return nil, fmt.Errorf("certificate: cannot parse it as an OpenSSH certificate line (ssh-ed25519-cert-v01@openssh.com AAAA...): %w", err)
		}
		cert, ok := pub.(*ssh.Certificate)
		if !ok {
			return nil, fmt.Errorf("certificate: got a plain %s public key, not an OpenSSH certificate", pub.Type())
		}
		if cert.CertType != ssh.UserCert {
			return nil, errors.New("certificate: it is a host certificate, not a user certificate")
		}
		cs, err := ssh.NewCertSigner(cert, a.key)
		if err != nil {
			return nil, fmt.Errorf("certificate: it was not issued for the configured private key (%s): %w", Fingerprint(a.key.PublicKey()), err)
		}
		a.cert = cs
	}
	if cfg.Agent {
		a.agentSocket = cfg.AgentSocket
		if a.agentSocket == "" {
			return nil, errors.New("agent is enabled but SSH_AUTH_SOCK is not set: start ssh-agent or disable agent authentication")
		}
	}
	if a.key == nil && a.agentSocket == "" && a.password == "" {
		return nil, errors.New("no SSH authentication configured: set private_key, certificate (with private_key), agent or password")
	}
	return a, nil
}

// methods returns the auth methods in the order key, certificate, agent, password. x/crypto
// tries each method type once, so the key, certificate and agent signers share one
// "publickey" method. The cleanup func closes the agent connection after the handshake.
func (a *authSet) methods(logf func(string, ...any)) ([]ssh.AuthMethod, func()) {
	var agentConn net.Conn
	cleanup := func() {
		if agentConn != nil {
			_ = agentConn.Close()
		}
	}
	var methods []ssh.AuthMethod
	if a.key != nil || a.cert != nil || a.agentSocket != "" {
		methods = append(methods, ssh.PublicKeysCallback(func() ([]ssh.Signer, error) {
			var signers []ssh.Signer
			if a.key != nil {
				signers = append(signers, a.key)
			}
			if a.cert != nil {
				signers = append(signers, a.cert)
			}
			if a.agentSocket != "" {
				c, err := net.Dial("unix", a.agentSocket)
				if err != nil {
					logf("ssh-agent at %s is unavailable: %v", a.agentSocket, err)
					if len(signers) == 0 {
						return nil, fmt.Errorf("ssh-agent at %s is unavailable: %w", a.agentSocket, err)
					}
					return signers, nil
				}
				agentConn = c
				as, err := agent.NewClient(c).Signers()
				if err != nil {
					logf("ssh-agent at %s: listing keys failed: %v", a.agentSocket, err)
				}
				signers = append(signers, as...)
			}
			return signers, nil
		}))
	}
	if a.password != "" {
		pw := a.password
		methods = append(methods,
			ssh.Password(pw),
			// Many sshd configurations offer passwords only as keyboard-interactive.
			ssh.KeyboardInteractive(func(_, _ string, questions []string, echos []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range questions {
					if !echos[i] {
						answers[i] = pw
					}
				}
				return answers, nil
			}))
	}
	return methods, cleanup
}

// describe lists the configured methods for error messages.
func (a *authSet) describe() string {
	var m []string
	if a.key != nil {
		m = append(m, "private key "+Fingerprint(a.key.PublicKey()))
	}
	if a.cert != nil {
		m = append(m, "certificate")
	}
	if a.agentSocket != "" {
		m = append(m, "ssh-agent")
	}
	if a.password != "" {
		m = append(m, "password")
	}
	return strings.Join(m, ", ")
}
