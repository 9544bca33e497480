/**
 * The browser-side island registry: name → raw component, the same names as islands/mod.ts.
 *
 * @module
 */
import type { ComponentType } from "preact";
import LiveConnections from "../islands/LiveConnections.tsx";

/** Every island the browser can hydrate. */
// deno-lint-ignore no-explicit-any
export const ISLANDS: Record<string, ComponentType<any>> = {
  LiveConnections,
};
