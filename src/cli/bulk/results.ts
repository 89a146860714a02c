/**
 * The RESULTS file of `jack bulk`: one JSON line per input line (`index`,
 * `job_id` or `reason` + `error`). Written with backpressure; on --resume
 * read back (streaming) into a bit set of the lines already done, and
 * compacted to those lines so the finished file has one line per input line.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { rename, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream/promises';

export interface ResultLine {
  index: number;
  job_id?: string;
  duplicate?: boolean;
  warnings?: string[];
  reason?: string;
  error?: string;
}

/** A growable set of line numbers: one bit per line, so memory stays small for any file. */
export class LineSet {
  private bits = new Uint8Array(1024);
  size = 0;

  add(index: number): void {
    const byte = index >> 3;
    if (byte >= this.bits.length) {
      const grown = new Uint8Array(Math.max(byte + 1, this.bits.length * 2));
      grown.set(this.bits);
      this.bits = grown;
    }
    const mask = 1 << (index & 7);
    if ((this.bits[byte]! & mask) === 0) this.size++;
    this.bits[byte]! |= mask;
  }

  has(index: number): boolean {
    const byte = index >> 3;
    return byte < this.bits.length && (this.bits[byte]! & (1 << (index & 7))) !== 0;
  }
}

export async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

/**
 * Reads RESULTS, keeps only the lines with a job id (rewritten atomically:
 * temp file + rename) and returns their indices.
 */
export async function loadDone(path: string): Promise<LineSet> {
  const done = new LineSet();
  if ((await fileSize(path)) === undefined) return done;
  const tmp = `${path}.compact-${process.pid}`;
  const out = createWriteStream(tmp);
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const line of lines) {
    let parsed: ResultLine;
    try {
      parsed = JSON.parse(line) as ResultLine;
    } catch {
      continue; // A torn last line of an interrupted run: that job is sent again.
    }
    if (typeof parsed.job_id !== 'string' || parsed.job_id === '') continue;
    if (!Number.isSafeInteger(parsed.index) || parsed.index < 0 || done.has(parsed.index)) continue;
    done.add(parsed.index);
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  await rename(tmp, path);
  return done;
}

/** Appends result lines, waiting when the file cannot keep up. */
export class ResultWriter {
  private readonly stream: WriteStream;
  private failure: Error | undefined;
  /** One wait for 'drain' shared by every writer that found the buffer full. */
  private drained: Promise<unknown> | undefined;

  constructor(path: string, append: boolean) {
    this.stream = createWriteStream(path, { flags: append ? 'a' : 'w' });
    this.stream.on('error', (err) => {
      this.failure = err;
    });
  }

  async write(result: ResultLine): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.stream.write(`${JSON.stringify(result)}\n`)) {
      // events.once rejects when 'error' comes first, so a failed file never hangs here.
      this.drained ??= once(this.stream, 'drain').finally(() => {
        this.drained = undefined;
      });
      await this.drained;
    }
  }

  async close(): Promise<void> {
    this.stream.end();
    await finished(this.stream);
    if (this.failure) throw this.failure;
  }
}
