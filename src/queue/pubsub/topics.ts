/** Which Pub/Sub topic a priority publishes to, and how topics are named (SPEC §3). */
import type { BackendConfig } from '../../config/index.js';
import type { Priority } from '../backend.js';

export type PubSubBackendConfig = Extract<BackendConfig, { kind: 'pubsub' }>;

/** Env variable that configures the topic of a priority (for error messages). */
export function topicVariable(priority: Priority): string {
  return `PUBSUB_TOPIC_${priority.toUpperCase()}`;
}

/** The topic a priority publishes to: its own, else the medium topic (SPEC §3). */
export function topicForPriority(config: PubSubBackendConfig, priority: Priority): string {
  return config.topics[priority] ?? config.topics.medium;
}

/**
 * Full resource name `projects/P/topics/T`; a topic already given in that
 * form is kept as is.
 */
export function topicResourceName(project: string, topic: string): string {
  return topic.startsWith('projects/') ? topic : `projects/${project}/topics/${topic}`;
}
