/**
 * Lane 2's network cable to the database: a small TCP proxy on 127.0.0.1 that
 * the demo can pull out (every connection reset, new ones refused) and plug
 * back in. Lane 2 connects to the proxy, the proxy to PostgreSQL; nothing
 * else in the demo goes through it (the card processor stays reachable, as a
 * PIN pad with its own 4G link would).
 */
import net from 'node:net';

export interface Cable {
  /** Where lane 2 connects instead of the database. */
  readonly port: number;
  /** Pull the cable: reset every open connection and refuse new ones. */
  unplug(): void;
  /** Plug it back in: new connections go through again. */
  plugIn(): void;
  close(): Promise<void>;
}

export async function startCable(target: { host: string; port: number }): Promise<Cable> {
  let plugged = true;
  const open = new Set<net.Socket>();
  const reset = (socket: net.Socket) => {
    if (!socket.destroyed) socket.resetAndDestroy();
  };
  const track = (socket: net.Socket) => {
    open.add(socket);
    socket.on('error', () => {}); // a reset is the point of the exercise
    socket.on('close', () => open.delete(socket));
  };

  const server = net.createServer((client) => {
    track(client);
    if (!plugged) return reset(client);
    const upstream = net.connect(target);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    // Either side going away takes the other with it.
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;

  return {
    port,
    unplug() {
      plugged = false;
      for (const socket of open) reset(socket);
    },
    plugIn() {
      plugged = true;
    },
    async close() {
      plugged = false;
      for (const socket of open) reset(socket);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
