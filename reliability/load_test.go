package reliability

// helperMain runs the role a test started this binary for, and reports
// whether it did.
func helperMain() bool { return false }
