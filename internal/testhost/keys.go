package testhost

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// NewSigner generates an ed25519 key and returns its signer and its OpenSSH private key PEM.
func NewSigner() (ssh.Signer, string, error) {
	return newSigner("")
}

// NewEncryptedSigner is NewSigner with the PEM encrypted by passphrase.
func NewEncryptedSigner(passphrase string) (ssh.Signer, string, error) {
	if passphrase == "" {
		return nil, "", fmt.Errorf("testhost: empty passphrase")
	}
	return newSigner(passphrase)
}

func newSigner(passphrase string) (ssh.Signer, string, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, "", fmt.Errorf("testhost: generate ed25519 key: %w", err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, "", fmt.Errorf("testhost: signer: %w", err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "testhost")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "testhost", []byte(passphrase))
	}
	if err != nil {
		return nil, "", fmt.Errorf("testhost: marshal private key: %w", err)
	}
	return signer, string(pem.EncodeToMemory(block)), nil
}

// SignUserCert signs pub as an OpenSSH user certificate for principals with ca, valid from an
// hour ago for a day, and returns it as an authorized_keys-format line.
func SignUserCert(ca ssh.Signer, pub ssh.PublicKey, principals []string) (certLine string, err error) {
	now := time.Now()
	cert := &ssh.Certificate{
		Key:             pub,
		Serial:          uint64(now.UnixNano()),
		CertType:        ssh.UserCert,
		KeyId:           "testhost",
		ValidPrincipals: principals,
		ValidAfter:      uint64(now.Add(-time.Hour).Unix()),
		ValidBefore:     uint64(now.Add(24 * time.Hour).Unix()),
		Permissions: ssh.Permissions{Extensions: map[string]string{
			"permit-pty": "",
		}},
	}
	if err := cert.SignCert(rand.Reader, ca); err != nil {
		return "", fmt.Errorf("testhost: sign user certificate: %w", err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(cert))), nil
}
