package cluster

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Images the real nodes run, built here from local binaries (no registry is reachable): the sandbox's pause, and
// busybox-static with its applets as a userland for test containers (sh, cat, nc, httpd, wget, ...). Both are used
// with imagePullPolicy Never or IfNotPresent.
const (
	PauseImage   = "peapod.test/pause:1"
	BusyboxImage = "peapod.test/busybox:1"
)

// busyboxBinary is busybox-static's command, and its applets' link target in the image.
const busyboxBinary = "busybox"

// imageFile is one file of an image's single layer.
type imageFile struct {
	path    string
	mode    int64
	content []byte
	link    string // a symlink's target, instead of content
}

// writeDockerArchive writes an image as `docker save` does (a manifest, a config and one layer), which
// `ctr images import` reads.
func writeDockerArchive(path, ref string, entrypoint []string, files []imageFile) error {
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	dirs := map[string]bool{}
	for _, f := range files {
		for d := filepath.Dir(f.path); d != "." && d != "/" && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	sorted := make([]string, 0, len(dirs))
	for d := range dirs {
		sorted = append(sorted, d)
	}
	sort.Strings(sorted)
	for _, d := range sorted {
		if err := tw.WriteHeader(&tar.Header{Name: strings.TrimPrefix(d, "/") + "/", Mode: 0o755, Typeflag: tar.TypeDir}); err != nil {
			return err
		}
	}
	for _, f := range files {
		h := &tar.Header{Name: strings.TrimPrefix(f.path, "/"), Mode: f.mode, Size: int64(len(f.content)), Typeflag: tar.TypeReg}
		if f.link != "" {
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, f.link, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(f.content); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	layerSum := sha256.Sum256(layer.Bytes())
	diffID := "sha256:" + hex.EncodeToString(layerSum[:])
	config, err := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Entrypoint": entrypoint, "Env": []string{"PATH=/bin"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{diffID}},
	})
	if err != nil {
		return err
	}
	configSum := sha256.Sum256(config)
	configName := hex.EncodeToString(configSum[:]) + ".json"
	manifest, err := json.Marshal([]map[string]any{{
		"Config": configName, "RepoTags": []string{ref}, "Layers": []string{"layer.tar"},
	}})
	if err != nil {
		return err
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() { _ = out.Close() }()
	archive := tar.NewWriter(out)
	for name, data := range map[string][]byte{"manifest.json": manifest, configName: config, "layer.tar": layer.Bytes()} {
		if err := archive.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := archive.Write(data); err != nil {
			return err
		}
	}
	return archive.Close()
}

// buildImages writes the pause and busybox images into dir and returns their archives.
func buildImages(binDir, dir string) ([]string, error) {
	pause, err := os.ReadFile(filepath.Join(binDir, "pause"))
	if err != nil {
		return nil, fmt.Errorf("the pause binary (build it with `make realnode`): %w", err)
	}
	busyboxPath, err := exec.LookPath(busyboxBinary)
	if err != nil {
		return nil, fmt.Errorf("busybox-static is not installed (`make realnode` installs it): %w", err)
	}
	busybox, err := os.ReadFile(busyboxPath)
	if err != nil {
		return nil, err
	}
	list, err := exec.Command(busyboxPath, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("busybox --list: %w", err)
	}
	files := []imageFile{{path: "/bin/busybox", mode: 0o755, content: busybox}, {path: "/tmp/.keep", mode: 0o644}}
	for _, applet := range strings.Fields(string(list)) {
		if applet != busyboxBinary {
			files = append(files, imageFile{path: "/bin/" + applet, mode: 0o777, link: busyboxBinary})
		}
	}
	archives := []string{filepath.Join(dir, "pause.tar"), filepath.Join(dir, "busybox.tar")}
	if err := writeDockerArchive(archives[0], PauseImage, []string{"/pause"},
		[]imageFile{{path: "/pause", mode: 0o755, content: pause}}); err != nil {
		return nil, err
	}
	if err := writeDockerArchive(archives[1], BusyboxImage, []string{"/bin/sh"}, files); err != nil {
		return nil, err
	}
	return archives, nil
}
