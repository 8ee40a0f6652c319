//go:build !purego

package tensor

import "golang.org/x/sys/cpu"

// q8LanesAVX512 lays nb Q8_0 blocks at a out as one vector of a q8Lanes
// group at dst (lanes_amd64.s): steps 64-byte steps per block, step s
// taking dword idx[i]+s·step of the block's quants into lane i, then the
// block's float32 scale and its correction -bias·Σq, each stored only in
// the lanes of vmask (the correction only in those of cmask too).
//
//go:noescape
func q8LanesAVX512(dst, a *byte, nb int, idx *[16]uint32, step, vmask, cmask, steps, bias int)

func init() {
	if noAsm || !cpu.X86.HasAVX2 || !cpu.X86.HasAVX512F || !cpu.X86.HasAVX512BW || !cpu.X86.HasAVX512VL {
		return
	}
	putLanesFast = putLanesAVX512
}

// putLanesAVX512 is q8Lanes.put over nb > 0 blocks with q8LanesAVX512:
// lane i of a step belongs to vector i/q (q = rows·g lanes per vector)
// and holds that vector's dword (i mod q)/rows of the step's g.
func putLanesAVX512(l q8Lanes, dst, a []byte, v, nb int, bias int32) {
	q := l.rows * l.g
	var idx [16]uint32
	cmask := 0
	for i := range idx {
		idx[i] = uint32(i % q / l.rows)
		if i%q < l.rows {
			cmask |= 1 << i
		}
	}
	_, _ = dst[nb*l.block()-1], a[nb*34-1]
	q8LanesAVX512(&dst[0], &a[0], nb, &idx, l.g, (1<<q-1)<<(q*v), cmask, 8/l.g, int(bias))
}
