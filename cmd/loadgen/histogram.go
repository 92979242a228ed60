package main

import (
	"math/bits"
	"time"
)

// subBits sets the precision of a histogram: 2^subBits buckets per power
// of two, so a recorded latency is off by less than 1/2^subBits (0.8 %).
const subBits = 7

// histogram counts latencies in log-linear buckets, HDR-style: exact below
// 128 ns, then 128 buckets per power of two. Its size is fixed (a few
// thousand counters up to hours), whatever the number of samples.
type histogram struct {
	counts []uint64
	n      uint64
	max    time.Duration
}

// bucket returns the index of the bucket of v.
func bucket(v uint64) int {
	if v < 1<<subBits {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1
	return shift<<subBits + int(v>>shift)
}

// bucketHigh returns the largest value of bucket i.
func bucketHigh(i int) uint64 {
	if i < 1<<subBits {
		return uint64(i)
	}
	// i = shift<<subBits + mantissa, mantissa in [2^subBits, 2^(subBits+1)).
	shift := i>>subBits - 1
	mantissa := uint64(i - shift<<subBits)
	return (mantissa+1)<<shift - 1
}

// record adds one latency.
func (h *histogram) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	i := bucket(uint64(d))
	if i >= len(h.counts) {
		h.counts = append(h.counts, make([]uint64, i+1-len(h.counts))...)
	}
	h.counts[i]++
	h.n++
	h.max = max(h.max, d)
}

// merge adds the samples of o.
func (h *histogram) merge(o *histogram) {
	if len(o.counts) > len(h.counts) {
		h.counts = append(h.counts, make([]uint64, len(o.counts)-len(h.counts))...)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the latency below which a fraction q (0 < q ≤ 1) of the
// samples lie, rounded up to its bucket's upper bound; 0 without samples.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(time.Duration(bucketHigh(i)), h.max)
		}
	}
	return h.max
}
