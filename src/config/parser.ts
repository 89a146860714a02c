/**
 * The environment reader the section parsers share: one typed read per
 * variable, each recording a problem that names the variable when its value
 * does not parse, plus the Go-style duration and size syntaxes.
 */

export type Env = Readonly<Record<string, string | undefined>>;

export function nonEmpty(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}

const DURATION_UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1000,
  kib: 1024,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

/** Parses a Go-style duration ("1m", "1h30m", "250ms", "0") into milliseconds. */
export function parseDurationMs(text: string): number | undefined {
  const s = text.trim();
  if (s === '0') return 0;
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(m[1]) * (DURATION_UNITS_MS[m[2] ?? ''] ?? Number.NaN);
  }
  return Number.isFinite(total) ? Math.round(total) : undefined;
}

/** Parses a byte size: a plain integer, or with KB/KiB/MB/MiB/GB/GiB. */
export function parseSizeBytes(text: string): number | undefined {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(text.trim());
  if (m === null) return undefined;
  const unit = SIZE_UNITS[(m[2] ?? '').toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Number(m[1]) * unit;
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/**
 * Boolean spellings, matched in any letter case: Jack's own words plus every
 * form Go's `strconv.ParseBool` accepts (`t`, `f`, `1`, `0`, …), so an env
 * file written for the Go service keeps working (SPEC §12).
 */
const TRUE_FORMS = ['true', 't', '1', 'yes', 'on'];
const FALSE_FORMS = ['false', 'f', '0', 'no', 'off'];
const BOOLEAN_FORMS: ReadonlyMap<string, boolean> = new Map([
  ...TRUE_FORMS.map((form) => [form, true] as const),
  ...FALSE_FORMS.map((form) => [form, false] as const),
]);
const BOOLEAN_WHAT = `a boolean (${TRUE_FORMS.join('|')} or ${FALSE_FORMS.join('|')}, in any letter case)`;

/** Reads one variable at a time; records a problem naming the variable when it does not parse. */
export class Parser {
  constructor(
    private readonly env: Env,
    private readonly problems: string[],
  ) {}

  /** The trimmed value, or undefined when unset or blank. */
  string(name: string): string | undefined {
    const value = this.env[name];
    return nonEmpty(value) ? value.trim() : undefined;
  }

  /** Records a problem the typed readers cannot express. */
  problem(message: string): void {
    this.problems.push(message);
  }

  private parse<T>(name: string, what: string, fn: (s: string) => T | undefined): T | undefined {
    const raw = this.string(name);
    if (raw === undefined) return undefined;
    const value = fn(raw);
    if (value === undefined) this.problems.push(`${name}=${JSON.stringify(raw)} is not ${what}`);
    return value;
  }

  port(name: string): number | undefined {
    return this.parse(name, 'a port number (0-65535)', (s) => {
      const n = /^\d+$/.test(s) ? Number(s) : Number.NaN;
      return n >= 0 && n <= 65535 ? n : undefined;
    });
  }

  positiveInt(name: string): number | undefined {
    return this.parse(name, 'a positive integer', (s) => {
      const n = /^\d+$/.test(s) ? Number(s) : Number.NaN;
      return Number.isSafeInteger(n) && n > 0 ? n : undefined;
    });
  }

  /** Any whole number, negative and zero included. */
  integer(name: string): number | undefined {
    return this.parse(name, 'a whole number', (s) => {
      const n = /^-?\d+$/.test(s) ? Number(s) : Number.NaN;
      return Number.isSafeInteger(n) ? n : undefined;
    });
  }

  size(name: string): number | undefined {
    return this.parse(name, 'a size in bytes (e.g. 1048576, 512KiB, 16MiB)', (s) => {
      const n = parseSizeBytes(s);
      return n !== undefined && n > 0 ? n : undefined;
    });
  }

  duration(name: string): number | undefined {
    return this.parse(name, 'a duration (e.g. 500ms, 10s, 1m)', parseDurationMs);
  }

  positiveDuration(name: string): number | undefined {
    return this.parse(name, 'a positive duration (e.g. 500ms, 10s, 1m)', (s) => {
      const ms = parseDurationMs(s);
      return ms !== undefined && ms > 0 ? ms : undefined;
    });
  }

  bool(name: string): boolean | undefined {
    return this.parse(name, BOOLEAN_WHAT, (s) => BOOLEAN_FORMS.get(s.toLowerCase()));
  }

  url(name: string): string | undefined {
    return this.parse(name, 'an http(s) URL', (s) =>
      /^https?:\/\/[^\s/]+/.test(s) ? s : undefined,
    );
  }

  oneOf<const T extends string>(name: string, allowed: readonly T[]): T | undefined {
    return this.parse(name, `one of ${allowed.join('|')}`, (s) =>
      (allowed as readonly string[]).includes(s) ? (s as T) : undefined,
    );
  }
}
