//go:build tools

// Package tools pins the main packages built by ../build.sh so that
// `go build k8s.io/kubernetes/cmd/...` resolves from this module's go.mod/go.sum.
// kubectl is built too (same version as the server) because a fresh machine
// does not necessarily have one.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
