package tensor

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestPhysicalCores counts cores in fake sysfs trees: SMT pairs, no SMT,
// offline CPUs without a topology, a process allowed fewer CPUs than the
// machine has, and no sysfs at all.
func TestPhysicalCores(t *testing.T) {
	tests := []struct {
		name     string
		siblings []string // per cpuN; "" for a CPU without topology
		numCPU   int
		want     int
	}{
		{"smt2", []string{"0,4", "1,5", "2,6", "3,7", "0,4", "1,5", "2,6", "3,7"}, 8, 4},
		{"smt2 ranges", []string{"0-1", "0-1", "2-3", "2-3"}, 4, 2},
		{"no smt", []string{"0", "1", "2"}, 3, 3},
		{"offline cpu", []string{"0,2", "1,3", "0,2", ""}, 3, 2},
		{"affinity of half", []string{"0,2", "1,3", "0,2", "1,3"}, 2, 1},
		{"none", nil, 6, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for i, s := range tt.siblings {
				dir := filepath.Join(root, "cpu"+string(rune('0'+i)))
				if s != "" {
					dir = filepath.Join(dir, "topology")
				}
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if s != "" {
					if err := os.WriteFile(filepath.Join(dir, "thread_siblings_list"), []byte(s+"\n"), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			if got := physicalCores(root, tt.numCPU); got != tt.want {
				t.Errorf("physicalCores = %d, want %d", got, tt.want)
			}
		})
	}
	if n := PhysicalCores(); n < 1 || n > runtime.GOMAXPROCS(0) {
		t.Errorf("PhysicalCores() = %d, outside [1, GOMAXPROCS %d]", n, runtime.GOMAXPROCS(0))
	}
}
