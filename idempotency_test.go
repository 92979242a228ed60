package taskapi

import (
	"strings"
	"testing"
	"time"
)

func TestKeyPolicyAdmit(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	k := IdempotencyKey{UserID: "u", Key: "k", Fingerprint: Fingerprint("POST", "/tasks", []byte(`{"name":"a"}`))}
	live := &KeyRecord{Fingerprint: k.Fingerprint, Response: SavedResponse{Status: 201, Body: []byte("saved")}, ExpiresAt: now.Add(time.Second)}
	other := &KeyRecord{Fingerprint: Fingerprint("POST", "/tasks", []byte(`{"name":"b"}`)), ExpiresAt: now.Add(time.Second)}
	expired := &KeyRecord{Fingerprint: other.Fingerprint, ExpiresAt: now}
	capped := KeyPolicy{MaxPerUser: 3}
	cases := []struct {
		name   string
		p      KeyPolicy
		rec    *KeyRecord
		held   int
		replay bool
		code   string
	}{
		{"new key", KeyPolicy{}, nil, 1 << 20, false, ""},
		{"same request replays", KeyPolicy{}, live, 0, true, ""},
		{"another request", KeyPolicy{}, other, 0, false, EKEYREUSED},
		{"expired record is no record", KeyPolicy{}, expired, 0, false, ""},
		{"below the cap", capped, nil, 2, false, ""},
		{"at the cap", capped, nil, 3, false, ELIMIT},
		{"at the cap, a held key still replays", capped, live, 3, true, ""},
		{"at the cap, a held key reused", capped, other, 3, false, EKEYREUSED},
		{"at the cap, an expired key is new", capped, expired, 3, false, ELIMIT},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			saved, err := c.p.Admit(k, c.rec, c.held, now)
			if (saved != nil) != c.replay || ErrorCode(err) != c.code && !(c.code == "" && err == nil) {
				t.Fatalf("Admit = %+v, %v; want replay %v, code %q", saved, err, c.replay, c.code)
			}
			if c.replay && string(saved.Body) != "saved" {
				t.Fatalf("replayed %q", saved.Body)
			}
		})
	}
	if got := (KeyPolicy{}).Expiry(now); !got.Equal(now.Add(24 * time.Hour)) {
		t.Errorf("default expiry %v, want 24h later", got)
	}
	if got := (KeyPolicy{TTL: time.Minute}).Expiry(now); !got.Equal(now.Add(time.Minute)) {
		t.Errorf("expiry %v, want a minute later", got)
	}
}

func TestFingerprint(t *testing.T) {
	base := Fingerprint("POST", "/tasks", []byte("{}"))
	for _, other := range []string{
		Fingerprint("PUT", "/tasks", []byte("{}")),
		Fingerprint("POST", "/projects", []byte("{}")),
		Fingerprint("POST", "/tasks", []byte("{ }")),
		Fingerprint("POST", "/tasks", nil),
	} {
		if other == base {
			t.Error("two requests share a fingerprint")
		}
	}
	if Fingerprint("POST", "/tasks", []byte("{}")) != base || len(base) != 64 {
		t.Errorf("fingerprint %q is not a stable hex SHA-256", base)
	}
}

func TestCheckIdempotencyKey(t *testing.T) {
	for _, ok := range []string{"a", "8e03978e-40d5-43e8-bc93-6894a57f9324", strings.Repeat("x", MaxIdempotencyKeyLen), "!#$%&'()*+,-./:;<=>?@[]^_`{|}~"} {
		if err := CheckIdempotencyKey(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", " ", "a b", `a"b`, `a\b`, "caf\u00e9", "a\tb", "a\x00", "a\x7f", strings.Repeat("x", MaxIdempotencyKeyLen+1)} {
		if err := CheckIdempotencyKey(bad); ErrorCode(err) != EBADREQUEST {
			t.Errorf("%q: %v, want %s", bad, err, EBADREQUEST)
		}
	}
}

// FuzzCheckIdempotencyKey: a key accepted is 1 to 255 bytes of visible
// ASCII without '"' or '\'.
func FuzzCheckIdempotencyKey(f *testing.F) {
	for _, s := range []string{"a", "8e03978e-40d5-43e8-bc93-6894a57f9324", `"quoted"`, "caf\u00e9", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if CheckIdempotencyKey(key) != nil {
			return
		}
		if key == "" || len(key) > MaxIdempotencyKeyLen {
			t.Fatalf("accepted a key of %d bytes", len(key))
		}
		for _, c := range []byte(key) {
			if c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
				t.Fatalf("accepted %q", key)
			}
		}
	})
}
