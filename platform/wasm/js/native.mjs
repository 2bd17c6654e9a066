// What the JS wrappers (system.mjs, scheduler.mjs) share.

/**
 * A new module[className] (a native object behind Embind), initialised with config. A refused
 * configuration frees it again and throws `${call}: ${reason}` as a TypeError, a RangeError
 * (the native refusal says range: a number out of bounds) or, for what is not the caller's
 * mistake (backpressure: no room for it now; or a failure), an Error.
 */
export function createNative(module, className, config, call) {
  const native = new module[className]();
  const r = native.init(config);
  if (!r.ok) {
    native.delete();
    const message = `${call}: ${r.error}`;
    if (r.range) throw new RangeError(message);
    if (r.backpressure || r.failure) throw new Error(message);
    throw new TypeError(message);
  }
  return native;
}
