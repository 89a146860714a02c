/**
 * The layers point one way (STYLE §11, §12): the transport on top, the
 * domain below it, the adapters below that. This test reads the import
 * statements of every source file (not tests, not generated code) and fails
 * on an import that points up. The rules are data: each names who may not
 * import what, and why.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = dirname(fileURLToPath(import.meta.url));

/** Source files, relative to src/, with forward slashes. */
function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory())
      return entry.name === 'gen' || entry.name === 'gen-es' ? [] : sourceFiles(path);
    if (!entry.name.endsWith('.ts') || entry.name.endsWith('.test.ts')) return [];
    return [relative(SRC, path).split('\\').join('/')];
  });
}

/**
 * Every module a file imports: static `import`/`export … from` and dynamic
 * `import('…')`, type-only imports included (a type import still ties the
 * layers together). Relative specifiers become src/-relative paths;
 * packages stay as they are.
 */
function importsOf(file: string, text: string): string[] {
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'/gm),
    ...text.matchAll(/^\s*import\s+'([^']+)'/gm),
    ...text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g),
  ].map((m) => m[1] as string);
  return specifiers.map((s) =>
    s.startsWith('.')
      ? relative(SRC, resolve(SRC, dirname(file), s))
          .split('\\')
          .join('/')
          .replace(/\.js$/, '.ts')
      : s,
  );
}

/** A path or package matches a pattern: `*` = anything, `dir/` = anything under it, else the exact name. */
const matches = (path: string, patterns: readonly string[]) =>
  patterns.some((p) => p === '*' || (p.endsWith('/') ? path.startsWith(p) : path === p));

interface Rule {
  /** Why the rule exists, in one line. */
  why: string;
  /** Files the rule applies to; `except` takes some back out. */
  files: readonly string[];
  except?: readonly string[];
  /** Modules (src/-relative paths or packages) those files must not import. */
  forbidden: readonly string[];
}

/** Entry points: each is a process of its own and may import anything. */
const ENTRY_POINTS = ['main.ts', 'healthcheck.ts', 'app.ts', 'app/', 'cli/'];
/** Every folder below the transport. */
const DOMAIN = ['jobs/', 'admin/', 'identity/', 'admission/', 'idempotency/'];
const ADAPTERS = ['queue/', 'storage/', 'scheduler/', 'ledger/'];

const RULES: readonly Rule[] = [
  {
    why: 'the gRPC transport sits on top: only it, the composition root, the entry points and the client use it',
    files: ['*'],
    except: ['api/', 'client/', ...ENTRY_POINTS],
    forbidden: ['api/'],
  },
  {
    why: 'domain and adapters receive a CallContext and throw JackError; status codes and calls belong to the transport',
    files: [...DOMAIN, ...ADAPTERS, 'metrics/', 'tracing/'],
    // Google's Cloud Tasks client is itself a grpc-js client: a plaintext
    // (test) endpoint needs grpc-js channel credentials, and its errors carry
    // grpc-js status codes, which this adapter translates into JackError.
    except: ['scheduler/cloud-tasks.ts'],
    forbidden: ['@grpc/grpc-js', '@grpc/proto-loader'],
  },
  {
    why: 'the generated service stubs (jack.ts, admin.ts) load grpc-js; below the transport only the stored records (storage.ts) are shared',
    files: [...DOMAIN, ...ADAPTERS, 'metrics/', 'tracing/'],
    forbidden: ['gen/jack/jack.ts', 'gen/jack/admin.ts'],
  },
  {
    why: 'adapters store and deliver; the rules about jobs, producers and callers are decided above them',
    files: ADAPTERS,
    forbidden: DOMAIN,
  },
  {
    why: 'the domain and the adapters are wired by the composition root, never the other way',
    files: ['*'],
    except: ENTRY_POINTS,
    forbidden: ['app.ts', 'app/', 'main.ts', 'cli/'],
  },
  {
    why: 'the CLI talks to Jack through the typed client, like any other caller; nothing below it knows it',
    files: ['*'],
    except: ['cli/', 'client/', 'worker/'],
    forbidden: ['client/'],
  },
  {
    why: 'configuration is parsed below everything: adapters and the domain import its types, so it imports none of theirs',
    files: ['config/'],
    forbidden: [...DOMAIN, ...ADAPTERS, 'api/', 'metrics/', 'tracing/', 'worker/'],
  },
  {
    why: 'the worker SDK is a caller of Jack like the client: it ships without the server, its config or its adapters',
    files: ['worker/'],
    forbidden: [...DOMAIN, ...ADAPTERS, 'api/', 'config/', 'metrics/', 'tracing/', 'logger.ts'],
  },
];

/** Every import that breaks a rule, as `file → import (why)`. */
function violations(files: ReadonlyMap<string, string>, rules = RULES): string[] {
  const found: string[] = [];
  for (const [file, text] of files) {
    const imports = importsOf(file, text);
    for (const rule of rules) {
      if (!matches(file, rule.files)) continue;
      if (rule.except !== undefined && matches(file, rule.except)) continue;
      for (const target of imports) {
        if (matches(target, rule.forbidden)) found.push(`${file} → ${target} (${rule.why})`);
      }
    }
  }
  return found;
}

/**
 * Every import circle among `files`, each once, as `a.ts → b.ts → a.ts`
 * (Tarjan's strongly connected components; a component of more than one
 * file, or a file importing itself, holds a circle). Type-only imports count:
 * a circle of types is still a design that runs both ways.
 */
function circles(files: ReadonlyMap<string, string>): string[] {
  const edges = new Map<string, string[]>();
  for (const [file, text] of files) {
    edges.set(
      file,
      importsOf(file, text).filter((target) => files.has(target)),
    );
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[] = [];
  let next = 0;
  const visit = (file: string): void => {
    index.set(file, next);
    low.set(file, next);
    next++;
    stack.push(file);
    onStack.add(file);
    for (const target of edges.get(file) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file) as number, low.get(target) as number));
      } else if (onStack.has(target)) {
        low.set(file, Math.min(low.get(file) as number, index.get(target) as number));
      }
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop() as string;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    const selfImport = (edges.get(file) ?? []).includes(file);
    if (component.length > 1 || selfImport) found.push(describeCircle(component.sort(), edges));
  };
  for (const file of [...files.keys()].sort()) if (!index.has(file)) visit(file);
  return found;
}

/** One circle through the first file of a component, as `a.ts → b.ts → a.ts`. */
function describeCircle(component: string[], edges: ReadonlyMap<string, string[]>): string {
  const members = new Set(component);
  const start = component[0] as string;
  // Breadth-first within the component, back to the start.
  const from = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const file = queue.shift() as string;
    for (const target of edges.get(file) ?? []) {
      if (!members.has(target)) continue;
      if (target === start) {
        const path = [start];
        for (let at = file; at !== start; at = from.get(at) as string) path.splice(1, 0, at);
        return [...path, start].join(' → ');
      }
      if (!from.has(target)) {
        from.set(target, file);
        queue.push(target);
      }
    }
  }
  return component.join(' ↔ ');
}

describe('layers', () => {
  const files = new Map(sourceFiles().map((f) => [f, readFileSync(join(SRC, f), 'utf8')]));

  it('reads the source tree', () => {
    expect(files.has('app.ts')).toBe(true);
    expect(files.has('jobs/enqueuer.ts')).toBe(true);
    expect([...files.keys()].some((f) => f.startsWith('gen/') || f.endsWith('.test.ts'))).toBe(
      false,
    );
  });

  it('has no import from a lower layer to a higher one', () => {
    expect(violations(files)).toEqual([]);
  });

  it('has no import circle anywhere in src/', () => {
    expect(circles(files)).toEqual([]);
  });

  it('finds a circle of any length, type-only imports included', () => {
    const files = new Map([
      ['jobs/a.ts', "import type { B } from './b.js';"],
      ['jobs/b.ts', "import { c } from './c.js';"],
      ['jobs/c.ts', "export type { A } from './a.js';"],
      ['config/x.ts', "import type { Y } from '../queue/y.js';"],
      ['queue/y.ts', "import type { X } from '../config/x.js';"],
      ['jobs/self.ts', "import { me } from './self.js';"],
      ['jobs/leaf.ts', "import { a } from './a.js';"],
    ]);
    expect(circles(files)).toEqual([
      'config/x.ts → queue/y.ts → config/x.ts',
      'jobs/a.ts → jobs/b.ts → jobs/c.ts → jobs/a.ts',
      'jobs/self.ts → jobs/self.ts',
    ]);
  });

  it('keeps config/ below the adapters: config/ importing queue/ is refused', () => {
    const bad = new Map([
      ['config/backend.ts', "import type { Priority } from '../queue/backend.js';"],
    ]);
    expect(violations(bad).map((v) => v.split(' (')[0])).toEqual([
      'config/backend.ts → queue/backend.ts',
    ]);
  });

  it('catches an upward import, static, dynamic or type-only', () => {
    const bad = new Map([
      ['storage/x.ts', "import { createEnqueuer } from '../jobs/enqueuer.js';"],
      ['queue/y.ts', "const m = await import('../api/status.js');"],
      ['admin/z.ts', "import type { status } from '@grpc/grpc-js';"],
      ['jobs/w.ts', "export { startApp } from '../app.js';"],
      ['admin/v.ts', "import type { Producer } from '../gen/jack/admin.js';"],
      ['api/ok.ts', "import { createEnqueuer } from '../jobs/enqueuer.js';"],
    ]);
    expect(violations(bad).map((v) => v.split(' (')[0])).toEqual([
      'storage/x.ts → jobs/enqueuer.ts',
      'queue/y.ts → api/status.ts',
      'admin/z.ts → @grpc/grpc-js',
      'jobs/w.ts → app.ts',
      'admin/v.ts → gen/jack/admin.ts',
    ]);
  });

  it('lets the listed exception use grpc-js, and no other scheduler file', () => {
    const grpc = "import { credentials } from '@grpc/grpc-js';";
    expect(violations(new Map([['scheduler/cloud-tasks.ts', grpc]]))).toEqual([]);
    expect(violations(new Map([['scheduler/scheduler.ts', grpc]]))).toHaveLength(1);
  });
});
