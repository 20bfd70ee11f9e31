package testimages

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
)

// hostBusybox is where the base layer's shell and tools come from. It must
// be statically linked: the images hold no C library.
const hostBusybox = "/bin/busybox"

// user is an /etc/passwd entry; every user has a group of the same id and name.
type user struct {
	name     string
	id       int
	home     string
	shell    string
	comment  string
	homeMode int64
}

var baseUsers = []user{
	{name: "root", id: 0, home: "/root", shell: "/bin/sh", comment: "root", homeMode: 0o700},
	{name: "app", id: 1000, home: "/home/app", shell: "/bin/sh", comment: "app", homeMode: 0o755},
	{name: "nobody", id: 65534, home: "/home", shell: "/bin/false", comment: "nobody"},
}

// nginxUser is the user the real nginx image has for its workers.
var nginxUser = user{name: "nginx", id: 101, home: "/var/cache/nginx", shell: "/sbin/nologin", comment: "nginx"}

func passwdFiles(users []user) []entry {
	var passwd, group strings.Builder
	for _, u := range users {
		fmt.Fprintf(&passwd, "%s:x:%d:%d:%s:%s:%s\n", u.name, u.id, u.id, u.comment, u.home, u.shell)
		fmt.Fprintf(&group, "%s:x:%d:\n", u.name, u.id)
	}
	return []entry{
		file("/etc/passwd", 0o644, []byte(passwd.String())),
		file("/etc/group", 0o644, []byte(group.String())),
	}
}

// baseEntries is the layer every image starts from: busybox with a
// symlink in /bin for each applet, the users, and the usual directories.
func baseEntries() ([]entry, error) {
	bin, err := os.ReadFile(hostBusybox)
	if err != nil {
		return nil, fmt.Errorf("test images need a static busybox (apt-get install busybox-static): %w", err)
	}
	if err := checkStatic(hostBusybox); err != nil {
		return nil, err
	}
	out, err := exec.Command(hostBusybox, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list: %w", hostBusybox, err)
	}
	applets := strings.Fields(string(out))
	sort.Strings(applets)

	es := []entry{
		dir("/bin", 0o755), dir("/dev", 0o755), dir("/etc", 0o755), dir("/home", 0o755),
		dir("/proc", 0o555), dir("/run", 0o755), dir("/sbin", 0o755), dir("/sys", 0o555),
		dir("/tmp", 0o1777), dir("/usr/bin", 0o755), dir("/usr/sbin", 0o755),
		dir("/usr/local/bin", 0o755), dir("/usr/share/nginx/html", 0o755),
		dir("/var/log", 0o755), dir("/var/tmp", 0o1777), symlink("/var/run", "../run"),
		file("/bin/busybox", 0o755, bin),
		// For "#!/usr/bin/env" scripts.
		symlink("/usr/bin/env", "../../bin/busybox"),
	}
	for _, a := range applets {
		if a != "busybox" {
			es = append(es, symlink("/bin/"+a, "busybox"))
		}
	}
	for _, u := range baseUsers {
		if u.homeMode != 0 {
			es = append(es, owned(dir(u.home, u.homeMode), u.id, u.id))
		}
	}
	return append(es, passwdFiles(baseUsers)...), nil
}

// checkStatic refuses a dynamically linked busybox, which could not run
// in the images.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked; test images need busybox-static", path)
		}
	}
	return nil
}
