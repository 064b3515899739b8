import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { projectIdProblem, pubsubIdProblem, pubsubNameProblem } from './resource-names.js';
import { resolveName } from './validate.js';

describe('pubsubIdProblem', () => {
  it.each(['abc', 'raw-events', 'A1_b.c~d+e%f', 'x'.repeat(255), 'Goog-not-reserved'])(
    'accepts %s',
    (value) => {
      expect(pubsubIdProblem(value)).toBeUndefined();
    },
  );

  it.each([
    ['dl', "'dl' has 2 characters; a Pub/Sub id has 3 to 255"],
    ['x'.repeat(256), 'has 256 characters'],
    ['1abc', "'1abc' must start with a letter"],
    ['-abc', 'must start with a letter'],
    ['ab c', "contains ' '"],
    ['ab/c', "contains '/'"],
    ['abc$', "contains '$'"],
    ['googtopic', "must not start with 'goog'"],
  ])('refuses %s', (value, problem) => {
    expect(pubsubIdProblem(value)).toContain(problem);
  });
});

describe('pubsubNameProblem', () => {
  it.each([
    ['raw', undefined],
    ['projects/test-proj/topics/raw', 'topics'],
    ['projects/{{projectId}}/topics/raw', 'topics'],
    ['projects/test-proj/subscriptions/sub', 'subscriptions'],
    ['projects/test-proj/subscriptions/sub', undefined],
  ] as const)('accepts %s (%s)', (value, collection) => {
    expect(pubsubNameProblem(value, collection)).toBeUndefined();
  });

  it.each([
    ['', undefined, 'is empty'],
    ['dl', 'topics', 'has 2 characters'],
    ['projects/p/topics/dl', 'topics', "'dl' has 2 characters"],
    ['projects/p/subscriptions/sub', 'topics', 'projects/<project>/topics/<id>'],
    ['projects//topics/raw', 'topics', 'neither an id nor a full name'],
    ['projects/p/topics/raw/extra', undefined, 'projects/<project>/(topics|subscriptions)/<id>'],
    ['topics/raw', undefined, 'neither an id nor a full name'],
  ] as const)('refuses %s as %s', (value, collection, problem) => {
    expect(pubsubNameProblem(value, collection)).toContain(problem);
  });
});

describe('projectIdProblem', () => {
  it.each(['test-proj', 'my-project-42', 'abcdef', 'a'.repeat(30)])('accepts %s', (value) => {
    expect(projectIdProblem(value)).toBeUndefined();
  });

  it.each([
    ['bench', 'has 5 characters; a project id has 6 to 30'],
    ['a'.repeat(31), 'has 31 characters'],
    ['Bad_Project', 'must start with a lowercase letter'],
    ['1project', 'must start with a lowercase letter'],
    ['my.project', 'only lowercase letters, digits and hyphens'],
    ['project-', 'must not end with a hyphen'],
  ])('refuses %s', (value, problem) => {
    expect(projectIdProblem(value)).toContain(problem);
  });
});

describe('resolveName', () => {
  it('returns a valid name unchanged', () => {
    expect(resolveName('topicName', 'projects/test-proj/topics/raw')).toBe(
      'projects/test-proj/topics/raw',
    );
  });

  it.each([
    [undefined, "'topicName' is required"],
    ['', "'topicName' is required"],
    ['dl', "'topicName' is not a valid Pub/Sub name: 'dl' has 2 characters"],
    ['goograw', "must not start with 'goog'"],
  ])('refuses %s, naming the option', (value, message) => {
    expect(() => resolveName('topicName', value)).toThrow(InvalidArgumentError);
    expect(() => resolveName('topicName', value)).toThrow(message);
  });
});
