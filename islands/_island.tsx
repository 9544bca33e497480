/**
 * Wraps an island component for server rendering: the markup the component renders, inside a
 * `<div data-island="Name" data-props="…">` that client/boot.ts hydrates with the same props.
 * Props must be JSON-serializable (no functions, no JSX); preact-render-to-string escapes the
 * attribute, so props cannot inject markup.
 *
 * @module
 */
import type { ComponentType, JSX } from "preact";

/** A server-side island: renders `C` and marks it for hydration under `name`. */
export function island<P extends object>(
  name: string,
  C: ComponentType<P>,
): (props: P) => JSX.Element {
  function Island(props: P) {
    return (
      <div data-island={name} data-props={JSON.stringify(props)}>
        <C {...props} />
      </div>
    );
  }
  Island.displayName = `Island(${name})`;
  Island.islandName = name;
  return Island;
}
