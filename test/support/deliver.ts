/**
 * `hosted-inbox deliver` as an MTA runs it: a child process on the same Node as the test, the message on its stdin,
 * and a recording HTTP server on loopback for it to post to.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');
/** Transpiles the CLI's TypeScript on require, as ts-jest does for the tests. */
export const REGISTER_TS = join(ROOT, 'scripts', 'register-ts.js');
export const CLI = join(ROOT, 'cli', 'hosted-inbox.ts');

export interface DeliverRun {
	child: ChildProcess;
	/** What it printed on stdout so far. */
	stdout(): string;
	exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Starts `hosted-inbox deliver ARGS`; the caller writes the message to child.stdin. */
export function startDeliver(args: string[]): DeliverRun {
	const child = spawn(process.execPath, ['-r', REGISTER_TS, CLI, 'deliver', ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
	let stdout = '';
	let stderr = '';
	child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
	child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
	// An early answer may leave the child gone before the test wrote everything: that is the child's business.
	child.stdin!.on('error', () => undefined);
	const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
	return { child, stdout: () => stdout, exited };
}

/** `hosted-inbox deliver ARGS < message`. */
export async function deliver(args: string[], message: Buffer): Promise<{ code: number | null; stdout: string; stderr: string }> {
	const run = startDeliver(args);
	run.child.stdin!.end(message);
	return await run.exited;
}

/** A token file as an admin writes one (with its trailing newline). */
export function tokenFile(token: string): string {
	const dir = mkdtempSync(join(tmpdir(), 'hi-deliver-token-'));
	// Readable by the user an MTA runs the command as (a test token: no secret).
	chmodSync(dir, 0o755);
	const path = join(dir, 'token');
	writeFileSync(path, `${token}\n`, { mode: 0o644 });
	return path;
}

export interface Posted {
	method: string;
	url: string;
	headers: http.IncomingHttpHeaders;
	rawHeaders: string[];
	body: Buffer;
}

/** A node:http server on 127.0.0.1 answering each request with `handle`; it records what was posted. */
export async function startServer(handle: (request: http.IncomingMessage, response: http.ServerResponse) => void): Promise<{ url: string; server: http.Server; close(): Promise<void> }> {
	const server = http.createServer(handle);
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}`,
		server,
		close: async () => {
			server.closeAllConnections();
			await new Promise((resolve) => server.close(resolve));
		},
	};
}

/** Reads a request's body whole (the test's side: the CLI never holds a message whole). */
export async function readBody(request: http.IncomingMessage): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of request) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks);
}

/** A door that answers as the HTTP door does: a JSON body with the SMTP reply, and the HTTP status of its kind. */
export function answer(response: http.ServerResponse, status: number, reply: string, extra: Record<string, string> = {}): void {
	response.writeHead(status, { 'Content-Type': 'application/json', ...extra });
	response.end(JSON.stringify({ status: status < 300 ? 'accepted' : status === 503 ? 'try-again' : 'refused', reply }));
}

/** A server recording each post, answering each with `respond` once the body is read. */
export async function door(respond: (response: http.ServerResponse, posted: Posted) => void): Promise<Awaited<ReturnType<typeof startServer>> & { posts: Posted[] }> {
	const posts: Posted[] = [];
	const server = await startServer(async (request, response) => {
		const posted = { method: request.method!, url: request.url!, headers: request.headers, rawHeaders: request.rawHeaders, body: await readBody(request) };
		posts.push(posted);
		respond(response, posted);
	});
	return { ...server, posts };
}
