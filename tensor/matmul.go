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
	quant    func(src []float32, dst []byte)
}

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
	return &Matrix{
		Type: t, Rows: rows, Cols: cols, Data: data,
		rowBytes: int(rb), actBytes: int(ab),
		dot: dot, quant: actQuantizer(act),
	}, nil
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
// products, rows split over p's workers. With a Pool, repeated calls reuse
// its scratch and do not allocate; p == nil runs on the caller and allocates
// the scratch per call. x and dst may be longer than needed.
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
	p.quant = quantizeTask{m: m, x: x, act: act}
	p.run(&p.quant, n)
	p.mm = matmulTask{m: m, dst: dst, act: act, n: n}
	p.run(&p.mm, m.Rows)
	p.quant, p.mm = quantizeTask{}, matmulTask{} // drop references to the caller's slices
	return nil
}

// quantizeTask quantizes activation vectors [lo, hi) to m's vec-dot type.
type quantizeTask struct {
	m   *Matrix
	x   []float32
	act []byte
}

func (t *quantizeTask) run(lo, hi int) {
	m := t.m
	for i := lo; i < hi; i++ {
		m.quant(t.x[i*m.Cols:(i+1)*m.Cols], t.act[i*m.actBytes:(i+1)*m.actBytes])
	}
}

// matmulTask computes rows [lo, hi) of the product for all n vectors.
type matmulTask struct {
	m   *Matrix
	dst []float32
	act []byte
	n   int
}

// rowTile is how many weight rows meet each activation vector in turn: the
// tile's rows stay in cache while the n activations stream past once per
// tile rather than once per row.
const rowTile = 8

func (t *matmulTask) run(lo, hi int) {
	m := t.m
	for r0 := lo; r0 < hi; r0 += rowTile {
		r1 := min(r0+rowTile, hi)
		for i := 0; i < t.n; i++ {
			a := t.act[i*m.actBytes : (i+1)*m.actBytes]
			out := t.dst[i*m.Rows : (i+1)*m.Rows]
			for r := r0; r < r1; r++ {
				out[r] = m.dot(m.Data[r*m.rowBytes:(r+1)*m.rowBytes], a, m.Cols)
			}
		}
	}
}
