import AddNamespace from './add-namespace.js'
import Certs from './certs.js'
import ConfigureMesh from './configure-mesh.js'
import CreateGateways from './create-gateways.js'
import EnableIstio from './enable-istio.js'
import Precheck from './precheck.js'
import CostLabels from './cost-labels.js'
import GpuLimit from './gpu-limit.js'
import RemoveNamespace from './remove-namespace.js'
import TenantAuthz from './tenant-authz.js'
import Probe from './probe.js'
import Status from './status.js'
import Setup from './setup.js'
import AnnotateServices from './annotate-services.js'
import EnableMetrics from './enable-metrics.js'
import FilterSecrets from './filter-secrets.js'
import Whoami from './whoami.js'
import Analyze from './analyze.js'
import History from './history.js'
import Undo from './undo.js'
import MigrateMesh from './migrate-mesh.js'

/** Explicit command discovery: oclif loads this one file instead of scanning a folder. */
export const COMMANDS = {
  'add-namespace': AddNamespace,
  certs: Certs,
  'configure-mesh': ConfigureMesh,
  'create-gateways': CreateGateways,
  'enable-istio': EnableIstio,
  precheck: Precheck,
  'cost-labels': CostLabels,
  'gpu-limit': GpuLimit,
  'remove-namespace': RemoveNamespace,
  'tenant-authz': TenantAuthz,
  probe: Probe,
  status: Status,
  setup: Setup,
  'annotate-services': AnnotateServices,
  'enable-metrics': EnableMetrics,
  'filter-secrets': FilterSecrets,
  whoami: Whoami,
  analyze: Analyze,
  history: History,
  undo: Undo,
  'migrate-mesh': MigrateMesh,
}
