/**
 * `make run` / `make dev` build only when a source changed: a second run
 * must not regenerate src/gen or recompile dist/ under a running instance.
 * Checked with make's own dry-run modes; nothing in the tree is touched.
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const make = async (args: string[]) => {
  try {
    const { stdout } = await promisify(execFile)('make', args, { cwd: ROOT, encoding: 'utf8' });
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code?: number; stdout?: string };
    return { code: e.code ?? 1, stdout: e.stdout ?? '' };
  }
};

describe('Makefile build dependencies', () => {
  it('builds for run and dev only when protos or sources changed', async () => {
    // The suite runs after `make test`'s build; a developer's direct run may need one first.
    if ((await make(['-q', 'build'])).code !== 0) await make(['build']);
    expect((await make(['-q', 'build'])).code).toBe(0);
    for (const target of ['run', 'dev']) {
      const dry = await make(['-n', target]);
      expect(dry.stdout).not.toMatch(/buf generate|tsc -p/);
    }
    // A changed source, or proto, would rebuild (-W: as if just modified).
    expect((await make(['-n', '-W', 'src/config/index.ts', 'run'])).stdout).toMatch(/tsc -p/);
    const proto = await make(['-n', '-W', 'proto/jack/jack.proto', 'run']);
    expect(proto.stdout).toMatch(/buf generate/);
    expect(proto.stdout).toMatch(/tsc -p/);
  }, 120_000);
});
