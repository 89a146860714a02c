import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { JackError } from '../errors.js';
import { createGroupCommit, type Versioned } from './group-commit.js';

/** One object with a generation counter, conditional writes, and a hook to write "from another replica". */
function object(initial: string[] = []) {
  let stored: Versioned<string> = { generation: '1', records: initial };
  let installed: Versioned<string> = stored;
  const writes: string[][] = [];
  let reads = 0;
  const commit = createGroupCommit<string>({
    name: 'producers.json',
    current: () => installed,
    read: async () => {
      reads++;
      return stored;
    },
    write: async (text, ifGeneration) => {
      if (ifGeneration !== stored.generation) throw new JackError('aborted', 'lost race');
      const records = JSON.parse(text) as string[];
      writes.push(records);
      stored = { generation: String(Number(stored.generation) + 1), records };
      return stored.generation;
    },
    encode: (records) => JSON.stringify(records),
    install: (version) => {
      installed = version;
    },
    logger: pino({ level: 'silent' }),
    maxAttempts: 3,
    maxBackoffMs: 1,
  });
  return {
    commit,
    writes,
    reads: () => reads,
    stored: () => stored.records,
    installed: () => installed.records,
    otherReplicaWrites(records: string[]) {
      stored = { generation: String(Number(stored.generation) + 1), records };
    },
  };
}

const add = (value: string) => (records: readonly string[]) =>
  records.includes(value) ? undefined : [...records, value];

describe('group commit', () => {
  it('writes a synchronous burst of changes in one conditional write, without reading', async () => {
    const o = object();
    await Promise.all([o.commit.submit(add('a')), o.commit.submit(add('b'))]);
    expect(o.writes).toEqual([['a', 'b']]);
    expect(o.reads()).toBe(0);
    expect(o.installed()).toEqual(['a', 'b']);
  });

  it('re-reads and re-applies after a lost race, keeping the other replica’s write', async () => {
    const o = object();
    o.otherReplicaWrites(['theirs']);
    await o.commit.submit(add('mine'));
    expect(o.stored()).toEqual(['theirs', 'mine']);
    expect(o.installed()).toEqual(['theirs', 'mine']);
  });

  it('fails only the change that refuses, and writes nothing when nothing changed', async () => {
    const o = object(['a']);
    const refuse = () => {
      throw new JackError('already_exists', 'taken');
    };
    const outcomes = await Promise.allSettled([
      o.commit.submit(refuse),
      o.commit.submit(add('a')),
      o.commit.submit(add('b')),
    ]);
    expect(outcomes.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect(o.writes).toEqual([['a', 'b']]);
    await o.commit.submit(add('a'));
    expect(o.writes).toHaveLength(1);
  });

  it('gives up with aborted after maxAttempts lost races', async () => {
    const o = object();
    // Every change bumps the stored generation first: each write loses its race.
    const racing = (records: readonly string[]) => {
      o.otherReplicaWrites([...records, 'x']);
      return [...records, 'mine'];
    };
    await expect(o.commit.submit(racing)).rejects.toThrow(
      'producers.json changed concurrently 3 times in a row; the write was not applied, retry',
    );
  });

  it('applies a fresh change to a read made after it was submitted', async () => {
    const o = object();
    o.otherReplicaWrites(['theirs']);
    // The installed list does not hold 'theirs': a removal based on it would write nothing.
    await o.commit.submit((records) => records.filter((r) => r !== 'theirs'), true);
    expect(o.reads()).toBe(1);
    expect(o.stored()).toEqual([]);
  });
});
