package arena

import (
	"math"
	"strings"
	"testing"
)

func TestOnlineElo(t *testing.T) {
	seq := []Battle{
		{"a", "b", WinnerA},
		{"b", "c", WinnerTie},
		{"c", "a", WinnerB},
		{"a", "c", WinnerBothBad},
	}
	// By hand: the first battle is even, so the winner gains K/2 = 2.
	// Then b (998) ties c (1000): E_b = 1/(1+10^(2/400)) = 0.4971218, so b
	// gains 4·(0.5−0.4971218) = 0.0115128 and c loses as much. Then a
	// (1002) beats c (999.9884872) as model_b: E_a = 0.5028947, so a gains
	// 4·(1−0.5028947) = 1.9884209. A "both bad" tie scores like a tie.
	tests := []struct {
		n    int
		want map[string]float64
	}{
		{1, map[string]float64{"a": 1002, "b": 998}},
		{2, map[string]float64{"a": 1002, "b": 998.0115127982992, "c": 999.9884872017008}},
		{3, map[string]float64{"a": 1003.9884209309151, "b": 998.0115127982992, "c": 998.0000662707856}},
		{4, map[string]float64{"a": 1003.9539526036463, "b": 998.0115127982992, "c": 998.0345345980545}},
	}
	for _, tt := range tests {
		got, err := OnlineElo(seq[:tt.n])
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(tt.want) {
			t.Errorf("%d battles: got %v, want %v", tt.n, got, tt.want)
		}
		sum := 0.0
		for m, w := range tt.want {
			if math.Abs(got[m]-w) > 1e-9 {
				t.Errorf("%d battles: %s = %.10f, want %.10f", tt.n, m, got[m], w)
			}
			sum += got[m]
		}
		// Every update moves as much rating to one side as it takes
		// from the other.
		if want := EloInit * float64(len(tt.want)); math.Abs(sum-want) > 1e-9 {
			t.Errorf("%d battles: ratings sum to %v, want %v", tt.n, sum, want)
		}
	}
}

func TestOnlineEloRejectsBadBattle(t *testing.T) {
	_, err := OnlineElo([]Battle{{"a", "b", WinnerA}, {"a", "b", "draw"}})
	if err == nil || !strings.Contains(err.Error(), "battle 1") {
		t.Errorf("error = %v, want one naming battle 1", err)
	}
}

func BenchmarkOnlineElo(b *testing.B) {
	bs := ladderBattles(5, 100, 10000)
	for b.Loop() {
		if _, err := OnlineElo(bs); err != nil {
			b.Fatal(err)
		}
	}
}
