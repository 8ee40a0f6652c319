package tensor

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// PhysicalCores is the default number of compute threads: the physical
// cores this process may run on, as llama.cpp defaults to. A second
// hardware thread on a core shares its vector units, so it adds little to
// these compute-bound kernels and costs a barrier partner that runs at
// half speed. On Linux it reads the CPU topology from sysfs; elsewhere, or
// if that fails, it is runtime.NumCPU(). It is at least 1 and at most
// GOMAXPROCS.
func PhysicalCores() int {
	n := physicalCores("/sys/devices/system/cpu", runtime.NumCPU())
	return max(1, min(n, runtime.GOMAXPROCS(0)))
}

// physicalCores counts the cores under the sysfs CPU directory root (the
// distinct thread_siblings_list sets of its cpuN entries) and scales the
// process's numCPU usable hardware threads by cores per thread; numCPU
// when root has no topology.
func physicalCores(root string, numCPU int) int {
	dirs, err := filepath.Glob(filepath.Join(root, "cpu[0-9]*"))
	if err != nil {
		return numCPU
	}
	cores := map[string]bool{}
	threads := 0
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "topology", "thread_siblings_list"))
		if err != nil {
			continue // offline CPUs have no topology
		}
		cores[strings.TrimSpace(string(b))] = true
		threads++
	}
	if len(cores) == 0 {
		return numCPU
	}
	return max(1, numCPU*len(cores)/threads)
}
