package sqlite

import (
	"strings"
	"testing"
)

func TestContainsLower(t *testing.T) {
	tests := []struct {
		text, term string
		want       bool
	}{
		{"Buy MILK", "milk", true},
		{"Buy MILK", "buy m", true},
		{"Buy MILK", "", true},
		{"", "", true},
		{"", "a", false},
		{"Buy MILK", "milkk", false},
		{"MIL", "milk", false},
		{"aaab", "aab", true}, // a restart after a partial match
		{"100% off_", "0% off_", true},
		{"Crème BRÛLÉE", "brûlée", true},
		{"Crème BRÛLÉE", "brulee", false},
		{"plain ascii", "é", false},
		{"\u212A", "k", true}, // KELVIN SIGN lower-cases to an ASCII k
		{"Straße", "strasse", false},
	}
	for _, tc := range tests {
		term := strings.ToLower(tc.term)
		if got := containsLower(tc.text, term); got != tc.want {
			t.Errorf("containsLower(%q, %q) = %v, want %v", tc.text, term, got, tc.want)
		}
		// The fast path agrees with the plain definition.
		if want := strings.Contains(strings.ToLower(tc.text), term); containsLower(tc.text, term) != want {
			t.Errorf("containsLower(%q, %q) disagrees with strings.Contains of the lower-cased text", tc.text, term)
		}
	}
}

// FuzzContainsLower checks the fast path against the definition:
// go test -fuzz FuzzContainsLower ./sqlite/
func FuzzContainsLower(f *testing.F) {
	f.Add("Buy MILK", "milk")
	f.Add("\u212A", "K")
	f.Add("Crème BRÛLÉE", "LÉE")
	f.Fuzz(func(t *testing.T, text, term string) {
		term = strings.ToLower(term)
		if got, want := containsLower(text, term), strings.Contains(strings.ToLower(text), term); got != want {
			t.Fatalf("containsLower(%q, %q) = %v, want %v", text, term, got, want)
		}
	})
}
