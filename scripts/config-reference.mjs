// `make docs`: writes docs/configuration.md from the built configuration code
// (dist/config/reference.js, compiled from src/config/settings.ts).
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderConfigurationReference } from '../dist/config/reference.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, 'docs', 'configuration.md');
writeFileSync(target, renderConfigurationReference());
console.log('wrote docs/configuration.md');
