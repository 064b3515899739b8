/** True when a value that may be a promise is one (a transformer may answer synchronously). */
export function isPromise<V>(value: V | Promise<V>): value is Promise<V> {
  return typeof (value as { then?: unknown }).then === 'function';
}
