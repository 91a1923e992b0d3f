// n8n's community-node rules, without the Cloud-only ones this package cannot meet
// (runtime dependencies, net/process access, reuse of n8n's imap/smtp/postgres credentials).
import { configWithoutCloudSupport } from '@n8n/node-cli/eslint';

export default [
  ...configWithoutCloudSupport,
  { ignores: ['dist/**', 'test/**', 'bench/**', 'scripts/**', 'node_modules/**', '*.js', '*.mjs'] },
  {
    rules: {
      '@n8n/community-nodes/no-runtime-dependencies': 'off',
      '@n8n/community-nodes/no-credential-reuse': 'off',
    },
  },
];
