import { describe, expect, it } from 'vitest';
import { matchTopic, parseTopicTemplate, type TopicTemplate } from './topic-template.js';

function template(text: string): TopicTemplate {
  const result = parseTopicTemplate(text);
  if (!result.ok) throw new Error(result.problem);
  return result.template;
}

describe('parseTopicTemplate', () => {
  it('turns placeholders into + and lists them', () => {
    const t = template('devices/{deviceId}/telemetry/{kind}');
    expect(t.filter).toBe('devices/+/telemetry/+');
    expect(t.params).toEqual(['deviceId', 'kind']);
  });

  it('keeps plain filters with wildcards', () => {
    expect(template('a/+/b/#').filter).toBe('a/+/b/#');
    expect(template('#').filter).toBe('#');
    expect(template('/leading/slash').filter).toBe('/leading/slash');
  });

  it.each([
    ['', 'must not be empty'],
    ['a/#/b', "'#' is only allowed as the last level"],
    ['a/b+/c', 'a wildcard must fill a whole level'],
    ['a/x#', 'a wildcard must fill a whole level'],
    ['a/dev-{id}', 'a placeholder must fill a whole level'],
    ['a/{}', 'placeholder name must match'],
    ['a/{1x}', 'placeholder name must match'],
    ['a/{id}/{id}', "placeholder 'id' appears twice"],
    ['a/{mqttTopic}', 'reserved'],
    ['a/{googId}', 'reserved'],
    ['$share/g/a/b', "must not start with '$share/'"],
    ['a\u0000b', 'NUL'],
  ])('rejects %j', (text, problem) => {
    const result = parseTopicTemplate(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem).toContain(problem);
  });
});

describe('matchTopic', () => {
  it('lifts placeholders', () => {
    expect(matchTopic(template('devices/{deviceId}/telemetry'), 'devices/d-1/telemetry')).toEqual({
      deviceId: 'd-1',
    });
  });

  it('follows the MQTT wildcard rules', () => {
    expect(matchTopic(template('a/+/c'), 'a/b/c')).toEqual({});
    expect(matchTopic(template('a/+/c'), 'a/b/c/d')).toBeUndefined();
    expect(matchTopic(template('a/+/c'), 'a/c')).toBeUndefined();
    expect(matchTopic(template('a/#'), 'a')).toEqual({}); // '#' matches the parent level too
    expect(matchTopic(template('a/#'), 'a/b/c')).toEqual({});
    expect(matchTopic(template('a/+'), 'a/')).toEqual({}); // an empty level is a level
    expect(matchTopic(template('#'), '$SYS/broker')).toBeUndefined();
    expect(matchTopic(template('+/broker'), '$SYS/broker')).toBeUndefined();
    expect(matchTopic(template('$SYS/#'), '$SYS/broker')).toEqual({});
    expect(matchTopic(template('devices/{id}/t'), 'devices/x/u')).toBeUndefined();
  });
});
