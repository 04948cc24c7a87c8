// The embedded broker: aedes on a local TCP port when the config names no broker,
// so `npm start` works on a laptop with nothing installed. aedes speaks MQTT 3.1.1,
// so the daemon's client falls back to 3.1.1 against it.
import { AddressInfo, createServer, Server, Socket } from 'node:net';
import { pathToFileURL } from 'node:url';

type AedesModule = { Aedes: { createBroker(opts?: object): Promise<AedesBroker> } };

// aedes is an ES module. This project compiles to CommonJS, where TypeScript turns
// import() into require(), which loads ES modules only from Node 20.19 on; a real
// import() of the resolved file works on every Node 20.
const importModule = new Function('url', 'return import(url)') as (url: string) => Promise<AedesModule>;
const loadAedes = (): Promise<AedesModule> => importModule(pathToFileURL(require.resolve('aedes')).href);

interface AedesBroker {
  handle: (stream: Socket) => void;
  close(cb?: () => void): void;
}

export interface EmbeddedBroker {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startEmbeddedBroker(host: string, port: number): Promise<EmbeddedBroker> {
  const { Aedes } = await loadAedes();
  const aedes = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    aedes.handle(s);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(`embedded broker cannot listen on ${host}:${port}: ${e.code === 'EADDRINUSE' ? 'the port is in use (set embeddedBroker.port, or broker.url for an external broker)' : e.message}`)),
    );
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `mqtt://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => aedes.close(() => resolve()));
      }),
  };
}
