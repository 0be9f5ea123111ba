package job

import "testing"

// BenchmarkClassify is the status table lookup each poll makes.
func BenchmarkClassify(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = Classify("CONNECTED", false)
	}
}
