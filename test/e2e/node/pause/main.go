// pause: the stand-in for registry.k8s.io/pause (unreachable here) that the e2e single-node cluster's containerd
// uses as its sandbox image. Like the upstream C program (kubernetes/build/pause/linux/pause.c) it holds the
// pod's namespaces open, exits 0 on SIGINT/SIGTERM and reaps zombies when it is PID 1 of a shared PID namespace.
// Built static (CGO_ENABLED=0) by test/e2e/install/node.sh.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

const version = "dns01-e2e-pause 1"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-v" {
		fmt.Println(version)
		return
	}
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "Warning: pause should be the first process")
	}
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range signals {
		if s != syscall.SIGCHLD {
			fmt.Fprintf(os.Stderr, "Shutting down, got signal: %v\n", s)
			os.Exit(0)
		}
		for {
			var status syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
