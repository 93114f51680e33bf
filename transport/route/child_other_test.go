//go:build !linux

package route

// The child processes of proc_test.go run on Linux only.
const childEnv = "ROUTE_TEST_CHILD"

func runChild() int { return 1 }
