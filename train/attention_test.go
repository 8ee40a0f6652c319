package train

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestAttentionPaths compares the packed attention (forward and backward)
// with the pure-Go one on shapes that leave partial tiles everywhere.
func TestAttentionPaths(t *testing.T) {
	if !hasAsm {
		t.Skip("no assembly kernel on this CPU")
	}
	for _, tc := range []struct{ heads, kv, hd, T, B int }{
		{2, 1, 8, 37, 2}, {4, 2, 6, 13, 1}, {3, 3, 48, 20, 1}, {1, 1, 2, 1, 3},
	} {
		t.Run(fmt.Sprintf("h%d_kv%d_hd%d_T%d", tc.heads, tc.kv, tc.hd, tc.T), func(t *testing.T) {
			c := Config{Dim: tc.heads * tc.hd, Layers: 1, Heads: tc.heads, KVHeads: tc.kv, HeadDim: tc.hd,
				Hidden: 8, Vocab: 5, SeqLen: tc.T, NormEps: 1e-5, RopeBase: 1e4}
			m, err := New(c, LMHead)
			if err != nil {
				t.Fatal(err)
			}
			run := func(asm bool) (*Workspace, *layerActs) {
				ws, err := m.NewWorkspace(tc.B, tc.T, 2)
				if err != nil {
					t.Fatal(err)
				}
				a := &ws.acts[0]
				r := rand.New(rand.NewPCG(uint64(tc.T), 4))
				for _, s := range [][]float32{a.q, a.k, a.v, ws.datt} {
					copy(s, randSlice(r, len(s)))
				}
				old := useAsm
				useAsm = asm
				defer func() { useAsm = old }()
				ws.attention(a)
				ws.attentionBackward(a)
				return ws, a
			}
			wsGo, aGo := run(false)
			wsAsm, aAsm := run(true)
			for _, cmp := range []struct {
				name      string
				got, want []float32
			}{
				{"probs", aAsm.probs, aGo.probs}, {"att", aAsm.att, aGo.att},
				{"dq", wsAsm.dq, wsGo.dq}, {"dk", wsAsm.dk, wsGo.dk}, {"dv", wsAsm.dv, wsGo.dv},
			} {
				if e := relMax(cmp.got, cmp.want); e > 1e-5 {
					t.Errorf("%s: rel_max %.3g between the packed and the Go attention", cmp.name, e)
				}
			}
		})
	}
}
