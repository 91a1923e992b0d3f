/** What both IMAP benchmarks share: the APPEND client in a child process and the percentile of a latency list. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

/**
 * APPENDs from a child process, so that the delivering client does not share the event loop (and CPU time
 * slices) with the trigger under test. Resolves with each message's APPEND time, by subject ("tag n").
 * perSecond: a rate, 'burst' (back to back, then "signal 1"), or 'fill' (back to back, no signal).
 */
export async function appendFromChild(port: number, user: string, pass: string, folder: string, tag: string, count: number, perSecond: number | 'burst' | 'fill'): Promise<Map<string, number>> {
	const script = `
const { ImapFlow } = require('imapflow');
const [port, user, pass, folder, tag, count, perSecond] = process.argv.slice(1);
const client = new ImapFlow({ host: '127.0.0.1', port: Number(port), secure: false, auth: { user, pass }, logger: false });
const line = 'lorem ipsum dolor sit amet '.repeat(3) + '\\r\\n';
const paced = perSecond !== 'burst' && perSecond !== 'fill';
function message(t, n) {
	const head = ['From: Customer ' + n + ' <customer' + n + '@customer.example>', 'To: support@example.test', 'Subject: ' + t + ' ' + n,
		'Message-ID: <' + t + '-' + n + '@customer.example>', 'Date: ' + new Date().toUTCString(), 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8'].join('\\r\\n');
	return Buffer.from(head + '\\r\\n\\r\\n' + line.repeat(Math.ceil((5 * 1024 - head.length) / line.length)));
}
(async () => {
	await client.connect();
	const send = async (t, n) => { const at = Date.now(); await client.append(folder, message(t, n)); process.stdout.write(t + ' ' + n + '\\t' + at + '\\n'); };
	for (let n = 1; n <= Number(count); n++) {
		await send(tag, n);
		if (paced) await new Promise((r) => setTimeout(r, 1000 / Number(perSecond)));
	}
	if (perSecond === 'burst') await send('signal', 1);
	await client.logout();
})().catch((e) => { console.error(e); process.exit(1); });`;
	const child = spawn(process.execPath, ['-e', script, String(port), user, pass, folder, tag, String(count), String(perSecond)], {
		cwd: join(__dirname, '..'),
		stdio: ['ignore', 'pipe', 'inherit'],
	});
	const times = new Map<string, number>();
	let buffered = '';
	child.stdout.on('data', (chunk: Buffer) => {
		buffered += chunk.toString();
		const lines = buffered.split('\n');
		buffered = lines.pop() ?? '';
		for (const entry of lines) {
			const [subject, at] = entry.split('\t');
			times.set(subject, Number(at));
		}
	});
	const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
	if (code !== 0) throw new Error(`the APPEND client failed (exit ${code})`);
	return times;
}

export function percentile(sorted: number[], p: number): number {
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
