package arena

import (
	"fmt"
	"math"
)

// The Elo scale used by both rating methods, FastChat's constants: a rating
// difference of EloScale points means odds of EloBase to one.
const (
	EloK     = 4    // online Elo update step
	EloScale = 400  // rating points per factor EloBase in odds
	EloBase  = 10   // odds base
	EloInit  = 1000 // starting (online) and mean (Bradley–Terry) rating
)

// OnlineElo runs FastChat's compute_online_elo: every model starts at
// EloInit, and each battle, in the order given, moves both ratings by EloK
// times (actual − expected score), a tie scoring 0.5 for each side. The
// result depends on the order of battles; the Bradley–Terry fit does not.
func OnlineElo(battles []Battle) (map[string]float64, error) {
	rating := make(map[string]float64)
	get := func(m string) float64 {
		if r, ok := rating[m]; ok {
			return r
		}
		return EloInit
	}
	for i, b := range battles {
		if err := b.Validate(); err != nil {
			return nil, fmt.Errorf("arena: battle %d: %w", i, err)
		}
		sa, _ := b.score()
		ra, rb := get(b.ModelA), get(b.ModelB)
		ea := 1 / (1 + math.Pow(EloBase, (rb-ra)/EloScale))
		eb := 1 / (1 + math.Pow(EloBase, (ra-rb)/EloScale))
		rating[b.ModelA] = ra + EloK*(sa-ea)
		rating[b.ModelB] = rb + EloK*(1-sa-eb)
	}
	return rating, nil
}
