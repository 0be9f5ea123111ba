// Package seal encrypts the fleet's secrets before they reach Redis:
// credentials and MFA answers in task payloads, results in job records.
// Values are sealed with AES-256-GCM under the first key of a Keyring and
// record the id of that key, so any key of the ring opens them and keys
// rotate without downtime: add the new key first, wait for the retention,
// drop the old one.
//
// A sealed value is the string "mxs1.<key id>.<base64url(nonce|ciphertext)>".
// Each value is bound to a context (the job id and the field) as AEAD
// additional data, so a sealed value copied into another job or field does
// not open.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// EnvVar is where workers and producers read their keys from.
const EnvVar = "MXFLEET_SECRET_KEYS"

const prefix = "mxs1."

// KeySize is the AES-256 key size.
const KeySize = 32

var keyID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// ErrNoKeys is returned when no key is configured.
var ErrNoKeys = fmt.Errorf("no secret keys: set %s to one or more id:base64(32 bytes) separated by commas (generate one with `mxfleet keygen`)", EnvVar)

// ErrNotSealed is returned when a value is not a sealed value at all.
var ErrNotSealed = errors.New("not a sealed value")

// ErrUnknownKey is returned for a value sealed with a key id this ring
// does not hold (rotated away, or not rolled out here yet).
var ErrUnknownKey = errors.New("unknown key")

// ErrWrongKey is returned for a value whose key id this ring holds but
// whose key does not open it: other key material under the same id (two
// keys made with one id), or a value altered or moved to another job.
var ErrWrongKey = errors.New("does not open")

// Keyring holds the keys that seal (the first) and open (all).
type Keyring struct {
	ids   []string
	aeads map[string]cipher.AEAD
}

// Parse reads "id:base64key[,id:base64key...]". The first key seals.
func Parse(s string) (*Keyring, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, ErrNoKeys
	}
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	for i, part := range strings.Split(s, ",") {
		id, b64, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok || !keyID.MatchString(id) {
			return nil, fmt.Errorf("%s: key %d: want id:base64, id of 1-32 letters, digits, _ or -", EnvVar, i+1)
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			raw, err = base64.RawURLEncoding.DecodeString(b64)
		}
		if err != nil || len(raw) != KeySize {
			return nil, fmt.Errorf("%s: key %q: want base64 of exactly %d bytes", EnvVar, id, KeySize)
		}
		if _, dup := k.aeads[id]; dup {
			return nil, fmt.Errorf("%s: key id %q given twice", EnvVar, id)
		}
		block, _ := aes.NewCipher(raw)
		aead, _ := cipher.NewGCM(block)
		k.ids = append(k.ids, id)
		k.aeads[id] = aead
	}
	return k, nil
}

// Generate returns a new random key in the Parse format, named id.
func Generate(id string) (string, error) {
	if !keyID.MatchString(id) {
		return "", fmt.Errorf("key id %q: want 1-32 letters, digits, _ or -", id)
	}
	raw := make([]byte, KeySize)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	return id + ":" + base64.StdEncoding.EncodeToString(raw), nil
}

// NewKeyID returns a fresh key id for a key made at t: "k" and the UTC
// date, for people, then "-" and 8 random hex digits, so that two keys
// made on one day (two terminals running keygen) never share an id. Two
// keys under one id would each refuse what the other sealed ("wrong key
// material for that id").
func NewKeyID(t time.Time) string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("seal: no randomness: %v", err))
	}
	return "k" + t.UTC().Format("20060102") + "-" + hex.EncodeToString(b[:])
}

// Ephemeral returns a ring with one random key, for the demo and tests.
func Ephemeral() *Keyring {
	s, err := Generate("ephemeral")
	if err != nil {
		panic(err)
	}
	k, _ := Parse(s)
	return k
}

// SealingKey is the id of the key that seals.
func (k *Keyring) SealingKey() string { return k.ids[0] }

// Seal encrypts plaintext bound to context (e.g. "job/<id>/credential/password").
func (k *Keyring) Seal(context, plaintext string) string {
	id := k.ids[0]
	aead := k.aeads[id]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(fmt.Sprintf("seal: no randomness: %v", err))
	}
	out := aead.Seal(nonce, nonce, []byte(plaintext), []byte(context))
	return prefix + id + "." + base64.RawURLEncoding.EncodeToString(out)
}

// Open decrypts a sealed value bound to context. Errors name the key id,
// never the value.
func (k *Keyring) Open(context, sealed string) (string, error) {
	rest, ok := strings.CutPrefix(sealed, prefix)
	if !ok {
		return "", ErrNotSealed
	}
	id, b64, ok := strings.Cut(rest, ".")
	if !ok || !keyID.MatchString(id) {
		return "", fmt.Errorf("%w: malformed key id", ErrNotSealed)
	}
	aead, ok := k.aeads[id]
	if !ok {
		return "", fmt.Errorf("%w: sealed with key %q, which is not in %s (keys here: %s)", ErrUnknownKey, id, EnvVar, strings.Join(k.ids, ", "))
	}
	raw, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return "", fmt.Errorf("%w: value sealed with key %q is truncated or not base64", ErrNotSealed, id)
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, raw[:n], raw[n:], []byte(context))
	if err != nil {
		return "", fmt.Errorf("value sealed with key %q %w: wrong key material for that id, or the value was altered or moved", id, ErrWrongKey)
	}
	return string(plain), nil
}

// IsSealed tells whether s looks like a sealed value.
func IsSealed(s string) bool { return strings.HasPrefix(s, prefix) }
