/**
 * google.protobuf.FieldMask for the update RPCs (SPEC §10): the mask names
 * the fields to take from the request; every other field keeps its stored
 * value. Paths are the proto field names (snake_case), as clients send them;
 * the generated code hands a FieldMask over as its list of paths.
 */
import { JackError } from '../errors.js';

export interface MaskRules<P extends string> {
  /** The record type, for messages: `Producer`, `JobType`. */
  record: string;
  updatable: readonly P[];
  /** Fields that exist but may not be changed (ids, timestamps): refused with their own message. */
  fixed: readonly string[];
}

/**
 * The set of paths to apply. An absent or empty mask, a fixed field or a
 * path that is not an updatable field → INVALID_ARGUMENT naming it. A path
 * given twice counts once. `*` (replace everything) is not supported.
 */
export function maskPaths<P extends string>(
  mask: readonly string[] | undefined,
  rules: MaskRules<P>,
): ReadonlySet<P> {
  const list = rules.updatable.join(', ');
  const paths = mask ?? [];
  if (paths.length === 0) {
    throw new JackError(
      'invalid_argument',
      `update_mask is required: name the ${rules.record} fields to update (${list})`,
    );
  }
  const chosen = new Set<P>();
  for (const path of paths) {
    if ((rules.updatable as readonly string[]).includes(path)) {
      chosen.add(path as P);
    } else if (rules.fixed.includes(path)) {
      throw new JackError(
        'invalid_argument',
        `update_mask path "${shown(path)}" cannot be updated (updatable: ${list})`,
      );
    } else {
      throw new JackError(
        'invalid_argument',
        `update_mask path "${shown(path)}" is not an updatable field of ${rules.record} (updatable: ${list})`,
      );
    }
  }
  return chosen;
}

/** A path echoed in a message: bounded, so a huge path cannot make a huge error. */
function shown(path: string): string {
  return path.length > 64 ? `${path.slice(0, 64)}…` : path;
}
