/**
 * What a keyfob instance keeps to itself, for the library's own modules that work on an
 * instance from outside it (the agent tools' executor): its context and token memo. Kept in a
 * WeakMap keyed by the instance object, so nothing of it shows on the public object and an
 * instance that is dropped takes its entry with it.
 */
import type { InstanceContext } from './context.js';
import type { TokenMemo } from './token-memo.js';

/** The inside of an instance {@link createKeyfob} made. */
export interface InstanceInternals {
  readonly ctx: InstanceContext;
  readonly memo: TokenMemo;
}

const internals = new WeakMap<object, InstanceInternals>();

/** Records the inside of `instance` (called once, by `createKeyfob`). */
export function registerInternals(instance: object, inside: InstanceInternals): void {
  internals.set(instance, inside);
}

/** The inside of an instance `createKeyfob` made, or `undefined` for any other object. */
export function internalsOf(instance: object): InstanceInternals | undefined {
  return internals.get(instance);
}
