// Package secrets reads and writes werf-compatible encrypted values and files: AES with a
// hex key of 16, 24 or 32 bytes; each encrypted value is the hex of a little-endian uint16
// format version followed by the cipher data. Version 16 (werf 1.2, what we write) is
// AES-CBC: a 16-byte IV and PKCS#7-padded ciphertext, so every value starts with "1000".
// Version 2 (newer werf) is AES-GCM with a 12-byte nonce; it is read, not written.
package secrets

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

const (
	formatCBC  uint16 = 16
	formatGCM  uint16 = 2
	headerSize        = 2
	gcmNonce          = 12
)

// ErrDecrypt is wrapped by every failure to decrypt data that looked encrypted.
var ErrDecrypt = errors.New("decryption failed: check the encryption key and the data")

// Cipher encrypts and decrypts with one key.
type Cipher struct {
	block cipher.Block
}

// GenerateKey returns a new random AES-128 key as 32 hex characters, as werf generates them.
func GenerateKey() (string, error) {
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	return hex.EncodeToString(raw), nil
}

// NewCipher parses a hex key of 16, 24 or 32 bytes (AES-128, -192 or -256).
func NewCipher(hexKey string) (*Cipher, error) {
	raw, err := hex.DecodeString(strings.TrimSpace(hexKey))
	if err != nil {
		return nil, fmt.Errorf("the secret key must be hex: %w", err)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("the secret key must be 32, 48 or 64 hex characters (AES-128, -192 or -256), got %d", len(strings.TrimSpace(hexKey)))
	}
	return &Cipher{block: block}, nil
}

// Encrypt returns the hex form of data encrypted in werf's CBC format.
func (c *Cipher) Encrypt(data []byte) ([]byte, error) {
	pad := aes.BlockSize - len(data)%aes.BlockSize
	plain := append(bytes.Clone(data), bytes.Repeat([]byte{byte(pad)}, pad)...)
	out := make([]byte, headerSize+aes.BlockSize+len(plain))
	binary.LittleEndian.PutUint16(out, formatCBC)
	iv := out[headerSize : headerSize+aes.BlockSize]
	if _, err := rand.Read(iv); err != nil {
		return nil, err
	}
	cipher.NewCBCEncrypter(c.block, iv).CryptBlocks(out[headerSize+aes.BlockSize:], plain)
	return []byte(hex.EncodeToString(out)), nil
}

// Decrypt reverses Encrypt, and also reads werf's GCM format. Empty data stays empty.
func (c *Cipher) Decrypt(data []byte) ([]byte, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, nil
	}
	raw := make([]byte, hex.DecodedLen(len(data)))
	if _, err := hex.Decode(raw, data); err != nil {
		return nil, fmt.Errorf("%w: not hex-encoded (%v)", ErrDecrypt, err)
	}
	if len(raw) < headerSize {
		return nil, fmt.Errorf("%w: too short", ErrDecrypt)
	}
	switch version := binary.LittleEndian.Uint16(raw); version {
	case formatCBC:
		return c.decryptCBC(raw[headerSize:])
	case formatGCM:
		return c.decryptGCM(raw[headerSize:])
	default:
		return nil, fmt.Errorf("%w: unknown format version %d", ErrDecrypt, version)
	}
}

func (c *Cipher) decryptCBC(raw []byte) ([]byte, error) {
	if len(raw) < 2*aes.BlockSize || len(raw)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: truncated data", ErrDecrypt)
	}
	iv, text := raw[:aes.BlockSize], bytes.Clone(raw[aes.BlockSize:])
	cipher.NewCBCDecrypter(c.block, iv).CryptBlocks(text, text)
	pad := int(text[len(text)-1])
	if pad == 0 || pad > aes.BlockSize || !bytes.Equal(text[len(text)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil, ErrDecrypt
	}
	return text[:len(text)-pad], nil
}

func (c *Cipher) decryptGCM(raw []byte) ([]byte, error) {
	gcm, err := cipher.NewGCM(c.block)
	if err != nil {
		return nil, err
	}
	if len(raw) < gcmNonce+gcm.Overhead() {
		return nil, fmt.Errorf("%w: truncated data", ErrDecrypt)
	}
	plain, err := gcm.Open(nil, raw[:gcmNonce], raw[gcmNonce:], nil)
	if err != nil {
		return nil, ErrDecrypt
	}
	return plain, nil
}
