/**
 * Legacy API discovery documents for the one group/version this server serves (webhook-protocol.md §4).
 * kube-aggregator's availability check GETs `/apis/<group>/v1alpha1`; without a 2xx there the APIService
 * goes `Available=False` and every challenge fails with "the server is currently unable to handle the request".
 */
import { PAYLOAD_API_VERSION, PAYLOAD_KIND } from './payload.js';

export const API_VERSION = 'v1alpha1';

function groupVersion(group: string) {
  return { groupVersion: `${group}/${API_VERSION}`, version: API_VERSION };
}

export function apiGroup(group: string) {
  return { kind: 'APIGroup', apiVersion: 'v1', name: group, versions: [groupVersion(group)], preferredVersion: groupVersion(group) };
}

export function apiGroupList(group: string) {
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = apiGroup(group);
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [rest] };
}

/** One cluster-scoped resource per solver, create-only, whose objects are ChallengePayloads. */
export function apiResourceList(group: string, solverNames: string[]) {
  const [payloadGroup, payloadVersion] = PAYLOAD_API_VERSION.split('/') as [string, string];
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: `${group}/${API_VERSION}`,
    resources: solverNames.map((name) => ({
      name,
      singularName: PAYLOAD_KIND,
      namespaced: false,
      group: payloadGroup,
      version: payloadVersion,
      kind: PAYLOAD_KIND,
      verbs: ['create'],
    })),
  };
}
