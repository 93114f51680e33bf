package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// boundPorts lists the TCP ports process pid listens on and the UDP ports
// it has bound, read from /proc (every port of it, not only the ones the
// test knows about).
func boundPorts(pid int) (tcp, udp []int, err error) {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return nil, nil, err
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		l, err := os.Readlink(filepath.Join(fmt.Sprintf("/proc/%d/fd", pid), fd.Name()))
		if err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	scan := func(file, state string) ([]int, error) {
		f, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, file))
		if err != nil {
			return nil, err
		}
		defer f.Close()
		var ports []int
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 || fs[3] != state || !inodes[fs[9]] {
				continue
			}
			_, hexPort, _ := strings.Cut(fs[1], ":")
			p, err := strconv.ParseInt(hexPort, 16, 32)
			if err != nil {
				return nil, fmt.Errorf("%s: %q: %w", file, fs[1], err)
			}
			ports = append(ports, int(p))
		}
		return ports, sc.Err()
	}
	for _, f := range []string{"tcp", "tcp6"} {
		ps, err := scan(f, "0A") // LISTEN
		if err != nil {
			return nil, nil, err
		}
		tcp = append(tcp, ps...)
	}
	for _, f := range []string{"udp", "udp6"} {
		ps, err := scan(f, "07") // unconnected
		if err != nil {
			return nil, nil, err
		}
		udp = append(udp, ps...)
	}
	return tcp, udp, nil
}
