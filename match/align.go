package match

import "sort"

// kind classifies a token for the alignment: core tokens always count;
// the other kinds are optional (a middle name, a street's directional or
// suffix): left over on one side only they are ignored.
type kind uint8

const (
	kindCore kind = iota
	kindMiddle
	kindDirectional
	kindSuffix
	nKinds
)

type token struct {
	s string
	k kind
}

// pair is two aligned tokens: a[i] and b[j], of similarity s.
type pair struct {
	i, j int
	s    float64
}

// align pairs the tokens of a and b greedily, best similarity first (ties:
// lower index in a, then in b), each token at most once, pairs with
// similarity 0 never. It returns the sum of the paired similarities, the
// denominator: the number of pairs, plus the larger of the two counts of
// core tokens left over, plus for each optional kind the smaller of the two
// counts left over of that kind; and the pairs taken.
func align(a, b []token, sim func(x, y token) float64) (sum float64, denom int, taken []pair) {
	var ps []pair
	for i := range a {
		for j := range b {
			if s := sim(a[i], b[j]); s > 0 {
				ps = append(ps, pair{i, j, s})
			}
		}
	}
	sort.SliceStable(ps, func(x, y int) bool {
		if ps[x].s != ps[y].s {
			return ps[x].s > ps[y].s
		}
		if ps[x].i != ps[y].i {
			return ps[x].i < ps[y].i
		}
		return ps[x].j < ps[y].j
	})
	usedA, usedB := make([]bool, len(a)), make([]bool, len(b))
	for _, p := range ps {
		if usedA[p.i] || usedB[p.j] {
			continue
		}
		usedA[p.i], usedB[p.j] = true, true
		sum += p.s
		denom++
		taken = append(taken, p)
	}
	var leftA, leftB [nKinds]int
	for i, t := range a {
		if !usedA[i] {
			leftA[t.k]++
		}
	}
	for j, t := range b {
		if !usedB[j] {
			leftB[t.k]++
		}
	}
	denom += max(leftA[kindCore], leftB[kindCore])
	for k := kindCore + 1; k < nKinds; k++ {
		denom += min(leftA[k], leftB[k])
	}
	return sum, denom, taken
}
