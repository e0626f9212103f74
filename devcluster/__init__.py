"""A real, local Kubernetes control plane for tests, the demo and benchmarks.

Test and demo infrastructure, not product: it builds kube-apiserver,
kube-controller-manager, kube-scheduler, kubectl, etcd and kwok from the
official Go modules, runs them on 127.0.0.1 and emulates the runner's pods as
local processes. ``python -m devcluster up|down|env|status`` drives it.
"""
