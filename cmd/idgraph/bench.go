package main

import (
	"context"
	"io"
)

func cmdBench(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	return runBench(ctx, args, stdout, stderr)
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return exitError{2, "the benchmark suite is not wired into the binary yet: run `go test -bench . ./engine ./index`"}
}
