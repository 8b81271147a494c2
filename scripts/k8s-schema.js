#!/usr/bin/env node
// Writes lib/schema/kubernetes-v1.34.json, the Kubernetes schema bundle the product validates
// generated objects with: the kinds of BUNDLED_KINDS (lib/schema/convert.ts) and the definitions
// they reach, converted from the OpenAPI spec of the Kubernetes release in
// test/support/versions.ts (fetched into ~/.cache/cdk8s-flink through the Go module proxy on
// first use) and the CRDs in test/support/crds. Run after `npm run build`:
//   node scripts/k8s-schema.js          (or: npm run schema)
'use strict';
const fs = require('fs');
const path = require('path');

const repo = path.join(__dirname, '..');
const { buildSchemaBundle, bundleText } = require(path.join(repo, 'build', 'test', 'support', 'k8s-schema.js'));
const { SCHEMA_BUNDLE_FILE } = require(path.join(repo, 'build', 'lib', 'schema', 'validate.js'));

buildSchemaBundle().then((bundle) => {
  const text = bundleText(bundle);
  const tmp = `${SCHEMA_BUNDLE_FILE}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, SCHEMA_BUNDLE_FILE);
  console.log(`wrote ${path.relative(repo, SCHEMA_BUNDLE_FILE)}: Kubernetes ${bundle.kubernetesVersion}, ${Object.keys(bundle.kinds).length} kinds, `
    + `${Object.keys(bundle.definitions).length} definitions, ${text.length} bytes`);
}, (e) => {
  console.error(`k8s-schema: ${e.message}`);
  process.exit(1);
});
