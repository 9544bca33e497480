/**
 * The server-side island registry: routes import islands only from here. Each export renders
 * its component inside a `data-island` wrapper that client/boot.ts hydrates; client/islands.ts
 * must list the same names (tests/admin/islands_test.ts checks both against this folder).
 *
 * @module
 */
import { island } from "./_island.tsx";
import LiveConnectionsImpl, { type LiveConnectionsProps } from "./LiveConnections.tsx";

/** Live connection list (polls the connections JSON endpoint). */
export const LiveConnections = island<LiveConnectionsProps>("LiveConnections", LiveConnectionsImpl);
