/** One screen on getting `nats-server`, shown when none answers and none is installed. */
export function natsInstallHelp(host: string, port: number): string {
  return `Hookline needs NATS with JetStream. Nothing answers on ${host}:${port}, NATS_URL is not set, and
nats-server is not installed (looked on PATH and in /usr/sbin). Install it, then run npm start again:

  Debian/Ubuntu   sudo apt-get install nats-server
  macOS           brew install nats-server
  Docker          docker run -d --name nats -p 127.0.0.1:${port}:4222 nats:2.10 -js
  Other systems   https://docs.nats.io/running-a-nats-service/introduction/installation

Once nats-server is installed, npm start runs it itself (JetStream on, data in .hookline/nats, 127.0.0.1 only).
A server already running on ${host}:${port} (Docker's, say) is used as it is. Or point NATS_URL at any NATS
server with JetStream. docker compose up (compose.yaml) runs NATS, PostgreSQL and Hookline together.
`;
}
