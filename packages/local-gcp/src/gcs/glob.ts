import { badRequest } from './errors.js';

/**
 * Compiles a GCS `matchGlob` pattern: `*` is any run of characters except `/`, `**` any run
 * including `/` (a `**` followed by `/` may also match nothing), `?` one character except `/`, `[abc]` /
 * `[!abc]` a class, `{a,b}` alternatives, `\` escapes the next character.
 */
export function compileGlob(pattern: string): RegExp {
  let source = '';
  let braceDepth = 0;
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] as string;
    if (char === '\\') {
      source += escape(pattern[i + 1] ?? '\\');
      i++;
    } else if (char === '*') {
      if (pattern[i + 1] === '*') {
        if (pattern[i + 2] === '/') {
          source += '(?:.*/)?';
          i += 2;
        } else {
          source += '.*';
          i++;
        }
      } else {
        source += '[^/]*';
      }
    } else if (char === '?') {
      source += '[^/]';
    } else if (char === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) throw badRequest(`Invalid matchGlob: ${pattern}`);
      let body = pattern.slice(i + 1, close);
      const negate = body.startsWith('!');
      if (negate) body = body.slice(1);
      source += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = close;
    } else if (char === '{') {
      source += '(?:';
      braceDepth++;
    } else if (char === '}' && braceDepth > 0) {
      source += ')';
      braceDepth--;
    } else if (char === ',' && braceDepth > 0) {
      source += '|';
    } else {
      source += escape(char);
    }
  }
  if (braceDepth !== 0) throw badRequest(`Invalid matchGlob: ${pattern}`);
  return new RegExp(`^${source}$`, 's');
}

function escape(char: string): string {
  return char.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
