// Command kube-network-policies runs the NetworkPolicy controller of
// sigs.k8s.io/kube-network-policies as a host process beside kubelet: the upstream command only
// knows the in-cluster configuration of a DaemonSet pod, this one takes a kubeconfig. It
// enforces NetworkPolicies only (no admin network policies), without NRI (pod addresses come
// from the API server), in an nftables table of its own name that it removes on SIGINT/SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"sigs.k8s.io/kube-network-policies/pkg/networkpolicy"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the API server (required)")
	nodeName := flag.String("hostname-override", "", "name of the Node whose pods are enforced (required)")
	queueID := flag.Int("nfqueue-id", 100, "number of the nfqueue used")
	table := flag.String("nftables-table", "kube-network-policies", "name of the inet nftables table")
	klog.InitFlags(nil)
	flag.Parse()
	if *kubeconfig == "" || *nodeName == "" {
		fmt.Fprintln(os.Stderr, "kube-network-policies: --kubeconfig and --hostname-override are required")
		os.Exit(2)
	}
	if err := run(*kubeconfig, *nodeName, *queueID, *table); err != nil {
		fmt.Fprintf(os.Stderr, "kube-network-policies: %v\n", err)
		os.Exit(1)
	}
}

func run(kubeconfig, nodeName string, queueID int, table string) error {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	config, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return err
	}
	factory := informers.NewSharedInformerFactory(client, 0)
	controller, err := networkpolicy.NewController(
		client,
		factory.Networking().V1().NetworkPolicies(),
		factory.Core().V1().Namespaces(),
		factory.Core().V1().Pods(),
		nil, nil, nil, nil,
		networkpolicy.Config{QueueID: queueID, NodeName: nodeName, NFTableName: table, NRIdisabled: true, NetfilterBug1766Fix: true},
	)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- controller.Run(ctx) }()
	factory.Start(ctx.Done())
	select {
	case err := <-done:
		if ctx.Err() == nil {
			return fmt.Errorf("controller stopped: %v", err)
		}
	case <-ctx.Done():
		// Run removes the table when the context ends
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		}
	}
	return nil
}
