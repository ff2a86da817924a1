import {existsSync} from 'node:fs'
import {homedir} from 'node:os'
import {delimiter, join} from 'node:path'
import type {KubeConfig} from '@kubernetes/client-node'
import {KnmeshError, UsageError} from '../errors.js'

export interface ConnectOptions {
  kubeconfig?: string
  context?: string
  namespace?: string
  /** Per-request timeout in milliseconds (0: none). */
  requestTimeoutMs?: number
}

export interface LoadedConfig {
  kc: KubeConfig
  contextName: string
  namespace: string
  server: string
  user: string
}

/**
 * Files to read, as kubectl reads them: --kubeconfig alone; else every file
 * in KUBECONFIG (missing ones skipped); else ~/.kube/config.
 */
export function kubeconfigFiles(flag: string | undefined, env = process.env): string[] {
  if (flag) {
    if (!existsSync(flag)) throw new UsageError(`kubeconfig ${flag} does not exist`)
    return [flag]
  }
  if (env.KUBECONFIG) {
    return env.KUBECONFIG.split(delimiter).filter((f) => f && existsSync(f))
  }
  const home = env.HOME || homedir()
  const def = join(home, '.kube', 'config')
  return existsSync(def) ? [def] : []
}

/**
 * Loads and merges kubeconfig files with kubectl's rule: the first file to
 * define a cluster, user, context or current-context wins. Never falls back
 * to localhost:8080.
 */
export async function loadKubeConfig(opts: ConnectOptions): Promise<LoadedConfig> {
  const {KubeConfig} = await import('@kubernetes/client-node')
  const files = kubeconfigFiles(opts.kubeconfig)
  const kc = new KubeConfig()
  if (files.length === 0) {
    if (process.env.KUBERNETES_SERVICE_HOST && existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token')) {
      kc.loadFromCluster()
    } else {
      throw new KnmeshError('no kubeconfig found: pass --kubeconfig, set KUBECONFIG, or log in with `oc login`')
    }
  } else {
    const merged = {clusters: [] as any[], users: [] as any[], contexts: [] as any[], currentContext: ''}
    for (const file of files) {
      const one = new KubeConfig()
      try {
        one.loadFromFile(file)
      } catch (error) {
        throw new UsageError(`cannot read kubeconfig ${file}: ${(error as Error).message.split('\n')[0]}`)
      }
      for (const [list, items] of [
        [merged.clusters, one.clusters],
        [merged.users, one.users],
        [merged.contexts, one.contexts],
      ] as const) {
        for (const item of items ?? []) if (!list.some((x) => x.name === item.name)) list.push(item)
      }
      if (!merged.currentContext && one.currentContext) merged.currentContext = one.currentContext
    }
    kc.loadFromOptions(merged)
  }

  const contextName = opts.context ?? kc.getCurrentContext()
  if (!contextName) throw new UsageError('the kubeconfig has no current context: pass --context')
  const ctx = kc.getContextObject(contextName)
  if (!ctx) {
    const names = kc.getContexts().map((c) => c.name)
    throw new UsageError(`context "${contextName}" not found in kubeconfig (available: ${names.join(', ') || 'none'})`)
  }
  kc.setCurrentContext(contextName)
  const cluster = kc.getCurrentCluster()
  if (!cluster?.server) throw new UsageError(`context "${contextName}" names no cluster with a server address`)
  return {
    kc,
    contextName,
    namespace: opts.namespace ?? ctx.namespace ?? 'default',
    server: cluster.server,
    user: ctx.user,
  }
}
