import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.js';
import { type PubSubBackendConfig, topicForPriority, topicResourceName } from './topics.js';

describe('topics', () => {
  const config = loadConfig({
    QUEUE_BACKEND: 'pubsub',
    PUBSUB_PROJECT: 'proj',
    PUBSUB_TOPIC_MEDIUM: 'jobs-medium',
    PUBSUB_TOPIC_HIGH: 'projects/other/topics/jobs-high',
  }).backend as PubSubBackendConfig;

  it('a priority without a topic uses the medium topic', () => {
    expect(topicForPriority(config, 'high')).toBe('projects/other/topics/jobs-high');
    expect(topicForPriority(config, 'immediate')).toBe('jobs-medium');
    expect(topicForPriority(config, 'low')).toBe('jobs-medium');
  });

  it('short names get the project, full names are kept', () => {
    expect(topicResourceName('proj', 'jobs-medium')).toBe('projects/proj/topics/jobs-medium');
    expect(topicResourceName('proj', 'projects/other/topics/t')).toBe('projects/other/topics/t');
  });
});
