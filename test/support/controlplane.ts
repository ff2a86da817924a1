/**
 * A throw-away Kubernetes control plane (etcd + kube-apiserver, no
 * controller-manager, no scheduler, no kubelet) for knmesh's integration tests.
 *
 * Binaries are built from Go modules by tools/controlplane/build.sh and cached
 * in ~/.cache/knmesh; CRDs are collected by tools/controlplane/crds.sh.
 *
 * What is NOT there (no kube-controller-manager runs):
 *  - no default ServiceAccounts / token controller (the ServiceAccount
 *    admission plugin is disabled so Pods could still be created);
 *  - no namespace controller: a deleted Namespace stays "Terminating" forever;
 *  - no garbage collector: ownerReference cascades never happen;
 *  - no Deployment/ReplicaSet/Job controllers, no Pods ever run;
 *  - no operators: SMCP/KnativeServing/... never get a status unless a test
 *    writes one (via the /status subresource).
 *
 * Split by role (test/support/README.md): controlplane/process.ts (start, stop and kill of etcd, kube-apiserver
 * and the Istio webhook), controlplane/bootstrap.ts (binaries, credentials, kubeconfigs, RBAC users, CRD install)
 * and controlplane/seed.ts (the seed states). This file re-exports them: imports of controlplane.js keep working.
 */
export * from './controlplane/bootstrap.js'
export * from './controlplane/process.js'
export * from './controlplane/seed.js'
