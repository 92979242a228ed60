package devissuer

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// KeyBits is the size of the keys LoadOrCreateKey creates, and the
// smallest it accepts.
const KeyBits = 2048

// maxKeyFile bounds the size of a key file LoadOrCreateKey reads.
const maxKeyFile = 64 << 10

// LoadOrCreateKey returns the RSA signing key stored at path (PEM, PKCS #8
// "PRIVATE KEY" or PKCS #1 "RSA PRIVATE KEY"), creating one (PKCS #8, file
// mode 0600) when the file does not exist, so that tokens survive a
// restart. The directory must exist. Creation is atomic: a concurrent
// caller, or a crash half-way, never leaves a partial key at path.
func LoadOrCreateKey(path string) (*rsa.PrivateKey, error) {
	key, err := loadKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	key, err = rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return nil, fmt.Errorf("devissuer: generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("devissuer: encode key: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".devissuer-key-*")
	if err != nil {
		return nil, fmt.Errorf("devissuer: create key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file 0600 already; say so for the reader.
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("devissuer: create key file: %w", err)
	}
	werr := pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := errors.Join(werr, tmp.Sync(), tmp.Close()); err != nil {
		return nil, fmt.Errorf("devissuer: write key file: %w", err)
	}
	// Link fails if path exists: whoever linked first wins, and the loser
	// loads the winner's key.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return loadKey(path)
		}
		return nil, fmt.Errorf("devissuer: save key: %w", err)
	}
	return key, nil
}

func loadKey(path string) (*rsa.PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("devissuer: read key: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("devissuer: read key %s: %w", path, err)
	}
	if len(b) > maxKeyFile {
		return nil, fmt.Errorf("devissuer: key file %s is over %d bytes", path, maxKeyFile)
	}
	key, err := ParseKey(b)
	if err != nil {
		return nil, fmt.Errorf("devissuer: key file %s: %w", path, err)
	}
	return key, nil
}

// ParseKey decodes a PEM RSA private key (PKCS #8 or PKCS #1) of at least
// KeyBits bits.
func ParseKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block is %q, want \"PRIVATE KEY\"", block.Type)
	}
	if err != nil {
		return nil, err
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key is %T, want an RSA key", key)
	}
	if rk.N.BitLen() < KeyBits {
		return nil, fmt.Errorf("RSA key has %d bits, want at least %d", rk.N.BitLen(), KeyBits)
	}
	return rk, nil
}
