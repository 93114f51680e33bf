// Command ringtrain is the single binary of the ringtrain cluster: local
// launcher, coordinator, worker, benchmarks and tools. Run
// `ringtrain --help` for the verbs.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
