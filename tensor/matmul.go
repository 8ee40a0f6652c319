package tensor

import "fmt"

// Matrix is a row-major weight matrix in any type with a dot kernel: Rows
// rows of Cols elements, each row RowBytes(Type, Cols) bytes of Data (GGUF's
// ne[0] is Cols, ne[1] is Rows). Build it with NewMatrix.
type Matrix struct {
	Type       Type
	Rows, Cols int
	Data       []byte

	rowBytes int // bytes per weight row
	actBytes int // bytes per activation row quantized to actType
	dot      vecDotFunc
	dot4     dot4Func      // nil when the CPU has no four-row kernel for Type
	gemms    []*gemmKernel // the CPU's GEMM kernels for Type, in the order gemmFor tries them
	quant    func(src []float32, dst []byte)
}

// dot4Func computes four weight rows, w[0:], w[stride:], w[2*stride:] and
// w[3*stride:], against one activation row a (for Q8_0 activations, ad holds
// its block scales as float32) and writes the four dots to dst[0:4]. The
// results equal the single-row kernel's bit for bit.
type dot4Func func(w []byte, stride int, a []byte, ad []float32, n int, dst []float32)

// NewMatrix wraps data (not copied) as a rows×cols matrix of type t. It
// fails when t has no dot kernel, cols is not a whole number of t's blocks,
// or data is not exactly rows*RowBytes(t, cols) bytes.
func NewMatrix(t Type, rows, cols int, data []byte) (*Matrix, error) {
	dot, ok := dotKernel(t)
	if !ok {
		return nil, fmt.Errorf("tensor: matrix of type %s: no dot kernel", t)
	}
	if rows < 1 || cols < 1 {
		return nil, fmt.Errorf("tensor: matrix of type %s: bad shape %d×%d", t, rows, cols)
	}
	rb, err := RowBytes(t, int64(cols))
	if err != nil {
		return nil, fmt.Errorf("tensor: matrix %d×%d: %w", rows, cols, err)
	}
	if want := int64(rows) * rb; int64(len(data)) != want {
		return nil, fmt.Errorf("tensor: matrix %d×%d of %s needs %d bytes, got %d", rows, cols, t, want, len(data))
	}
	act := vecDotTypes[t]
	ab, err := RowBytes(act, int64(cols))
	if err != nil {
		return nil, fmt.Errorf("tensor: matrix %d×%d of %s: activations: %w", rows, cols, t, err)
	}
	m := &Matrix{
		Type: t, Rows: rows, Cols: cols, Data: data,
		rowBytes: int(rb), actBytes: int(ab),
		dot: dot, quant: actQuantizer(act),
	}
	if f, ok := fastDots4[t]; ok {
		m.dot4 = f
	}
	narrow := narrowGemms[t]
	m.gemms = narrow[:len(narrow):len(narrow)] // appending copies: the map's slice stays as it is
	if g, ok := fastGemm[t]; ok {
		m.gemms = append(m.gemms, g)
	}
	return m, nil
}

// Row dequantizes row r into dst (len(dst) == Cols); embedding lookup uses it.
func (m *Matrix) Row(r int, dst []float32) error {
	if r < 0 || r >= m.Rows {
		return fmt.Errorf("tensor: row %d out of range [0, %d)", r, m.Rows)
	}
	if len(dst) != m.Cols {
		return fmt.Errorf("tensor: row of %d elements into a buffer of %d", m.Cols, len(dst))
	}
	return Dequantize(m.Type, m.Data[r*m.rowBytes:(r+1)*m.rowBytes], dst)
}

// MatMul computes n matrix-vector products: for each activation vector x_i =
// x[i*Cols:(i+1)*Cols], dst[i*Rows+r] = W_r · x_i. Like ggml, it first
// quantizes each x_i to VecDotType(Type) and then runs the integer block dot
// products, rows split over p's workers. With a GEMM kernel for Type and n
// (gemmFor), the activations are laid out once per call for it, and with
// several vectors each weight block is unpacked once for a group of them
// rather than once per vector. With a Pool, repeated
// calls reuse its scratch and do not allocate; p == nil runs on the caller
// and allocates the scratch per call. x and dst may be longer than needed.
func (m *Matrix) MatMul(dst, x []float32, n int, p *Pool) error {
	if m.dot == nil {
		return fmt.Errorf("tensor: MatMul on a Matrix not built by NewMatrix")
	}
	if n < 0 || len(x) < n*m.Cols || len(dst) < n*m.Rows {
		return fmt.Errorf("tensor: MatMul %d×%d by %d vectors: x has %d elements (need %d), dst %d (need %d)",
			m.Rows, m.Cols, n, len(x), n*m.Cols, len(dst), n*m.Rows)
	}
	if p == nil {
		p = &Pool{threads: 1}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	act := p.buffer(n * m.actBytes)
	var (
		ad  []float32
		gk  = m.gemmFor(n)
		grp []byte
	)
	units := m.Rows
	switch {
	case gk != nil:
		grp = p.gemmBuffer((n + gk.vecs - 1) / gk.vecs * gk.groupBytes(m.Cols))
		units = (m.Rows + gk.rows - 1) / gk.rows
	case m.dot4 != nil:
		units = (m.Rows + 3) / 4
		if vecDotTypes[m.Type] == Q8_0 {
			ad = p.floatBuffer(n * m.Cols / 32)
		}
	}
	p.quant = quantizeTask{m: m, x: x, act: act, ad: ad, gemm: gk, grp: grp}
	p.run(&p.quant, n)
	p.mm = matmulTask{m: m, dst: dst, act: act, ad: ad, n: n, gemm: gk, grp: grp}
	p.run(&p.mm, units)
	p.quant, p.mm = quantizeTask{}, matmulTask{} // drop references to the caller's slices
	return nil
}

// quantizeTask quantizes activation vectors [lo, hi) to m's vec-dot type
// and, for the four-row kernels, converts their Q8_0 block scales to float32
// once here rather than once per weight row; for a GEMM kernel it also lays
// each vector out into its group.
type quantizeTask struct {
	m    *Matrix
	x    []float32
	act  []byte
	ad   []float32
	gemm *gemmKernel
	grp  []byte
}

func (t *quantizeTask) run(lo, hi int) {
	m := t.m
	nb := m.Cols / 32
	for i := lo; i < hi; i++ {
		a := t.act[i*m.actBytes : (i+1)*m.actBytes]
		m.quant(t.x[i*m.Cols:(i+1)*m.Cols], a)
		if g := t.gemm; g != nil {
			gb := g.groupBytes(m.Cols)
			g.layout(t.grp[i/g.vecs*gb:(i/g.vecs+1)*gb], a, i%g.vecs, m.Cols)
		}
		if t.ad != nil {
			for b, ad := 0, t.ad[i*nb:(i+1)*nb]; b < nb; b++ {
				ad[b] = half(a[b*34:])
			}
		}
	}
}

// matmulTask computes rows [lo, hi) of the product for all n vectors; with
// a four-row or GEMM kernel, lo and hi count groups of its rows.
type matmulTask struct {
	m    *Matrix
	dst  []float32
	act  []byte
	ad   []float32
	n    int
	gemm *gemmKernel
	grp  []byte
}

// rowTile is how many weight rows meet each activation vector in turn: the
// tile's rows stay in cache while the n activations stream past once per
// tile rather than once per row.
const rowTile = 8

func (t *matmulTask) run(lo, hi int) {
	if t.gemm != nil {
		t.runGemm(lo, hi)
		return
	}
	m := t.m
	nb := m.Cols / 32
	if m.dot4 != nil {
		lo, hi = 4*lo, min(4*hi, m.Rows)
	}
	for r0 := lo; r0 < hi; r0 += rowTile {
		r1 := min(r0+rowTile, hi)
		for i := 0; i < t.n; i++ {
			a := t.act[i*m.actBytes : (i+1)*m.actBytes]
			out := t.dst[i*m.Rows : (i+1)*m.Rows]
			r := r0
			if m.dot4 != nil {
				var ad []float32
				if t.ad != nil {
					ad = t.ad[i*nb : (i+1)*nb]
				}
				for ; r+4 <= r1; r += 4 {
					m.dot4(m.Data[r*m.rowBytes:(r+4)*m.rowBytes], m.rowBytes, a, ad, m.Cols, out[r:r+4])
				}
			}
			for ; r < r1; r++ {
				out[r] = m.dot(m.Data[r*m.rowBytes:(r+1)*m.rowBytes], a, m.Cols)
			}
		}
	}
}

// runGemm computes groups of rows [lo, hi) with the GEMM kernel: for each
// tile of vecTile vectors, every group of rows meets every group of vectors
// while its weights are in cache. Rows short of a whole group (at the end
// of the matrix) take the single-row kernel.
func (t *matmulTask) runGemm(lo, hi int) {
	m, g := t.m, t.gemm
	lo, hi = g.rows*lo, min(g.rows*hi, m.Rows)
	gb := g.groupBytes(m.Cols)
	for v0 := 0; v0 < t.n; v0 += vecTile {
		v1 := min(v0+vecTile, t.n)
		r := lo
		for ; r+g.rows <= hi; r += g.rows {
			for i := v0; i < v1; i += g.vecs {
				g.run(m, r, t.grp[i/g.vecs*gb:], t.act[i*m.actBytes:], min(g.vecs, v1-i), t.dst[i*m.Rows:])
			}
		}
		for ; r < hi; r++ {
			w := m.Data[r*m.rowBytes : (r+1)*m.rowBytes]
			for i := v0; i < v1; i++ {
				t.dst[i*m.Rows+r] = m.dot(w, t.act[i*m.actBytes:(i+1)*m.actBytes], m.Cols)
			}
		}
	}
}
