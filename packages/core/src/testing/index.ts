/** Test helpers for solver authors and this repo's tests (`@dns01-webhook/core/testing`). */
export { createCA, issueCertificate, selfSignedServing, type KeyPairPem, type IssueOptions } from '../tls/certificates.js';
export { startKubeStub, authenticationConfigData, writeTokenKubeconfig, type KubeStub, type KubeStubOptions, type StubUser, type StubAccessReview, type StubAccessRule, type StubAuthorize, type StubRequest, type StubRequestKind, type IssuedToken } from './kube-stub.js';
export { secretLeaks } from './leaks.js';
export { writeServingPki, type ServingPki } from './serving-pki.js';
