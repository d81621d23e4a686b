/**
 * @kubernetes/client-node's KubeConfig, loaded the way kubectl finds its configuration, for commands that
 * want client-node's full kubeconfig support (exec plugins, auth providers, proxies) and can afford its
 * start-up cost (`doctor`). The webhook's own client (client.ts) does not import this module.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

export function loadKubeConfig(kubeconfig?: string): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfig) {
    if (!existsSync(kubeconfig)) throw new Error(`kubeconfig file ${kubeconfig} does not exist`);
    kc.loadFromFile(kubeconfig);
  } else if (process.env.KUBERNETES_SERVICE_HOST) {
    kc.loadFromCluster();
  } else if (process.env.KUBECONFIG || existsSync(join(homedir(), '.kube', 'config'))) {
    kc.loadFromDefault();
  } else {
    throw new Error('no Kubernetes configuration: not running in a cluster, no --kubeconfig, no $KUBECONFIG or ~/.kube/config');
  }
  if (!kc.getCurrentCluster()) throw new Error(`kubeconfig ${kubeconfig ?? ''} has no current cluster`.replace('  ', ' '));
  return kc;
}
