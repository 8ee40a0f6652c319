package sample

import (
	"math"
	"testing"
)

func TestLogSoftmax(t *testing.T) {
	tests := []struct {
		name   string
		logits []float32
		want   []float64
	}{
		{"uniform", []float32{0, 0, 0, 0}, []float64{-math.Log(4), -math.Log(4), -math.Log(4), -math.Log(4)}},
		{"shift invariant", []float32{1000, 1001}, []float64{-math.Log(1 + math.E), 1 - math.Log(1+math.E)}},
		{"probabilities", logitsOf(0.5, 0.25, 0.125, 0.125), []float64{math.Log(0.5), math.Log(0.25), math.Log(0.125), math.Log(0.125)}},
		{"minus inf", []float32{0, float32(math.Inf(-1))}, []float64{0, math.Inf(-1)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := LogSoftmax(nil, tc.logits)
			for i := range got {
				if d := math.Abs(float64(got[i]) - tc.want[i]); !(d < 1e-6) && float64(got[i]) != tc.want[i] {
					t.Fatalf("LogSoftmax = %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestLogprobs(t *testing.T) {
	logits := logitsOf(0.1, 0.4, 0.1, 0.3, 0.1)
	tests := []struct {
		name    string
		chosen  int32
		n       int
		wantLP  float64
		wantTop []int32
		wantErr bool
	}{
		{"top 3 with tie", 2, 3, math.Log(0.1), []int32{1, 3, 0}, false},
		{"top 0", 1, 0, math.Log(0.4), nil, false},
		{"top above vocab", 3, 10, math.Log(0.3), []int32{1, 3, 0, 2, 4}, false},
		{"chosen outside vocab", 5, 1, 0, nil, true},
		{"negative chosen", -1, 1, 0, nil, true},
		{"negative n", 0, -2, 0, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			chosen, top, err := Logprobs(logits, tc.chosen, tc.n)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if chosen.ID != tc.chosen || math.Abs(float64(chosen.Logprob)-tc.wantLP) > 1e-6 {
				t.Errorf("chosen = %+v, want id %d logprob %v", chosen, tc.chosen, tc.wantLP)
			}
			if len(top) != len(tc.wantTop) {
				t.Fatalf("top = %+v, want ids %v", top, tc.wantTop)
			}
			for i, x := range top {
				if x.ID != tc.wantTop[i] || math.Abs(float64(x.Logprob-LogSoftmax(nil, logits)[x.ID])) > 1e-6 {
					t.Errorf("top[%d] = %+v, want id %d", i, x, tc.wantTop[i])
				}
			}
		})
	}
}

func BenchmarkLogprobs(b *testing.B) {
	logits := randomLogits(128256)
	for b.Loop() {
		if _, _, err := Logprobs(logits, 7, 5); err != nil {
			b.Fatal(err)
		}
	}
}
