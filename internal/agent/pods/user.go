package pods

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// lookupUser resolves an image USER ("uid", "uid:gid", "name", "name:group")
// to numeric ids, reading /etc/passwd and /etc/group from the topmost layer
// that has them, as container runtimes do.
func lookupUser(layers []string, spec string) (uid, gid int64, err error) {
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	if n, err := strconv.ParseInt(userPart, 10, 64); err == nil {
		uid = n
		// A numeric user without a group runs as its passwd gid, or 0.
		if _, g, ok := findPasswd(layers, func(f []string) bool { return f[2] == userPart }); ok {
			gid = g
		}
	} else {
		u, g, ok := findPasswd(layers, func(f []string) bool { return f[0] == userPart })
		if !ok {
			return 0, 0, fmt.Errorf("unable to find user %s: no matching entries in passwd file", userPart)
		}
		uid, gid = u, g
	}
	if hasGroup {
		if n, err := strconv.ParseInt(groupPart, 10, 64); err == nil {
			gid = n
		} else if g, ok := findGroup(layers, groupPart); ok {
			gid = g
		} else {
			return 0, 0, fmt.Errorf("unable to find group %s: no matching entries in group file", groupPart)
		}
	}
	return uid, gid, nil
}

func findPasswd(layers []string, match func([]string) bool) (uid, gid int64, ok bool) {
	for _, line := range readLayerFile(layers, "etc/passwd") {
		f := strings.Split(line, ":")
		if len(f) < 4 || !match(f) {
			continue
		}
		u, err1 := strconv.ParseInt(f[2], 10, 64)
		g, err2 := strconv.ParseInt(f[3], 10, 64)
		if err1 == nil && err2 == nil {
			return u, g, true
		}
	}
	return 0, 0, false
}

func findGroup(layers []string, name string) (int64, bool) {
	for _, line := range readLayerFile(layers, "etc/group") {
		f := strings.Split(line, ":")
		if len(f) >= 3 && f[0] == name {
			if g, err := strconv.ParseInt(f[2], 10, 64); err == nil {
				return g, true
			}
		}
	}
	return 0, false
}

// readLayerFile returns the lines of rel from the highest layer holding it.
func readLayerFile(layers []string, rel string) []string {
	for i := len(layers) - 1; i >= 0; i-- {
		f, err := os.Open(filepath.Join(layers[i], rel))
		if err != nil {
			continue
		}
		defer f.Close()
		var lines []string
		s := bufio.NewScanner(f)
		for s.Scan() {
			lines = append(lines, s.Text())
		}
		return lines
	}
	return nil
}
