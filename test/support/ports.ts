/** Loopback ports for the servers a test, a benchmark or the demo starts (and for none: a port nothing listens on). */
import net from 'node:net';

/** A loopback port free right now: the system picks one, the probe lets it go. */
export async function freePort(): Promise<number> {
	return await new Promise((resolve, reject) => {
		const server = net.createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const { port } = server.address() as net.AddressInfo;
			server.close(() => resolve(port));
		});
	});
}

/** Until something accepts connections on the port. */
export async function waitForPort(port: number, host = '127.0.0.1', timeoutMs = 60_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		const open = await new Promise<boolean>((resolve) => {
			const socket = net.connect(port, host);
			socket.once('connect', () => (socket.destroy(), resolve(true)));
			socket.once('error', () => resolve(false));
		});
		if (open) return;
		await new Promise((resolve) => setTimeout(resolve, 250));
	}
	throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
}
