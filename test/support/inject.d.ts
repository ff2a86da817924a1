// Values handed from test/support/global-setup.ts to tests via
// `inject('adminKubeconfig')` etc. (vitest ProvidedContext).
declare module 'vitest' {
  export interface ProvidedContext {
    /** Path of the kubeconfig of user "admin" (system:masters). */
    adminKubeconfig: string
    /** Path of the kubeconfig of user "restricted" (only the "view" ClusterRole). */
    restrictedKubeconfig: string
    /** Same as adminKubeconfig. */
    kubeconfig: string
    /** https://127.0.0.1:<port> of the test API server. */
    server: string
    /** CA bundle for `server`. */
    caFile: string
    /** Folder with the CRD YAML that was installed. */
    crdDir: string
  }
}

export {}
