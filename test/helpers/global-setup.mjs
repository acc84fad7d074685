// Jest loads global setup natively, without the test transform: tsx loads the TypeScript behind it.
import { tsImport } from 'tsx/esm/api';

export default async function globalSetup() {
  const { startTestServers } = await tsImport('./test-servers.ts', import.meta.url);
  await startTestServers();
}
