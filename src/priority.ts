/**
 * The priorities of SPEC §2 (immediate ≤5 s, high ≤15 s, medium ≤1 min,
 * low ≤5 min). A leaf module: configuration (a topic per priority) and the
 * queue adapters both name them, and neither imports the other for it.
 */

/** Every priority, most urgent first. */
export const PRIORITIES = ['immediate', 'high', 'medium', 'low'] as const;

export type Priority = (typeof PRIORITIES)[number];
