package train

import "os"

// The packed matrix multiply: the fast path of matmulNT on CPUs with an
// assembly micro-kernel (gemm_amd64.s). Each k-chunk of A and B is copied
// into panels of mr rows (A) and nr rows (B) laid out k-major, so the
// micro-kernel streams both with unit stride and keeps an mr×nr tile of C in
// registers for the whole chunk. The split into chunks and tiles depends only
// on the shapes, never on the thread count, and each element of C sums its
// chunk in order, so results are identical for any number of threads.

const (
	mr    = 6   // rows of A per panel and per register tile
	nr    = 16  // rows of B (columns of C) per panel and per tile
	kcMax = 384 // longest k-chunk: an A and a B panel (33 KiB) fit in L1/L2
	tileP = 8   // panels per side of one parallel task: 48×128 of C
)

// useAsm selects the assembly kernel; LLMOS_NOASM=1 forces the pure-Go one
// (the reference the assembly is tested against).
var useAsm = hasAsm && os.Getenv("LLMOS_NOASM") == ""

// matmulNT computes c[i·n+j] = Σ_l a[i·k+l]·b[j·k+l] for i < m, j < n, that
// is C = A·Bᵀ with A [m,k], B [n,k], C [m,n], all row-major. With acc it adds
// to c instead of overwriting it.
func matmulNT(p *pool, c, a, b []float32, m, n, k int, acc bool) {
	if m == 0 || n == 0 || k == 0 {
		if !acc && k == 0 {
			clear(c[:m*n])
		}
		return
	}
	if useAsm {
		matmulPacked(p, c, operand{a, k, false}, operand{b, k, false}, m, n, k, acc)
		return
	}
	matmulNTGo(p, c, a, b, m, n, k, acc)
}

// operand is one factor of a packed multiply, an [rows, k] matrix: element
// (i, l) is data[i·ld + l], or data[l·ld + i] when trans (the matrix is
// stored transposed, as a weight is for d input = d output · W). Packing
// reads either layout, so no product needs a transposed copy.
type operand struct {
	data  []float32
	ld    int
	trans bool
}

// matmulPacked computes C = A·Bᵀ (C [m,n] row-major, A [m,k], B [n,k] as
// operands) over packed panels with the micro-kernel; with acc it adds to c.
func matmulPacked(p *pool, c []float32, a, b operand, m, n, k int, acc bool) {
	_ = c[m*n-1]
	chunks := (k + kcMax - 1) / kcMax
	kc := (k + chunks - 1) / chunks
	mp, np := (m+mr-1)/mr, (n+nr-1)/nr
	ap := grow(&p.packA, mp*mr*kc)
	bp := grow(&p.packB, np*nr*kc)
	mt, nt := (mp+tileP-1)/tileP, (np+tileP-1)/tileP
	for k0 := 0; k0 < k; k0 += kc {
		kk := min(kc, k-k0)
		add := acc || k0 > 0
		p.run(mp, func(ib int) { a.pack(ap[ib*mr*kk:(ib+1)*mr*kk], ib*mr, m, k0, kk, mr) })
		p.run(np, func(jb int) { b.pack(bp[jb*nr*kk:(jb+1)*nr*kk], jb*nr, n, k0, kk, nr) })
		p.run(mt*nt, func(t int) {
			// Consecutive tasks share a block of B panels.
			ti, tj := t%mt, t/mt
			var tmp [mr * nr]float32
			for jb := tj * tileP; jb < min((tj+1)*tileP, np); jb++ {
				bpan := bp[jb*nr*kk : (jb+1)*nr*kk]
				j := jb * nr
				for ib := ti * tileP; ib < min((ti+1)*tileP, mp); ib++ {
					apan := ap[ib*mr*kk : (ib+1)*mr*kk]
					i := ib * mr
					if i+mr <= m && j+nr <= n {
						microKernel(kk, apan, bpan, c[i*n+j:], n, add)
						continue
					}
					// A partial tile goes through a full one on the stack.
					microKernel(kk, apan, bpan, tmp[:], nr, false)
					for r := range min(mr, m-i) {
						row := c[(i+r)*n+j : (i+r)*n+min(j+nr, n)]
						for q := range row {
							store(row, q, tmp[r*nr+q], add)
						}
					}
				}
			}
		})
	}
}

// pack copies columns [k0, k0+kk) of rows [r0, r0+w) of the [rows, k]
// operand into dst k-major: dst[l·w + r] = element (r0+r, k0+l). Rows past
// the end are zero, so edge tiles compute on padding.
func (o operand) pack(dst []float32, r0, rows, k0, kk, w int) {
	valid := min(w, rows-r0)
	if o.trans {
		for l := range kk {
			src := o.data[(k0+l)*o.ld+r0 : (k0+l)*o.ld+r0+valid]
			d := dst[l*w : (l+1)*w]
			copy(d, src)
			clear(d[valid:])
		}
		return
	}
	for r := range w {
		if r >= valid {
			for l := range kk {
				dst[l*w+r] = 0
			}
			continue
		}
		row := o.data[(r0+r)*o.ld+k0 : (r0+r)*o.ld+k0+kk]
		for l, v := range row {
			dst[l*w+r] = v
		}
	}
}

// grow returns (*buf)[:n], reallocating only when the buffer is too short, so
// a workspace's matrix multiplies stop allocating after the first step.
func grow(buf *[]float32, n int) []float32 {
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	return (*buf)[:n]
}

// microKernelGo is the reference micro-kernel: c[r·ldc + j] (=|+=)
// Σ_l a[l·mr+r]·b[l·nr+j] over packed panels of k columns.
func microKernelGo(k int, a, b, c []float32, ldc int, acc bool) {
	for r := range mr {
		for j := range nr {
			var s float32
			for l := range k {
				s += a[l*mr+r] * b[l*nr+j]
			}
			store(c, r*ldc+j, s, acc)
		}
	}
}
