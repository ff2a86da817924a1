// What knmesh uses of @kubernetes/client-node, as a static named export so esbuild can tree-shake
// the package (~4.8 MiB of API classes and models when the whole namespace is imported dynamically,
// as src/kube/config.ts does, against well under 1 MiB for KubeConfig and what it needs).
// bundle.mjs points every `import('@kubernetes/client-node')` in src/ here and checks that only these names are used.
export {KubeConfig} from '@kubernetes/client-node'
