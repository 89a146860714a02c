/**
 * Every command the documentation tells a reader to type, run (issue 30):
 * the fenced blocks marked ```sh runnable in README.md and docs/*.md run in
 * order, one bash per page (so a variable set in one block is there in the
 * next, as in the reader's terminal), against a real built Jack started as
 * `make run` starts it (a config directory, the noop backend, HTTP on, the
 * memory ledger). The addresses `make run` uses (localhost:8080 for HTTP,
 * localhost:50051 for gRPC) are replaced by this Jack's free ports. A block
 * fails the test when it exits non-zero; `expect="regex"` on its fence line
 * is matched against its output. A page whose examples need more than the
 * embedded default names it in a comment, `<!-- docs-examples env: A=1 B=2 -->`:
 * its Jack gets those variables, and so does the shell of its examples (the
 * reader exported them to start Jack).
 *
 * Also checked: every relative link and anchor between the pages resolves,
 * and the pages stay short enough to read (README ≤ 250 lines, a page
 * ≤ 450).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { withTimeout } from '../../src/timeout.js';
import { type SpawnedJack, startBuiltJack } from '../support/spawn.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PAGES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];
/** One page's blocks must all have run by then (npx alone takes ~1.5 s a call). */
const PAGE_TIMEOUT_MS = 45_000;

interface Block {
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
  expect: RegExp | undefined;
}

/** The ```sh runnable blocks of a page, in order. */
function runnableBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```sh runnable(?:\s+expect="([^"]*)")?\s*$/.exec(lines[i] ?? '');
    if (open === null) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i] ?? '');
    blocks.push({
      line: start + 1,
      code: body.join('\n'),
      expect: open[1] === undefined ? undefined : new RegExp(open[1]),
    });
  }
  return blocks;
}

/** The `<!-- docs-examples env: A=1 B=2 -->` variables of a page. */
function pageEnv(markdown: string): Record<string, string> {
  const line = /<!-- docs-examples env: ([^>]*) -->/.exec(markdown)?.[1] ?? '';
  return Object.fromEntries(
    line
      .trim()
      .split(/\s+/)
      .filter((pair) => pair.includes('='))
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
}

const MARK = '@@docs-example-block@@';

/** Runs a bash script with a bound on its run time; resolves with its exit code and output. */
function runBash(
  script: string,
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const child = spawn('bash', ['-c', script], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => {
    output += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    // npx on an older system npm warns about the engine; the reader sees it too, it is noise here.
    output += c
      .toString()
      .split('\n')
      .filter((l) => !l.includes('EBADENGINE'))
      .join('\n');
  });
  const done = new Promise<{ code: number | null; output: string }>((resolve) => {
    child.once('close', (code) => resolve({ code, output }));
  });
  return withTimeout(done, PAGE_TIMEOUT_MS, () => {
    child.kill('SIGKILL');
    return { code: null, output: `${output}\n(killed after ${PAGE_TIMEOUT_MS} ms)` };
  });
}

/**
 * The examples are curl commands. Missing curl: fails under CI=true (.ci/run
 * installs it), otherwise skips the examples with a loud notice.
 */
function curlAvailable(): boolean {
  if (spawnSync('sh', ['-c', 'command -v curl']).status === 0) return true;
  if (process.env.CI === 'true') {
    throw new Error(
      'CI=true but curl is not installed (apt-get install -y curl): the docs examples cannot be skipped in CI',
    );
  }
  const bar = '!'.repeat(78);
  process.stderr.write(
    `\n${bar}\n!! curl NOT FOUND: the documentation's runnable examples are SKIPPED.\n${bar}\n\n`,
  );
  return false;
}

const started: SpawnedJack[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const jack of started) await jack.kill();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!curlAvailable())('the runnable examples of the documentation', () => {
  const withBlocks = PAGES.map((page) => {
    const markdown = readFileSync(join(ROOT, page), 'utf8');
    return { page, blocks: runnableBlocks(markdown), env: pageEnv(markdown) };
  }).filter((p) => p.blocks.length > 0);

  it('exist: the README tour and the getting-started page are marked runnable', () => {
    const pages = withBlocks.map((p) => p.page);
    expect(pages).toContain('README.md');
    expect(pages).toContain('docs/getting-started.md');
  });

  for (const { page, blocks, env } of withBlocks) {
    it(
      `${page}: ${blocks.length} blocks run in order against a real Jack`,
      async () => {
        const configDir = mkdtempSync(join(tmpdir(), 'jack-docs-'));
        dirs.push(configDir);
        const jack = await startBuiltJack({ ...env, CONFIG_DIR: configDir, HTTP_PORT: '0' });
        started.push(jack);
        const listening = jack.logs.find((l) => l.msg.startsWith('jack listening on'));
        const httpAddress = String(listening?.httpAddress ?? '');
        const httpPort = httpAddress.slice(httpAddress.lastIndexOf(':') + 1);
        expect(httpPort).toMatch(/^\d+$/);

        const localize = (code: string) =>
          code
            .replaceAll('localhost:8080', `127.0.0.1:${httpPort}`)
            .replaceAll('localhost:50051', jack.address);
        const script = [
          'set -eo pipefail',
          ...blocks.map((b, i) => `echo; echo '${MARK}${i}'\n${localize(b.code)}`),
          `echo; echo '${MARK}end'`,
        ].join('\n');
        const run = runBash(script, {
          ...env,
          PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
          HOME: process.env.HOME ?? '',
          JACK_ADDR: jack.address,
          TMPDIR: configDir,
        });
        // This page's Jack is done once its blocks ran: at most one runs at a time.
        const { code, output } = await run.finally(() => jack.kill());

        const parts = output.split(new RegExp(`\\n?${MARK}`));
        // parts[0] is before the first block; parts[k+1] starts with "k\n" then block k's output.
        const outputOf = new Map<string, string>();
        for (const part of parts.slice(1)) {
          const newline = part.indexOf('\n');
          outputOf.set(newline === -1 ? part : part.slice(0, newline), part.slice(newline + 1));
        }
        if (code !== 0) {
          const ran = [...outputOf.keys()].filter((k) => k !== 'end');
          const failed = blocks[Number(ran[ran.length - 1] ?? 0)];
          expect.fail(
            `${page}:${failed?.line} exited ${code}\n--- block ---\n${failed?.code}\n--- output ---\n${output.slice(-3000)}`,
          );
        }
        blocks.forEach((block, i) => {
          if (block.expect === undefined) return;
          expect(outputOf.get(String(i)) ?? '', `${page}:${block.line}`).toMatch(block.expect);
        });
      },
      PAGE_TIMEOUT_MS + 20_000,
    );
  }
});

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replaceAll('`', '')
    .replace(/[^\p{L}\p{N}_\- ]/gu, '')
    .replaceAll(' ', '-');
}

function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6} (.*)$/.exec(line);
    if (heading?.[1] !== undefined) anchors.add(slug(heading[1]));
  }
  return anchors;
}

describe('the documentation pages', () => {
  const text = new Map(PAGES.map((p) => [p, readFileSync(join(ROOT, p), 'utf8')]));

  it('link only to files and anchors that exist', () => {
    const broken: string[] = [];
    for (const [page, markdown] of text) {
      const prose = markdown.replace(/```[\s\S]*?```/g, '');
      for (const m of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1] ?? '';
        if (/^[a-z]+:/.test(target)) continue;
        const [path = '', anchor] = target.split('#');
        const file = path === '' ? page : normalize(join(dirname(page), path));
        let exists = text.has(file);
        if (!exists) {
          try {
            readFileSync(join(ROOT, file));
            exists = true;
          } catch {
            exists = false;
          }
        }
        const target_ = text.get(file);
        if (!exists) broken.push(`${page}: ${target} (no file ${relative('.', file)})`);
        else if (anchor && target_ !== undefined && !anchorsOf(target_).has(anchor)) {
          broken.push(`${page}: ${target} (no heading #${anchor})`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it('stay short: the README ≤ 250 lines, every page ≤ 450', () => {
    for (const [page, markdown] of text) {
      const lines = markdown.split('\n').length;
      expect(lines, page).toBeLessThanOrEqual(page === 'README.md' ? 250 : 450);
    }
  });
});
