import { execFileSync } from 'node:child_process';

/**
 * A network namespace of the test's own, joined to this one by a veth pair:
 * a till on a network of its own, whose link the test can pull (a Wi-Fi
 * that drops, a cable pulled) so that packets vanish without a reset, which
 * no proxy in user space can do to the server's own socket. Root only, and
 * `ip` (iproute2); loopback addresses of a private /30 only.
 */
export interface NetworkNamespace {
  /** For `ip netns exec <name> …`. */
  readonly name: string;
  /** This side's address: a server listening on it is reached from the namespace through the link. */
  readonly hostAddress: string;
  /** The namespace's own address, as the server sees its clients (`client_addr`). */
  readonly address: string;
  /** The command prefix that runs a program inside the namespace. */
  readonly exec: readonly string[];
  /** Pulls the link on the namespace's side: whatever is sent either way vanishes, nothing is reset. */
  pull(): void;
  /** Plugs it back. */
  plug(): void;
  remove(): void;
}

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** A namespace and link named after this process; `subnet` (0–255) keeps concurrent test files apart. */
export function networkNamespace(subnet: number): NetworkNamespace {
  const name = `pdg${process.pid}`;
  const [outside, inside] = [`pdgo${process.pid}`.slice(0, 15), `pdgi${process.pid}`.slice(0, 15)];
  const hostAddress = `10.231.${subnet}.1`;
  const address = `10.231.${subnet}.2`;
  ip('netns', 'add', name);
  try {
    ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
    ip('link', 'set', inside, 'netns', name);
    ip('addr', 'add', `${hostAddress}/30`, 'dev', outside);
    ip('link', 'set', outside, 'up');
    ip('netns', 'exec', name, 'ip', 'addr', 'add', `${address}/30`, 'dev', inside);
    ip('netns', 'exec', name, 'ip', 'link', 'set', inside, 'up');
    ip('netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up');
  } catch (error) {
    remove();
    throw error;
  }
  function remove(): void {
    try {
      ip('link', 'del', outside);
    } catch {
      // Gone with the namespace already.
    }
    try {
      ip('netns', 'del', name);
    } catch {
      // Not there.
    }
  }
  return {
    name,
    hostAddress,
    address,
    exec: ['ip', 'netns', 'exec', name],
    pull: () => ip('netns', 'exec', name, 'ip', 'link', 'set', inside, 'down'),
    plug: () => ip('netns', 'exec', name, 'ip', 'link', 'set', inside, 'up'),
    remove,
  };
}
