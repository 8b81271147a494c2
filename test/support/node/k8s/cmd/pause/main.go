// Command pause is the pod sandbox process of the tests' real node (test/support/node.ts):
// containerd's CRI plugin starts one per pod to hold its namespaces (the role of
// registry.k8s.io/pause, which cannot be pulled here). It waits for SIGINT or SIGTERM and,
// as PID 1 of the pod's PID namespace when one is shared, reaps orphaned children.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
