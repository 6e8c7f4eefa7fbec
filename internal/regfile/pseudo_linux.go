package regfile

import "golang.org/x/sys/unix"

// pseudoFS names the kernel filesystems whose files show as regular but hold
// no stored bytes: /proc, /sys and the like. Writing one changes kernel
// settings; none can be a .ss file.
var pseudoFS = map[int64]string{
	unix.PROC_SUPER_MAGIC:    "procfs (/proc)",
	unix.SYSFS_MAGIC:         "sysfs (/sys)",
	unix.DEBUGFS_MAGIC:       "debugfs",
	unix.TRACEFS_MAGIC:       "tracefs",
	unix.SECURITYFS_MAGIC:    "securityfs",
	unix.CGROUP_SUPER_MAGIC:  "cgroupfs",
	unix.CGROUP2_SUPER_MAGIC: "cgroup2fs",
	unix.BPF_FS_MAGIC:        "bpffs",
	unix.EFIVARFS_MAGIC:      "efivarfs",
}

// pseudoPath says which kernel pseudo-filesystem path is on, if any.
func pseudoPath(path string) (string, bool) {
	var st unix.Statfs_t
	if unix.Statfs(path, &st) != nil {
		return "", false // the open reports it
	}
	name, ok := pseudoFS[int64(st.Type)]
	return name, ok
}

// pseudoFD is pseudoPath for an open file.
func pseudoFD(fd uintptr) (string, bool) {
	var st unix.Statfs_t
	if unix.Fstatfs(int(fd), &st) != nil {
		return "", false
	}
	name, ok := pseudoFS[int64(st.Type)]
	return name, ok
}
