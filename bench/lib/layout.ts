/**
 * How the broker's roles are spread over processes on the one machine (`--layout`):
 *
 * - `one`: every role in one process, what `npm start` runs.
 * - `split`: `HOOKLINE_ROLES=api,router` in one process and `dispatcher` in another (`npm run start:api`-style
 *   processes, the same entry point), so publishing and fan-out never share an event loop with delivery.
 * - `two-dispatchers`: every role in one process plus a second process with only the dispatcher; the two
 *   dispatchers share the durable consumer, as replicas do.
 *
 * The first process serves the API; the others are its companions (BrokerProcess.addCompanion), so CPU,
 * memory and warnings are summed over all of them and stopping it stops them all.
 */
import { BrokerProcess, type BrokerOptions, type Installation } from './broker.js';

export const LAYOUTS = ['one', 'split', 'two-dispatchers'] as const;
export type Layout = (typeof LAYOUTS)[number];

export function parseLayout(value: string | undefined): Layout {
  const layout = (value ?? 'one') as Layout;
  if (!LAYOUTS.includes(layout)) throw new Error(`--layout takes one of ${LAYOUTS.join(', ')}; got ${value}`);
  return layout;
}

/** The roles of each process of a layout, the API's process first. */
export function rolesOf(layout: Layout): string[] {
  switch (layout) {
    case 'one':
      return ['api,router,dispatcher'];
    case 'split':
      return ['api,router', 'dispatcher'];
    case 'two-dispatchers':
      return ['api,router,dispatcher', 'dispatcher'];
  }
}

/** Dispatcher processes a layout runs (figure A drains its backlog with that many). */
export function dispatchersOf(layout: Layout): number {
  return rolesOf(layout).filter((r) => r.includes('dispatcher')).length;
}

/** Starts a whole broker in `layout` on `inst`; the API's process is returned, the others are its companions. */
export async function startBroker(inst: Installation, opts: BrokerOptions, layout: Layout): Promise<BrokerProcess> {
  const [first, ...rest] = rolesOf(layout);
  const broker = await BrokerProcess.start(inst, { ...opts, roles: first });
  try {
    for (const roles of rest) broker.addCompanion(await BrokerProcess.start(inst, { ...opts, roles }));
  } catch (err) {
    await broker.stop();
    throw err;
  }
  return broker;
}
