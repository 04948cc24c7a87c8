// A TCP proxy in front of the test broker that cuts a connection as soon as the
// client sends a marker, the way a broker drops a client whose packet it refuses:
// it stands for every refusal the daemon cannot foresee.
import { createServer, Server, Socket, connect } from 'node:net';

export interface CuttingProxy {
  url: string;
  /** Connections cut so far. */
  readonly cuts: number;
  close(): Promise<void>;
}

export async function startCuttingProxy(targetPort: number, marker: Buffer): Promise<CuttingProxy> {
  const sockets = new Set<Socket>();
  let cuts = 0;
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    let tail = Buffer.alloc(0);
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (d: Buffer) => {
      // the tail of the last chunk, so a marker split across chunks is seen too
      const seen = Buffer.concat([tail, d]);
      if (seen.includes(marker)) {
        cuts++;
        return cut();
      }
      tail = seen.subarray(Math.max(0, seen.length - marker.length));
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => client.write(d));
    for (const s of [client, upstream]) {
      s.on('error', cut);
      s.on('close', () => {
        sockets.delete(s);
        cut();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    get cuts() {
      return cuts;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
