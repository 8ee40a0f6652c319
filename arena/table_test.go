package arena

import (
	"math"
	"strings"
	"testing"
)

func TestWriteTables(t *testing.T) {
	nan := math.NaN()
	lb := &Leaderboard{
		Ratings: []Rating{
			{Model: "vicuna-13b", Rating: 1104.6, CILower: 1080.2, CIUpper: 1130.9, Elo: 1090.4, Battles: 30, Rank: 1},
			{Model: "koala", Rating: 1000.4, CILower: 970, CIUpper: 1081, Elo: 1001, Battles: 20, Rank: 1},
			{Model: "alpaca-13b", Rating: 895, CILower: 860.5, CIUpper: 930.49, Elo: 908.6, Battles: 10, Rank: 3},
		},
		WinRate: [][]float64{
			{nan, 0.75, 0.8},
			{0.25, nan, nan},
			{0.2, nan, nan},
		},
		Bootstrap: 1000,
	}
	tests := []struct {
		name  string
		write func(*strings.Builder) error
		want  string
	}{
		{"table", func(b *strings.Builder) error { return lb.WriteTable(b) }, `rank  model       rating  95% CI       elo   battles
1     vicuna-13b  1105    1080 – 1131  1090  30
1     koala       1000    970 – 1081   1001  20
3     alpaca-13b  895     860 – 930    909   10

30 battles between 3 models; ratings are Bradley–Terry on the Elo scale (mean 1000), intervals from 1000 bootstrap resamples.
`},
		{"win rates", func(b *strings.Builder) error { return lb.WriteWinRates(b) }, `                  1     2     3
1  vicuna-13b     -  0.75  0.80
2  koala       0.25     -     -
3  alpaca-13b  0.20     -     -
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := tt.write(&b); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tt.want)
			}
		})
	}
}
