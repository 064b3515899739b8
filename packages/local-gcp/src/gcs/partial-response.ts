import type { ServerResponse } from 'node:http';
import { sendJson } from '../http/respond.js';
import { badRequest } from './errors.js';

/** A parsed `fields` selector: each key selects everything (`true`) or a nested selection. */
export type FieldSelection = ReadonlyMap<string, FieldSelection | true>;

const NAME = /[A-Za-z0-9_*]+/y;

/**
 * Parses the `fields` partial-response parameter of Google's JSON APIs:
 * `name,size`, `items(name,metadata/owner),nextPageToken`, `*`.
 * @throws {@link GcsError} 400 `invalidParameter` for a malformed selector.
 */
export function parseFields(text: string): FieldSelection {
  const fail = (): never => {
    throw badRequest(`Invalid field selection ${text}`, 'invalidParameter');
  };
  let at = 0;
  const list = (): Map<string, FieldSelection | true> => {
    const selection = new Map<string, FieldSelection | true>();
    for (;;) {
      const path: string[] = [];
      for (;;) {
        NAME.lastIndex = at;
        const match = NAME.exec(text);
        if (match === null) return fail();
        path.push(match[0]);
        at = NAME.lastIndex;
        if (text.charAt(at) !== '/') break;
        at += 1;
      }
      let leaf: FieldSelection | true = true;
      if (text.charAt(at) === '(') {
        at += 1;
        leaf = list();
        if (text.charAt(at) !== ')') fail();
        at += 1;
      }
      merge(selection, path, leaf);
      if (text.charAt(at) !== ',') return selection;
      at += 1;
    }
  };
  const selection = list();
  if (at !== text.length) fail();
  return selection;
}

function merge(
  selection: Map<string, FieldSelection | true>,
  path: readonly string[],
  leaf: FieldSelection | true,
): void {
  const [head, ...rest] = path;
  if (head === undefined) return;
  const existing = selection.get(head);
  if (rest.length === 0) {
    if (existing === undefined || leaf === true) selection.set(head, leaf);
    else if (existing !== true)
      for (const [k, v] of leaf) merge(existing as Map<string, FieldSelection | true>, [k], v);
    return;
  }
  if (existing === true) return;
  const child = existing ?? new Map<string, FieldSelection | true>();
  selection.set(head, child);
  merge(child as Map<string, FieldSelection | true>, rest, leaf);
}

/** Keeps only the selected parts of a JSON value (arrays: of each element). */
export function applyFields(value: unknown, selection: FieldSelection): unknown {
  if (Array.isArray(value)) return value.map((item: unknown) => applyFields(item, selection));
  if (typeof value !== 'object' || value === null) return value;
  const source = value as Record<string, unknown>;
  const result: Record<string, unknown> = {};
  for (const [key, sub] of selection) {
    const keys = key === '*' ? Object.keys(source) : [key];
    for (const name of keys) {
      if (source[name] === undefined) continue;
      result[name] = sub === true ? source[name] : applyFields(source[name], sub);
    }
  }
  return result;
}

const selections = new WeakMap<ServerResponse, FieldSelection>();

/** Remembers the request's `fields` selection for the JSON resource this response will carry. */
export function selectFields(response: ServerResponse, url: URL): void {
  const fields = url.searchParams.get('fields');
  if (fields !== null && fields !== '') selections.set(response, parseFields(fields));
}

/** Sends a JSON resource, trimmed to the request's `fields` selection if it had one. */
export function sendResource(response: ServerResponse, status: number, body: unknown): void {
  const selection = selections.get(response);
  sendJson(response, status, selection === undefined ? body : applyFields(body, selection));
}
