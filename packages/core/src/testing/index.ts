/** Test helpers for solver authors and this repo's tests (`@dns01-webhook/core/testing`). */
export { createCA, issueCertificate, selfSignedServing, type KeyPairPem, type IssueOptions } from '../tls/certificates.js';
