package httpapi

import (
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/taskapi/taskapi"
)

// ERATELIMIT is the code of a 429 answer: the subject's requests or the
// address's authentication failures are over their limit.
const ERATELIMIT = "ERR_RATE_LIMIT"

// maxLimiterKeys bounds the buckets each limiter keeps: at 10 000 keys of
// at most 255 bytes (a sub), a limiter holds about 4 MiB at worst.
const maxLimiterKeys = 10_000

// sweepInterval is the least time between two sweeps of a full limiter for
// idle buckets, so that a flood of new keys costs O(1) per request between
// sweeps.
const sweepInterval = time.Second

// bucket is a token bucket: tokens left at time at.
type bucket struct {
	tokens float64
	at     time.Time
}

// limiter keeps a token bucket per key (a subject, a client address), in a
// map of at most max entries. A bucket that has refilled to the brim is
// idle: dropping it changes nothing, since a new key starts full. When the
// map is full, idle buckets are swept (at most once per sweepInterval), and
// if none is idle an arbitrary bucket is dropped: under a flood of distinct
// keys a limit can only get more lenient, never refuse a new key.
type limiter struct {
	rate, burst float64
	policy      string // the RateLimit-Policy value
	max         int
	now         func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

func newLimiter(l RateLimit, max int, now func() time.Time) *limiter {
	window := int(math.Ceil(float64(l.Burst) / l.Rate))
	return &limiter{
		rate:    l.Rate,
		burst:   float64(l.Burst),
		policy:  `"default";q=` + strconv.Itoa(l.Burst) + `;w=` + strconv.Itoa(window),
		max:     max,
		now:     now,
		buckets: make(map[string]*bucket),
	}
}

// decision is the state of a bucket after a request.
type decision struct {
	allowed    bool
	remaining  int           // whole tokens left
	reset      time.Duration // until the bucket is full again
	retryAfter time.Duration // until a token is available (when not allowed)
}

// take takes n tokens (1: a request; 0: a look) from key's bucket if it
// holds at least one, and reports the bucket's state.
func (l *limiter) take(key string, n float64) decision {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(key)
	d := decision{allowed: b.tokens >= 1}
	if d.allowed {
		b.tokens -= n
	} else {
		d.retryAfter = seconds((1 - b.tokens) / l.rate)
	}
	d.remaining = int(b.tokens)
	d.reset = seconds((l.burst - b.tokens) / l.rate)
	return d
}

// spend takes a token from key's bucket, down to zero.
func (l *limiter) spend(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(key)
	b.tokens = max(0, b.tokens-1)
}

// len returns the number of buckets kept.
func (l *limiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// bucket returns key's bucket refilled to now, making it (full) if needed.
// l.mu is held.
func (l *limiter) bucket(key string) *bucket {
	now := l.now()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.max {
			l.evict(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
		return b
	}
	if elapsed := now.Sub(b.at); elapsed > 0 {
		b.tokens = min(l.burst, b.tokens+elapsed.Seconds()*l.rate)
		b.at = now
	}
	return b
}

// evict makes room for a bucket. l.mu is held.
func (l *limiter) evict(now time.Time) {
	if now.Sub(l.lastSweep) >= sweepInterval {
		l.lastSweep = now
		for k, b := range l.buckets {
			if b.tokens+now.Sub(b.at).Seconds()*l.rate >= l.burst {
				delete(l.buckets, k)
			}
		}
	}
	for k := range l.buckets {
		if len(l.buckets) < l.max {
			break
		}
		delete(l.buckets, k)
	}
}

// setHeaders sets the rate-limit fields of draft-ietf-httpapi-ratelimit-
// headers-10 (RateLimit-Policy: the quota q and its window w in seconds;
// RateLimit: the remaining quota r and the seconds t until it is whole
// again), and Retry-After on a refusal.
func (l *limiter) setHeaders(h http.Header, d decision) {
	h.Set("RateLimit-Policy", l.policy)
	h.Set("RateLimit", `"default";r=`+strconv.Itoa(d.remaining)+";t="+strconv.Itoa(ceilSeconds(d.reset)))
	if !d.allowed {
		h.Set("Retry-After", strconv.Itoa(max(1, ceilSeconds(d.retryAfter))))
	}
}

// seconds converts a float number of seconds to a Duration.
func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// ceilSeconds rounds d up to whole seconds.
func ceilSeconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

// tooManyRequests is the 429 answer.
var tooManyRequests = taskapi.Errorf(ERATELIMIT, "Too many requests")

// clientAddr returns the address of the client that sent r: the
// connection's peer, or, when that peer is a trusted proxy, the rightmost
// address of X-Forwarded-For that is not a trusted proxy.
func (s *server) clientAddr(r *http.Request) netip.Addr {
	addr := parseAddr(r.RemoteAddr)
	if !s.trusted(addr) {
		return addr
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		list := strings.Split(hops[i], ",")
		for j := len(list) - 1; j >= 0; j-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(list[j]))
			if err != nil {
				return addr // a garbled hop: believe no further
			}
			addr = hop.Unmap()
			if !s.trusted(addr) {
				return addr
			}
		}
	}
	return addr
}

// trusted reports whether addr is one of the trusted proxies.
func (s *server) trusted(addr netip.Addr) bool {
	for _, p := range s.proxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// parseAddr parses a RemoteAddr ("host:port", or a bare address).
func parseAddr(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap()
	}
	a, _ := netip.ParseAddr(remote)
	return a.Unmap()
}

// addrKey is the limiter key of a client address: the address for IPv4,
// its /64 for IPv6 (one client usually holds a whole /64).
func addrKey(a netip.Addr) string {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
