package bench

import (
	"math"
	"math/bits"
)

// rng is a small, fast, deterministic pseudo-random generator (wyrand). The
// generator's output must be byte-identical for a seed on every platform and
// Go version, so it does not depend on math/rand's algorithms.
type rng struct{ s uint64 }

func newRNG(seed uint64) *rng { return &rng{s: seed ^ 0x9e3779b97f4a7c15} }

func (r *rng) next() uint64 {
	r.s += 0xa0761d6478bd642f
	hi, lo := bits.Mul64(r.s, r.s^0xe7037ed1a0b428db)
	return hi ^ lo
}

// intn returns a value in [0, n); n must be positive.
func (r *rng) intn(n int) int {
	hi, _ := bits.Mul64(r.next(), uint64(n))
	return int(hi)
}

// between returns a value in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }

// float returns a value in [0, 1).
func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }

// chance reports true with probability p.
func (r *rng) chance(p float64) bool { return r.float() < p }

// exp returns an exponentially distributed value with the given mean.
func (r *rng) exp(mean float64) float64 { return -mean * math.Log(1-r.float()) }

// normal returns a standard normal value (Box–Muller; one of the pair).
func (r *rng) normal() float64 {
	u1 := 1 - r.float()
	u2 := r.float()
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// weighted picks an index with probability proportional to w.
func (r *rng) weighted(w []float64) int {
	var sum float64
	for _, x := range w {
		sum += x
	}
	x := r.float() * sum
	for i, v := range w {
		if x < v {
			return i
		}
		x -= v
	}
	return len(w) - 1
}

const hexDigits = "0123456789abcdef"

// appendHex appends n random lower-case hex digits.
func (r *rng) appendHex(b []byte, n int) []byte {
	for n > 0 {
		v := r.next()
		for i := 0; i < 16 && n > 0; i++ {
			b = append(b, hexDigits[v&15])
			v >>= 4
			n--
		}
	}
	return b
}

// uuid returns a random version-4 UUID in lower case.
func (r *rng) uuid() string {
	b := make([]byte, 0, 36)
	b = r.appendHex(b, 8)
	b = append(b, '-')
	b = r.appendHex(b, 4)
	b = append(b, '-', '4')
	b = r.appendHex(b, 3)
	b = append(b, '-', "89ab"[r.intn(4)])
	b = r.appendHex(b, 3)
	b = append(b, '-')
	b = r.appendHex(b, 12)
	return string(b)
}
