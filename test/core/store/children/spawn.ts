import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..', '..');
/** Transpiles the child's TypeScript on require, as ts-jest does for the tests. */
export const REGISTER_TS = join(ROOT, 'scripts', 'register-ts.js');

/** A child process on the same Node as the test, running a TypeScript file of this folder. */
export function spawnChild(script: string, args: string[]): { child: ChildProcess; lines: string[]; exited: Promise<{ code: number | null; signal: string | null; stderr: string }> } {
	const child = spawn(process.execPath, [REGISTER_TS, join(__dirname, script), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
	const lines: string[] = [];
	let pending = '';
	let stderr = '';
	child.stdout!.on('data', (chunk: Buffer) => {
		pending += chunk.toString();
		const parts = pending.split('\n');
		pending = parts.pop()!;
		lines.push(...parts);
	});
	child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
	const exited = new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve) =>
		child.on('exit', (code, signal) => resolve({ code, signal, stderr })),
	);
	return { child, lines, exited };
}

/** Waits until the child has printed `count` lines (bounded: fails after timeoutMs). */
export async function waitForLines(lines: string[], count: number, timeoutMs: number): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (lines.length < count) {
		if (Date.now() > deadline) throw new Error(`child printed ${lines.length} of ${count} lines within ${timeoutMs} ms`);
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}
