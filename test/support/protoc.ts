/**
 * Debian's `protoc` (package protobuf-compiler), for checks by protoc's own
 * (C++) descriptor rules. `.ci/run` installs it when missing; on a laptop
 * without it the tests that need it skip with a loud notice, under CI=true
 * they fail.
 */
import { execFileSync } from 'node:child_process';

/** Path of `protoc` on PATH, or '' when it is not installed (never under CI=true). */
export function protocPath(): string {
  let path = '';
  try {
    path = execFileSync('sh', ['-c', 'command -v protoc'], { encoding: 'utf8' }).trim();
  } catch {
    path = '';
  }
  if (path === '') {
    if (process.env.CI === 'true') {
      throw new Error(
        'CI=true but protoc is not installed (apt-get install protobuf-compiler): protoc checks cannot be skipped in CI',
      );
    }
    console.warn(
      '\n*** protoc is not installed: SKIPPING the protoc descriptor checks (apt-get install protobuf-compiler) ***\n',
    );
  }
  return path;
}
