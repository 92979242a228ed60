package bearer

import "errors"

// Ready reports whether tokens can be verified right now from what v has
// cached, without any network request (it never starts a fetch): nil with
// a Secret or a PublicKey, or when the discovery metadata and the key set
// were fetched and are younger than CacheMaxAge, or older but within
// StaleIfError. With a Secret and an IssuerBaseURL, the discovery metadata
// alone is needed. With Issuers, every configured issuer must be ready
// (the error lists each one that is not); with a Resolve function the
// issuers are not known in advance and Ready returns nil.
//
// Use it for a readiness probe (GET /ready) rather than Warm: Warm fetches,
// so an identity provider's blip would take every instance out of the load
// balancer while the cached keys still verify tokens. Ready turns false
// only when the keys truly cannot be used (never fetched yet, or past
// StaleIfError), until a background refresh (RefreshAhead) or a retried
// Warm brings them back. The error says which issuer lacks what and, when
// the last fetch failed, why; it is meant for logs.
func (v *Verifier) Ready() error { return v.issuers.ready() }

// ready is Ready for every static issuer (or the only one) in
// configuration order.
func (s *issuerSet) ready() error {
	if s.resolve != nil {
		return nil
	}
	var errs []error
	for _, e := range s.entries {
		if err := e.tv.keysReady(); err != nil {
			if re, ok := err.(*readyError); ok {
				re.issuer = e.normalized
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// readyError is why one issuer's keys cannot be used.
type readyError struct {
	issuer string // the normalised issuer in multi-issuer mode, else ""
	source string // the discovery base or key set URL
	err    error
}

func (e *readyError) Error() string {
	prefix := "bearer: "
	if e.issuer != "" {
		prefix += "issuer " + e.issuer + ": "
	}
	return prefix + "signing keys from " + e.source + " unavailable: " + e.err.Error()
}

func (e *readyError) Unwrap() error { return e.err }
