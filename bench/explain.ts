/**
 * Explain-pipeline cost against its floor, bare mailparser + mailauth on the same bytes.
 * Run: npm run bench:explain   (prints throughput for 5 KB and 1 MB, peak memory growth for 30 MB, and ratios)
 */
import { randomBytes } from 'node:crypto';
import { authenticate } from 'mailauth';
import { simpleParser } from 'mailparser';

import { zoneResolver } from '../core/dns';
import { runChecks } from '../core/intake/pipeline';
import { compose, sign, testInbox, testWorld } from '../test/fixtures/mail';

const world = testWorld();
const resolver = zoneResolver(world.zone);
// The limit is raised so the 30 MB case measures parsing, not the size rejection.
const inbox = testInbox({ maxMessageBytes: 64 * 1024 * 1024 });
const envelope = { clientIp: '198.51.100.7', helo: 'mx.customer.test', mailFrom: 'carol@customer.test' };

async function message(bytes: number): Promise<Buffer> {
	const text = 'Hello, my order has not arrived yet. '.repeat(Math.max(1, Math.floor(Math.min(bytes, 4000) / 38)));
	const attachment = bytes > 8000 ? [{ filename: 'scan.pdf', content: randomBytes(Math.floor((bytes - 6000) * 0.74)) }] : [];
	return await sign(await compose({ from: 'Carol <carol@customer.test>', to: inbox.address, subject: 'Order', text, attachments: attachment }), world.customer);
}

const floor = async (raw: Buffer) => {
	await simpleParser(raw);
	await authenticate(raw, { resolver, ip: envelope.clientIp, helo: envelope.helo, sender: envelope.mailFrom, mta: 'mx.inbox.example.test' });
};
const pipeline = async (raw: Buffer) => {
	await runChecks(raw, { inbox, resolver, envelope });
};

async function throughput(fn: (raw: Buffer) => Promise<void>, raw: Buffer, seconds: number): Promise<number> {
	for (let i = 0; i < 3; i++) await fn(raw);
	let n = 0;
	const start = process.hrtime.bigint();
	const end = start + BigInt(Math.round(seconds * 1e9));
	while (process.hrtime.bigint() < end) {
		await fn(raw);
		n++;
	}
	return n / (Number(process.hrtime.bigint() - start) / 1e9);
}

async function peakGrowth(fn: (raw: Buffer) => Promise<void>, raw: Buffer): Promise<number> {
	global.gc?.();
	const base = process.memoryUsage().rss;
	let peak = base;
	const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
	await fn(raw);
	clearInterval(timer);
	peak = Math.max(peak, process.memoryUsage().rss);
	return peak - base;
}

async function main(): Promise<void> {
	const out = (line: string) => process.stdout.write(`${line}\n`);
	for (const [label, size, seconds] of [['5 KB', 5 * 1024, 3], ['1 MB', 1024 * 1024, 5]] as const) {
		const raw = await message(size);
		const bare = await throughput(floor, raw, seconds);
		const ours = await throughput(pipeline, raw, seconds);
		out(`${label} (${raw.length} bytes): bare ${bare.toFixed(1)} msg/s, pipeline ${ours.toFixed(1)} msg/s, cost ratio ${(bare / ours).toFixed(2)}x`);
	}
	const big = await message(30 * 1024 * 1024 - 64 * 1024);
	// Each measured twice, alternating, to soften allocator warm-up effects; the lower of each is reported.
	const bareMem = Math.min(await peakGrowth(floor, big), await peakGrowth(floor, big));
	const oursMem = Math.min(await peakGrowth(pipeline, big), await peakGrowth(pipeline, big));
	out(`30 MB (${big.length} bytes): peak RSS growth bare ${(bareMem / 1048576).toFixed(1)} MB, pipeline ${(oursMem / 1048576).toFixed(1)} MB, ratio ${(oursMem / Math.max(bareMem, 1)).toFixed(2)}x`);
}

void main();
