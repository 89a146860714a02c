/**
 * Ways a directory breaks under a running process, made for real: replaced
 * by a regular file, removed, made read-only, out of space. Tests run as
 * root, and chmod does not stop root: read-only is the immutable attribute
 * there (`chattr +i`, which root must obey; chmod for anyone else) and a full disk is a small tmpfs
 * (`mount -t tmpfs`) filled to its last block and inode. Where this machine
 * cannot do either, the test is skipped loudly, and fails under CI=true.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface BreakableDir {
  /** The directory to give the process (CONFIG_DIR). */
  dir: string;
  /** Breaks it; resolves once the damage is done. */
  break(): Promise<void>;
  /** Undoes whatever the case needs undone and removes everything. */
  cleanup(): Promise<void>;
  /** The errno code a write into the broken directory gets. */
  errno: string;
}

export type BreakCase = 'replaced by a file' | 'removed' | 'read-only' | 'disk full';

const asRoot = process.getuid?.() === 0;

const run = (cmd: string, args: string[]) =>
  spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** True when `chattr +i` makes a directory refuse new entries even to root. */
function immutableWorks(): boolean {
  const probe = join(tmpdir(), `jack-chattr-probe-${process.pid}`);
  try {
    execFileSync('mkdir', ['-p', probe]);
    if (run('chattr', ['+i', probe]).status !== 0) return false;
    const refused = run('mkdir', [join(probe, 'x')]).status !== 0;
    run('chattr', ['-i', probe]);
    return refused;
  } finally {
    run('rm', ['-rf', probe]);
  }
}

/** True when this process may mount a tmpfs. */
function tmpfsWorks(): boolean {
  const probe = join(tmpdir(), `jack-tmpfs-probe-${process.pid}`);
  try {
    execFileSync('mkdir', ['-p', probe]);
    if (run('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe]).status !== 0) return false;
    run('umount', [probe]);
    return true;
  } finally {
    run('rm', ['-rf', probe]);
  }
}

const noticed = new Set<BreakCase>();

/**
 * True when `kind` can be made here. Not possible: throws under CI=true;
 * otherwise prints a loud notice and returns false, for `it.skipIf`.
 */
export function canBreak(kind: BreakCase): boolean {
  const possible =
    kind === 'read-only' ? !asRoot || immutableWorks() : kind === 'disk full' ? tmpfsWorks() : true;
  if (possible) return true;
  const how = kind === 'read-only' ? 'chattr +i (e2fsprogs, as root)' : 'mount -t tmpfs (root)';
  if (process.env.CI === 'true') {
    throw new Error(`CI=true but "${kind}" cannot be made here: it needs ${how}`);
  }
  if (!noticed.has(kind)) {
    noticed.add(kind);
    const bar = '!'.repeat(78);
    process.stderr.write(
      `\n${bar}\n!! CONFIG_DIR "${kind}" needs ${how}: that test is SKIPPED.\n${bar}\n\n`,
    );
  }
  return false;
}

/** Writes files into `dir` until the file system says ENOSPC (inodes, then blocks). */
async function fill(dir: string): Promise<void> {
  const isFull = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOSPC';
  for (let i = 0; i < 100_000; i++) {
    try {
      await writeFile(join(dir, `filler-${i}`), '');
    } catch (err) {
      if (isFull(err)) break;
      throw err;
    }
  }
  // The last inode may already be gone: then the blocks are filled through an existing file.
  try {
    await writeFile(join(dir, 'filler-0'), Buffer.alloc(1024 * 1024));
  } catch (err) {
    if (!isFull(err)) throw err;
  }
}

export async function breakableDir(kind: BreakCase): Promise<BreakableDir> {
  const base = await mkdtemp(join(tmpdir(), 'jack-broken-dir-'));
  if (kind === 'disk full') {
    // Room for the store's files and a few temp files, nothing more.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,nr_inodes=64', 'tmpfs', base]);
    const dir = join(base, 'config');
    await mkdir(dir);
    return {
      dir,
      errno: 'ENOSPC',
      break: () => fill(base),
      async cleanup() {
        run('umount', [base]);
        await rm(base, { recursive: true, force: true });
      },
    };
  }
  const dir = join(base, 'config');
  await mkdir(dir);
  const cleanup = async () => {
    run('chattr', ['-i', dir]);
    await rm(base, { recursive: true, force: true });
  };
  switch (kind) {
    case 'replaced by a file':
      return {
        dir,
        errno: 'ENOTDIR',
        async break() {
          await rm(dir, { recursive: true, force: true });
          await writeFile(dir, 'not a directory');
        },
        cleanup,
      };
    case 'removed':
      return {
        dir,
        errno: 'ENOENT',
        break: () => rm(dir, { recursive: true, force: true }),
        cleanup,
      };
    case 'read-only':
      // chmod stops everyone but root; root obeys only the immutable attribute.
      return asRoot
        ? {
            dir,
            errno: 'EPERM',
            async break() {
              execFileSync('chattr', ['+i', dir]);
            },
            cleanup,
          }
        : {
            dir,
            errno: 'EACCES',
            break: () => chmod(dir, 0o555),
            cleanup,
          };
  }
}
