/**
 * Runs the BUILT `jack` command (dist/cli/main.js) as its own process, the
 * way a user runs it, and collects its exit code and output. Optionally
 * samples its peak resident memory (VmHWM from /proc) while it runs.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { DIST } from './spawn.js';

export const BUILT_CLI = join(DIST, 'cli', 'main.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as one JSON document. */
  json<T = Record<string, unknown>>(): T;
  /** Peak RSS in KiB (VmHWM), when `measureMemory` was set. */
  peakRssKiB?: number;
}

export interface RunCliOptions {
  /** Environment on top of PATH and HOME (the developer's JACK_* never leak in). */
  env?: Record<string, string>;
  /** Written to stdin, then stdin is closed. */
  input?: string | Buffer;
  timeoutMs?: number;
  measureMemory?: boolean;
}

function vmHwmKiB(pid: number): number | undefined {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

export function runCli(args: string[], options: RunCliOptions = {}): Promise<CliResult> {
  if (!existsSync(BUILT_CLI)) {
    throw new Error(`${BUILT_CLI} is missing: run 'make build' (make test builds first)`);
  }
  const child = spawn(process.execPath, [BUILT_CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  child.stdin.on('error', () => {}); // The command may exit before reading all of it.
  child.stdin.end(options.input ?? '');
  let peak: number | undefined;
  const sampler = options.measureMemory
    ? setInterval(() => {
        const kib = child.pid === undefined ? undefined : vmHwmKiB(child.pid);
        if (kib !== undefined) peak = Math.max(peak ?? 0, kib);
      }, 20)
    : undefined;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`jack ${args.join(' ')} did not finish\nstdout: ${stdout}\nstderr: ${stderr}`),
      );
    }, options.timeoutMs ?? 20_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      clearInterval(sampler);
      resolve({
        code,
        stdout,
        stderr,
        peakRssKiB: peak,
        json<T>() {
          try {
            return JSON.parse(stdout) as T;
          } catch {
            throw new Error(`stdout is not one JSON document: ${stdout}\nstderr: ${stderr}`);
          }
        },
      });
    });
  });
}

/** A command that succeeded: exit 0, nothing on stderr. */
export function ok(result: CliResult): CliResult {
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return result;
}

/** A failed command: exit 1, nothing on stdout, one error line. */
export function failed(result: CliResult, line: string | RegExp): void {
  expect(result.code, result.stderr).toBe(1);
  expect(result.stdout).toBe('');
  if (typeof line === 'string') expect(result.stderr).toBe(`${line}\n`);
  else expect(result.stderr).toMatch(line);
}
