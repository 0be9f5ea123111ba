package pollplan

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func BenchmarkPlan(b *testing.B) {
	now := time.Unix(1_800_000_000, 0)
	for _, sigma := range []float64{0.1, 0.5, 0.8} {
		e := NewEstimate(24 * time.Hour)
		r := rand.New(rand.NewPCG(1, 2))
		for range 1000 {
			e.Observe(time.Duration(float64(60*time.Second)*math.Exp(sigma*r.NormFloat64())), now)
		}
		b.Run(fmt.Sprintf("sigma=%.1f", sigma), func(b *testing.B) {
			c := DefaultConfig()
			for b.Loop() {
				c.Plan(e)
			}
		})
	}
}
