//go:build !linux

package regfile

func pseudoPath(string) (string, bool) { return "", false }
func pseudoFD(uintptr) (string, bool)  { return "", false }
