/**
 * The configuration reference cannot drift: every variable a section file
 * of src/config reads has a row in SETTINGS, every row names a variable
 * that is read, and docs/configuration.md is what `make docs` writes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderConfigurationReference } from './reference.js';
import { formatDuration, formatSize, SETTINGS } from './settings.js';

const here = dirname(fileURLToPath(import.meta.url));
const sources = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
  .filter((f) => !['settings.ts', 'reference.ts', 'defaults.ts', 'parser.ts'].includes(f))
  .map((f) => ({ file: f, text: readFileSync(join(here, f), 'utf8') }));

/** Names read: 'NAME' string literals, env.NAME, and `PREFIX_${…}` templates (returned as PREFIX_). */
function variablesRead(text: string): { exact: Set<string>; prefixes: Set<string> } {
  const exact = new Set<string>();
  const prefixes = new Set<string>();
  for (const m of text.matchAll(/'([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|ENV)'/g)) exact.add(m[1] ?? '');
  for (const m of text.matchAll(/\benv\.([A-Z][A-Z0-9_]+)/g)) exact.add(m[1] ?? '');
  for (const m of text.matchAll(/`([A-Z][A-Z0-9_]*_)\$\{/g)) prefixes.add(m[1] ?? '');
  return { exact, prefixes };
}

const documented = SETTINGS.flatMap((s) => s.settings.map((x) => x.name));

describe('the configuration reference', () => {
  it('has a row for every variable a section file reads, in the section of that file', () => {
    for (const { file, text } of sources) {
      const { exact, prefixes } = variablesRead(text);
      const rows = SETTINGS.filter((s) => s.file === file).flatMap((s) =>
        s.settings.map((x) => x.name),
      );
      for (const name of exact) {
        expect(documented, `${file} reads ${name}`).toContain(name);
      }
      for (const prefix of prefixes) {
        expect(
          rows.filter((n) => n.startsWith(prefix)).length,
          `${file} reads ${prefix}*`,
        ).toBeGreaterThan(0);
      }
      if (exact.size + prefixes.size > 0) expect(rows.length, file).toBeGreaterThan(0);
    }
  });

  it('documents no variable that no section file reads, and none twice', () => {
    const all = sources.map((s) => s.text).join('\n');
    for (const name of documented) {
      const prefixed = /^(PUBSUB_TOPIC_|PUBSUB_BATCH_MAX_DELAY_|CLOUD_TASKS_)/.exec(name);
      const found =
        all.includes(`'${name}'`) ||
        all.includes(`env.${name}`) ||
        (prefixed !== null && all.includes(`${prefixed[1]}`));
      expect(found, `${name} is documented but not read`).toBe(true);
    }
    expect(new Set(documented).size).toBe(documented.length);
  });

  it('is committed as generated (run `make docs` after changing src/config/settings.ts)', () => {
    const committed = readFileSync(join(here, '..', '..', 'docs', 'configuration.md'), 'utf8');
    expect(committed).toBe(renderConfigurationReference());
  });

  it('writes defaults as an operator types them', () => {
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(86_400_000)).toBe('24h');
    expect(formatDuration(7 * 86_400_000)).toBe('7d');
    expect(formatDuration(0)).toBe('0ms');
    expect(formatSize(16 * 1024 * 1024)).toBe('16MiB');
    expect(formatSize(1_048_577)).toBe('1048577');
  });
});
