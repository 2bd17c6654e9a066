// What the JS wrappers (system.mjs, scheduler.mjs) share.

/**
 * A new module[className] (a native object behind Embind), initialised with config. A refused
 * configuration frees it again and throws TypeError(`${call}: ${reason}`).
 */
export function createNative(module, className, config, call) {
  const native = new module[className]();
  const r = native.init(config);
  if (!r.ok) {
    native.delete();
    throw new TypeError(`${call}: ${r.error}`);
  }
  return native;
}
