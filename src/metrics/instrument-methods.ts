/** A method of an object, called with the object as `this`. */
export type Method = (...args: unknown[]) => unknown;

/**
 * A view of `target` whose methods `wrap` may replace (`wrap` returns the replacement, or undefined to keep the
 * method). Everything else, including methods added to the interface later, passes through unchanged: the
 * decorators need not change when a store gains an operation, and cannot silently drop one.
 */
export function instrumentMethods<T extends object>(
  target: T,
  wrap: (name: string, method: Method) => Method | undefined,
): T {
  const wrapped = new Map<PropertyKey, Method | undefined>();
  return new Proxy(target, {
    get(object, property) {
      const value = Reflect.get(object, property);
      if (typeof value !== "function" || typeof property !== "string") return value;
      if (!wrapped.has(property)) {
        const method = value.bind(object) as Method;
        wrapped.set(property, wrap(property, method) ?? method);
      }
      return wrapped.get(property);
    },
  });
}
