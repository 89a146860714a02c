import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LineSet, loadDone, ResultWriter } from './results.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jack-results-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('LineSet', () => {
  it('holds line numbers as bits and grows', () => {
    const set = new LineSet();
    for (const i of [0, 7, 8, 100_000, 7]) set.add(i);
    expect(set.size).toBe(4);
    expect([0, 7, 8, 100_000].every((i) => set.has(i))).toBe(true);
    expect([1, 9, 99_999, 5_000_000].some((i) => set.has(i))).toBe(false);
  });
});

describe('RESULTS on resume', () => {
  it('keeps the lines with a job id (once each), drops failures and a torn last line', async () => {
    const path = join(dir, 'results.jsonl');
    await writeFile(
      path,
      [
        '{"index":0,"job_id":"pjob_a"}',
        '{"index":1,"reason":"unavailable","error":"down"}',
        '{"index":2,"job_id":"pjob_c","warnings":["w"]}',
        '{"index":2,"job_id":"pjob_c"}',
        '{"index":-1,"job_id":"pjob_x"}',
        '{"index":3,"job_',
      ].join('\n'),
    );
    const done = await loadDone(path);
    expect([done.has(0), done.has(1), done.has(2), done.has(3), done.size]).toEqual([
      true,
      false,
      true,
      false,
      2,
    ]);
    expect(await readFile(path, 'utf8')).toBe(
      '{"index":0,"job_id":"pjob_a"}\n{"index":2,"job_id":"pjob_c","warnings":["w"]}\n',
    );
    const writer = new ResultWriter(path, true);
    await writer.write({ index: 1, job_id: 'pjob_b' });
    await writer.close();
    expect((await readFile(path, 'utf8')).split('\n')).toHaveLength(4);
  });

  it('a missing RESULTS means nothing is done yet', async () => {
    expect((await loadDone(join(dir, 'none.jsonl'))).size).toBe(0);
  });
});
