//go:build unix

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/llmos/llmos/scaling"
)

// k8sObject is the part of a Kubernetes object the test reads.
type k8sObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"`
	Spec struct {
		CompletionMode       string  `yaml:"completionMode"`
		Completions          *int    `yaml:"completions"`
		BackoffLimitPerIndex *int    `yaml:"backoffLimitPerIndex"`
		Template             podSpec `yaml:"template"`
		podBody              `yaml:",inline"`
	} `yaml:"spec"`
}

type podSpec struct {
	Spec podBody `yaml:"spec"`
}

type podBody struct {
	RestartPolicy string `yaml:"restartPolicy"`
	Containers    []struct {
		Command []string `yaml:"command"`
		Args    []string `yaml:"args"`
		EnvFrom []struct {
			ConfigMapRef struct {
				Name string `yaml:"name"`
			} `yaml:"configMapRef"`
		} `yaml:"envFrom"`
		VolumeMounts []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
		} `yaml:"volumeMounts"`
	} `yaml:"containers"`
	Volumes []struct {
		Name                  string `yaml:"name"`
		PersistentVolumeClaim struct {
			ClaimName string `yaml:"claimName"`
		} `yaml:"persistentVolumeClaim"`
	} `yaml:"volumes"`
}

// readK8sSweep parses docs/k8s-sweep.yaml and checks every object's
// identity and the references between them.
func readK8sSweep(t *testing.T) map[string]k8sObject {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "k8s-sweep.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs := map[string]k8sObject{}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var o k8sObject
		if err := dec.Decode(&o); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("docs/k8s-sweep.yaml: %v", err)
		}
		if o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "" {
			t.Fatalf("object without apiVersion, kind or name: %+v", o)
		}
		switch step := o.Metadata.Labels["llmos.dev/step"]; step {
		case "plan", "grid", "collect":
		default:
			t.Errorf("%s %s: label llmos.dev/step = %q, want plan, grid or collect", o.Kind, o.Metadata.Name, step)
		}
		objs[o.Kind+"/"+o.Metadata.Name] = o
	}
	for key, o := range objs {
		pod := o.Spec.podBody
		if o.Kind == "Job" {
			pod = o.Spec.Template.Spec
		}
		if o.Kind != "Job" && o.Kind != "Pod" {
			continue
		}
		if pod.RestartPolicy != "Never" && pod.RestartPolicy != "OnFailure" {
			t.Errorf("%s: restartPolicy %q", key, pod.RestartPolicy)
		}
		for _, v := range pod.Volumes {
			if _, ok := objs["PersistentVolumeClaim/"+v.PersistentVolumeClaim.ClaimName]; !ok {
				t.Errorf("%s: volume %s claims %q, which the file does not define", key, v.Name, v.PersistentVolumeClaim.ClaimName)
			}
		}
		for _, c := range pod.Containers {
			if len(c.Command) == 0 {
				t.Errorf("%s: a container without a command", key)
			}
			for _, e := range c.EnvFrom {
				if _, ok := objs["ConfigMap/"+e.ConfigMapRef.Name]; !ok {
					t.Errorf("%s: envFrom names ConfigMap %q, which the file does not define", key, e.ConfigMapRef.Name)
				}
			}
			if len(c.VolumeMounts) == 0 || c.VolumeMounts[0].MountPath != "/sweep" {
				t.Errorf("%s: the shared volume is not mounted at /sweep", key)
			}
		}
	}
	return objs
}

// script returns the shell script a Job's container runs.
func script(t *testing.T, objs map[string]k8sObject, job string) string {
	t.Helper()
	o, ok := objs["Job/"+job]
	if !ok {
		t.Fatalf("no Job %s in docs/k8s-sweep.yaml", job)
	}
	c := o.Spec.Template.Spec.Containers
	if len(c) != 1 || strings.Join(c[0].Command, " ") != "sh -c" || len(c[0].Args) != 1 {
		t.Fatalf("Job %s: want one container running sh -c SCRIPT", job)
	}
	return c[0].Args[0]
}

// TestK8sSweepYAML checks docs/k8s-sweep.yaml: the objects parse and refer
// to each other, the grid's completions match the sweep its ConfigMap
// describes, and its three scripts (plan, grid pods, collect) run a tiny
// sweep end to end against the binary, with a pod rerun after its job
// finished.
func TestK8sSweepYAML(t *testing.T) {
	objs := readK8sSweep(t)
	cm, ok := objs["ConfigMap/llmos-sweep"]
	if !ok {
		t.Fatal("no ConfigMap llmos-sweep")
	}
	grid := objs["Job/llmos-sweep-grid"]
	if grid.Spec.CompletionMode != "Indexed" || grid.Spec.Completions == nil {
		t.Fatalf("Job llmos-sweep-grid: completionMode %q, completions %v; want an Indexed Job", grid.Spec.CompletionMode, grid.Spec.Completions)
	}
	if grid.Spec.BackoffLimitPerIndex != nil && grid.Spec.Template.Spec.RestartPolicy != "Never" {
		t.Error("backoffLimitPerIndex needs restartPolicy Never")
	}
	cmd := newScalingSweepCmd()
	if err := cmd.ParseFlags(strings.Fields(cm.Data["SWEEP_FLAGS"])); err != nil {
		t.Fatalf("SWEEP_FLAGS: %v", err)
	}
	sizes, _ := cmd.Flags().GetStringSlice("sizes")
	tokens, _ := cmd.Flags().GetStringSlice("tokens")
	if jobs := len(sizes) * len(tokens); *grid.Spec.Completions != jobs {
		t.Errorf("completions %d, but SWEEP_FLAGS makes %d × %d = %d jobs", *grid.Spec.Completions, len(sizes), len(tokens), jobs)
	}

	// Run the scripts on a tiny sweep, with the binary as llmos.
	root := t.TempDir()
	for _, d := range []string{"corpus/train", "corpus/val"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var train, val strings.Builder
	for i := range 400 {
		fmt.Fprintf(&train, "The cat sat on mat %d and purred.\n<|endoftext|>\n", i%13)
		if i%8 == 0 {
			fmt.Fprintf(&val, "The cat sat on mat %d.\n\n", i%5)
		}
	}
	os.WriteFile(filepath.Join(root, "corpus/train/a.txt"), []byte(train.String()), 0o644)
	os.WriteFile(filepath.Join(root, "corpus/val/a.txt"), []byte(val.String()), 0o644)
	os.WriteFile(filepath.Join(root, "corpus/READY"), nil, 0o644)
	env := append(os.Environ(), "SWEEP="+root, "PATH="+filepath.Dir(llmosBin)+":"+os.Getenv("PATH"),
		"SWEEP_FLAGS=--sizes 16x1,32x1 --tokens 256,512,768 --batch 2 --seq 32 --eval-batches 2")
	sh := func(name, script string, extra ...string) {
		t.Helper()
		c := exec.Command("sh", "-c", script)
		c.Env = append(env, extra...)
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
	}
	sh("plan", script(t, objs, "llmos-sweep-plan"))
	gridScript := script(t, objs, "llmos-sweep-grid")
	for i := range 6 {
		sh(fmt.Sprintf("grid pod %d", i), gridScript, fmt.Sprintf("JOB_COMPLETION_INDEX=%d", i))
	}
	sh("grid pod 0 again", gridScript, "JOB_COMPLETION_INDEX=0")
	c := exec.Command("sh", "-c", gridScript)
	c.Env = append(env, "JOB_COMPLETION_INDEX=6")
	if out, err := c.CombinedOutput(); err == nil || !strings.Contains(string(out), "no line 7") {
		t.Errorf("a pod past the last job: %v, %s", err, out)
	}
	if testing.Short() {
		return
	}
	sh("collect", script(t, objs, "llmos-sweep-collect"))
	runs, err := scaling.ReadResults(root)
	if err != nil || len(runs) != 6 {
		t.Fatalf("results after collect: %d runs, %v", len(runs), err)
	}
	fit, err := os.ReadFile(filepath.Join(root, "fit.txt"))
	if err != nil || !strings.Contains(string(fit), "alpha") {
		t.Errorf("fit.txt: %q, %v", fit, err)
	}
	if _, err := os.Stat(filepath.Join(root, "plots", "isoflop.png")); err != nil {
		t.Errorf("plots: %v", err)
	}
}
