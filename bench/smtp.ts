/**
 * SMTP intake benchmark (npm run bench:smtp): the hosted inbox listener (security checks, durable spool before the
 * 250, spool completion) against the floor, bare smtp-server + mailparser + mailauth doing the same parsing and
 * authentication without a spool, in the same run. Each server runs in its own child process so RSS is its own.
 * Reports accepted messages/s for 5 KB messages over 10 parallel connections (both servers up and warmed, bursts
 * taking turns between them) and each side's CPU a message (its server's, and the client's beside it), peak
 * RSS growth and the longest event-loop stall for one 30 MB message, and peak RSS growth for 10 messages of 28 MB at
 * once (fails unless all 10 are answered 250).
 * For scale, the floor is also run keeping each message on disk before its 250, as a mail server must (the floor
 * itself keeps nothing): in a file of its own, as Postfix's cleanup writes a queue file, and appended to one file
 * flushed a group at a time, the least a durable 250 can cost.
 * Ends with one line:
 * `smtp bench: throughput X.XXx floor, 30 MB peak RSS growth Y.YYx message size, 10 x 28 MB concurrent peak RSS growth Z MB`.
 * Targets (#18): >= 0.8x the floor's throughput; 30 MB growth <= 1.5x its size; 10 x 28 MB <= 400 MB.
 * Store: BENCH_STORE (a path or postgres:// URL); default the embedded store where node:sqlite exists, else the local PostgreSQL.
 * Everything the servers write goes in one folder, removed when the run ends.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { authenticate } from 'mailauth';
import { simpleParser } from 'mailparser';
import { createTransport } from 'nodemailer';
import { SMTPServer } from 'smtp-server';

import { spooledBytes } from '../core/spool/spool';
import { zoneResolver } from '../core/dns';
import { parseInboxConfig } from '../core/inbox';
import { buildIntakeEmission } from '../core/workflow-delivery/emission';
import { SpoolDelivery } from '../core/workflow-delivery/spool-delivery';
import { runOfSpooled } from '../core/intake/door';
import { readAttachments } from '../core/intake/pipeline';
import type { DecidedMessage } from '../core/intake/types';
import type { SpoolEntry } from '../core/store/types';
import { createSmtpDoor } from '../core/smtp/door';
import { attachHostedInbox, clientAddress, DEFAULT_LISTENER_SETTINGS } from '../core/smtp/listener';
import { embeddedEngineAvailable, openStore, parseStoreArg, type StoreOptions } from '../core/store/open';
import { scratchFolder } from './scratch';
import { freePort } from '../test/support/ports';
import { dropSchema, TEST_PG_URL } from '../test/support/stores';

const ADDRESS = 'support@inbox.example.test';
const resolver = zoneResolver({});
const MB = 1024 * 1024;
/** Messages each server gets before any burst is measured. */
const SERVER_WARMUP_MESSAGES = 1000;
/**
 * Bursts each side gets, taking turns (of BENCH_MESSAGES each, default 300). The machine's pace drifts by a third
 * within a minute (other work on it): three rounds of 1,000 a side on fresh servers gave medians from 0.62x to 0.81x
 * for one build; short bursts taking turns put both sides under the same drift (0.72x and 0.73x in two runs).
 */
const BURSTS = 20;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * The run's folder (the parent's, handed to its children): stores, attachments and queue files, removed by whoever
 * made it, the run or a server child started by hand.
 */
function runFolder(): string {
	process.env.BENCH_RUN_FOLDER ??= scratchFolder('hi-bench-');
	return process.env.BENCH_RUN_FOLDER;
}

/** The store ours runs on: BENCH_STORE's, else the embedded store where node:sqlite exists, else the local PostgreSQL. */
function storeEngine(): StoreOptions['engine'] {
	if (process.env.BENCH_STORE) return parseStoreArg(process.env.BENCH_STORE).engine;
	return embeddedEngineAvailable().ok ? 'sqlite' : 'postgres';
}

function storeOptions(): StoreOptions {
	if (process.env.BENCH_STORE) return parseStoreArg(process.env.BENCH_STORE);
	if (storeEngine() === 'sqlite') return { engine: 'sqlite', path: join(mkdtempSync(join(runFolder(), 'store-')), 'bench.sqlite') };
	// A server child the run started uses the schema the run named (and drops); one started by hand names and drops its own.
	const schema = process.env.BENCH_PG_SCHEMA ?? `hi_bench_${randomBytes(4).toString('hex')}`;
	if (!process.env.BENCH_PG_SCHEMA) runSchemas.push(schema);
	return { engine: 'postgres', connectionString: TEST_PG_URL, schema };
}

/** smtp-server with nothing of ours, listening on `port`, each message handed to `onData`. */
async function bareServer(port: number, onData: NonNullable<ConstructorParameters<typeof SMTPServer>[0]>['onData']): Promise<void> {
	const server = new SMTPServer({ authOptional: true, disabledCommands: ['AUTH', 'STARTTLS'], disableReverseLookup: true, logger: false, size: 30 * MB, onData });
	await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
}

/** How a floor keeps each message before its 250. */
type Keeping = (raw: Buffer) => Promise<void>;

/** The floor: nothing kept. */
const keepNothing: Keeping = async () => undefined;

/** Each message in a file of its own, written and flushed before the 250, as Postfix's cleanup writes a queue file. */
function keepInQueueFiles(): Keeping {
	const folder = mkdtempSync(join(runFolder(), 'queue-'));
	let next = 0;
	return async (raw) => {
		const file = await open(join(folder, String(next++)), 'wx');
		try {
			await file.write(raw);
			await file.datasync();
		} finally {
			await file.close();
		}
	};
}

/**
 * Each message appended to one file, flushed a group at a time (the messages written while a flush runs share the
 * next): the least a durable 250 can cost, with nothing to find a message by.
 */
async function keepInFlushedLog(): Promise<Keeping> {
	const log = await open(join(mkdtempSync(join(runFolder(), 'log-')), 'log'), 'a');
	let waiting: Array<{ resolve(): void; reject(error: Error): void }> = [];
	let flushing = false;
	const flush = async () => {
		flushing = true;
		while (waiting.length) {
			const group = waiting;
			waiting = [];
			await log.datasync().then(
				() => group.forEach((each) => each.resolve()),
				(error: Error) => group.forEach((each) => each.reject(error)),
			);
		}
		flushing = false;
	};
	return async (raw) => {
		await log.write(raw);
		await new Promise<void>((resolve, reject) => {
			waiting.push({ resolve, reject });
			if (!flushing) void flush();
		});
	};
}

/** Child: the bare libraries doing the same parse + authenticate, answering 250 once `keep` has kept the message. */
async function runFloor(port: number, keep: Keeping = keepNothing): Promise<void> {
	await bareServer(port, (stream, session, callback) => {
		const chunks: Buffer[] = [];
		stream.on('data', (chunk: Buffer) => chunks.push(chunk));
		stream.on('end', () => {
			const raw = Buffer.concat(chunks);
			const mailFrom = session.envelope.mailFrom;
			Promise.all([
				simpleParser(raw),
				authenticate(raw, { ip: clientAddress(session) ?? undefined, helo: session.hostNameAppearsAs, sender: mailFrom ? mailFrom.address : '', mta: 'bench', resolver }),
			])
				.then(() => keep(raw))
				.then(
					() => callback(null, 'OK'),
					(error: Error) => callback(error),
				);
		});
	});
}

/** Child: smtp-server alone, reading each message to its end and dropping it: what receiving costs before any work. */
async function runReceiveOnly(port: number): Promise<void> {
	await bareServer(port, (stream, _session, callback) => {
		stream.on('end', () => callback(null, 'OK'));
		stream.resume();
	});
}

/** Child: the hosted inbox: pipeline, intake log, spool before the 250, emission (attachments stored as files) and completion. */
async function runOurs(port: number): Promise<void> {
	const store = await openStore(storeOptions());
	const inbox = parseInboxConfig({ address: ADDRESS });
	const { id: inboxId } = await store.registerInbox({ address: ADDRESS });
	const binaryData = mkdtempSync(join(runFolder(), 'binary-'));
	const emission = (run: DecidedMessage, entry: SpoolEntry) =>
		buildIntakeEmission(run.result, run.content, { inboxAddress: ADDRESS, via: 'smtp', receivedAt: run.receivedAt, message: spooledBytes(store, entry) });
	const delivery = new SpoolDelivery({
		store,
		inboxId,
		prepare: async (entry) => emission(await runOfSpooled(entry, spooledBytes(store, entry), inbox, resolver), entry),
		// What the trigger does with an emission before its workflow runs: each attachment read from the spool into a
		// file, as n8n's filesystem binary-data mode stores it. The workflow's own cost is not the listener's.
		deliver: async ({ message, attachments }) => {
			if (!message || !attachments.length) return;
			await readAttachments(message, async (attachment, index) => {
				const file = join(binaryData, `attachment-${index}`);
				await pipeline(attachment.content, createWriteStream(file));
				rmSync(file);
			});
		},
		onGiveUp: () => undefined,
		onError: (error) => process.stderr.write(`${error.message}\n`),
	});
	const receive = createSmtpDoor({
		store,
		inbox,
		inboxId,
		resolver,
		onSpooled: (entry, run) => delivery.submit(entry, emission(run, entry)),
	});
	await attachHostedInbox(
		{ ...DEFAULT_LISTENER_SETTINGS, host: '127.0.0.1', port, maxConnections: 50 },
		{ address: ADDRESS, maxMessageBytes: inbox.maxMessageBytes, receive },
	);
	delivery.start();
}

/** The servers this bench starts, each in a child of its own, by the mode it is started in. */
const SERVERS = {
	floor: (port: number) => runFloor(port),
	ours: runOurs,
	'receive-only': runReceiveOnly,
	'floor-queue-files': (port: number) => runFloor(port, keepInQueueFiles()),
	'floor-log': async (port: number) => runFloor(port, await keepInFlushedLog()),
};
type ServerMode = keyof typeof SERVERS;
const isServerMode = (mode: string): mode is ServerMode => Object.hasOwn(SERVERS, mode);

/**
 * Peak RSS since the last reset: the kernel's high-water mark (VmHWM, reset through clear_refs) where there is one, so
 * a peak between two samples is not missed; sampled every 10 ms elsewhere.
 */
function peakMeter(): { reset(): void; peak(): number } {
	const kernel = kernelPeak();
	if (kernel) return kernel;
	let peak = process.memoryUsage.rss();
	setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10).unref();
	return { reset: () => (peak = process.memoryUsage.rss()), peak: () => Math.max(peak, process.memoryUsage.rss()) };
}

function kernelPeak(): { reset(): void; peak(): number } | null {
	const highWaterMark = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) * 1024;
	const reset = () => writeFileSync('/proc/self/clear_refs', '5');
	try {
		reset();
		return Number.isFinite(highWaterMark()) ? { reset, peak: highWaterMark } : null;
	} catch {
		return null;
	}
}

/**
 * Children report on request: "rss" on stdin -> "rss <now> <peak> <stall>" on stdout: RSS now, its peak and the
 * longest event-loop stall (ms) since the last request. A stall holds up every session of the process (and, in n8n,
 * every workflow and webhook).
 */
function reportMemory(): void {
	const meter = peakMeter();
	const stalls = monitorEventLoopDelay({ resolution: 1 });
	stalls.enable();
	process.stdin.setEncoding('utf8');
	process.stdin.on('data', (line: string) => {
		if (line.trim() !== 'rss') return;
		process.stdout.write(`rss ${process.memoryUsage.rss()} ${meter.peak()} ${stalls.max / 1e6}\n`);
		meter.reset();
		stalls.reset();
	});
}

/**
 * Child: nothing kept at all, 300 MB of 64 KB buffers allocated and dropped (as any reader of a 30 MB message read
 * several times does): how much garbage this Node's collector lets pile up before it collects, the growth no design
 * that reads mail in Node can stay under without forcing a collection.
 */
async function runCollectorOnly(): Promise<void> {
	const meter = peakMeter();
	const idle = process.memoryUsage.rss();
	meter.reset();
	for (let i = 0; i < 4800; i++) {
		Buffer.allocUnsafeSlow(64 * 1024).fill(i);
		if (i % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
	}
	process.stdout.write(`${meter.peak() - idle}\n`);
}

// ---------------------------------------------------------------------------------------------------------------
// Parent

interface Server {
	port: number;
	rss(): Promise<{ now: number; peak: number; stallMs: number }>;
	/** The child's CPU time so far (user + system, every thread), in ms; null where /proc is missing. */
	cpuMs(): number | null;
	stop(): void;
}

/** The PostgreSQL schemas this process named (used where there is no node:sqlite), dropped when it ends. */
const runSchemas: string[] = [];

async function startServer(mode: ServerMode): Promise<Server> {
	const port = await freePort();
	const schema = `hi_bench_${randomBytes(4).toString('hex')}`;
	runSchemas.push(schema);
	const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1, 2), process.argv[2], mode, String(port)], {
		stdio: ['pipe', 'pipe', 'inherit'],
		env: { ...process.env, BENCH_PG_SCHEMA: schema },
	});
	const kill = () => child.kill('SIGKILL');
	process.once('exit', kill);
	let buffer = '';
	const waiters: Array<(line: string) => void> = [];
	child.stdout!.setEncoding('utf8');
	child.stdout!.on('data', (data: string) => {
		buffer += data;
		let nl;
		while ((nl = buffer.indexOf('\n')) >= 0) {
			const line = buffer.slice(0, nl);
			buffer = buffer.slice(nl + 1);
			waiters.shift()?.(line);
		}
	});
	const nextLine = () => new Promise<string>((resolve) => waiters.push(resolve));
	const ready = await nextLine();
	if (ready !== 'ready') throw new Error(`${mode} server did not start: ${ready}`);
	return {
		port,
		async rss() {
			child.stdin!.write('rss\n');
			const [, now, peak, stallMs] = (await nextLine()).split(' ').map(Number);
			return { now, peak, stallMs };
		},
		cpuMs() {
			try {
				// /proc/<pid>/stat: utime and stime are fields 14 and 15, in clock ticks (100 a second on Linux).
				const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
				return (Number(fields[11]) + Number(fields[12])) * 10;
			} catch {
				return null;
			}
		},
		stop: () => {
			process.off('exit', kill);
			kill();
		},
	};
}

function message5k(i: number): { from: string; to: string; subject: string; text: string; messageId: string } {
	return { from: `c${i}@customer.example`, to: ADDRESS, subject: `bench ${i}`, text: `${'Lorem ipsum dolor sit amet. '.repeat(175)}\n${i}`, messageId: `<bench-${i}-${randomBytes(4).toString('hex')}@customer.example>` };
}

/** A client's connections to a server: each keeps its SMTP session open from one message to the next. */
type Clients = Array<ReturnType<typeof createTransport>>;

function connect(port: number, connections: number): Clients {
	return Array.from({ length: connections }, () => createTransport({ host: '127.0.0.1', port, ignoreTLS: true, pool: true, maxConnections: 1, maxMessages: Infinity }));
}

/** Sends `total` messages over the clients' connections at once; resolves with the messages a second. */
async function throughput(clients: Clients, total: number): Promise<number> {
	let next = 0;
	const started = process.hrtime.bigint();
	await Promise.all(
		clients.map(async (transport) => {
			while (next < total) await transport.sendMail(message5k(next++));
		}),
	);
	return total / (Number(process.hrtime.bigint() - started) / 1e9);
}

/** `throughput` over connections of their own, closed after. */
async function throughputOnce(port: number, total: number, connections: number): Promise<number> {
	const clients = connect(port, connections);
	try {
		return await throughput(clients, total);
	} finally {
		clients.forEach((transport) => transport.close());
	}
}

function bigMessage(bytes: number, n = 0) {
	return {
		from: `big${n}@customer.example`,
		to: ADDRESS,
		subject: `big message ${n}`,
		text: 'see attachment',
		// base64 in 76-character lines grows by 78/57: the attachment is sized so the whole message is ~`bytes`.
		attachments: [{ filename: 'big.bin', content: randomBytes(Math.floor((bytes * 57) / 78) - 8192) }],
	};
}

/**
 * Peak RSS growth of the server while `count` messages of `bytes` arrive at once, how many got a 250, and its
 * longest event-loop stall meanwhile.
 */
async function peakGrowth(server: Server, bytes: number, count = 1): Promise<{ growth: number; accepted: number; stallMs: number }> {
	const messages = Array.from({ length: count }, (_, n) => bigMessage(bytes, n));
	const idle = await server.rss();
	const sent = await Promise.allSettled(
		messages.map(async (message) => {
			const transport = createTransport({ host: '127.0.0.1', port: server.port, ignoreTLS: true, socketTimeout: 600_000 });
			try {
				return await transport.sendMail(message);
			} finally {
				transport.close();
			}
		}),
	);
	// Let the emission and completion after the 250 run too.
	await new Promise((resolve) => setTimeout(resolve, 1500));
	const accepted = sent.filter((r) => r.status === 'fulfilled' && r.value.response.startsWith('250')).length;
	for (const r of sent) if (r.status === 'rejected') process.stderr.write(`not accepted: ${(r.reason as Error).message}\n`);
	const after = await server.rss();
	return { growth: after.peak - idle.now, accepted, stallMs: after.stallMs };
}

/** Resolves true when this process is a server child that keeps serving until it is killed. */
async function main(): Promise<boolean> {
	const [mode, port] = process.argv.slice(3);
	if (mode === 'collector-only') {
		await runCollectorOnly();
		return false;
	}
	if (isServerMode(mode)) {
		await SERVERS[mode](Number(port));
		reportMemory();
		// Started by hand and stopped with Ctrl-C, it still removes the folder it made and drops the schema it named.
		process.once('SIGINT', () => void dropRunSchemas().finally(() => process.exit(130)));
		process.stdout.write('ready\n');
		return true;
	}
	// Made before any child starts, so every child writes in it.
	runFolder();
	// Interrupted (Ctrl-C), the run still stops its children, removes its folder and drops its schemas.
	process.once('SIGINT', () => void dropRunSchemas().finally(() => process.exit(130)));
	const burstMessages = Number(process.env.BENCH_MESSAGES ?? 300);
	const total = BURSTS * burstMessages;
	// The client (nodemailer, in this process) warms up first, against a server that only receives: a client still
	// compiling its code is slower, which measured as the floor's first round 20% below its later ones.
	const warmup = await startServer('receive-only');
	await throughputOnce(warmup.port, 3000, 10);
	warmup.stop();
	// Both servers up, each warmed up (a listener runs for days, its code compiled; a burst spent mostly compiling would
	// measure V8's compiler threads more than the server), then bursts taking turns, the one not sending idle. Each
	// side's rate is its messages over its bursts' time; beside it, the burst ratios' median and quartiles.
	// Ours is started and warmed first: with one build on both sides, the side started and warmed second read 1-5%
	// faster, an edge that goes to the floor here.
	// The floor made durable takes its turns after them, so ours and the floor still follow each other.
	const sides = ['floor', 'ours', 'floor-queue-files', 'floor-log'] as const;
	type Side = (typeof sides)[number];
	const servers = { ours: await startServer('ours'), floor: await startServer('floor'), 'floor-queue-files': await startServer('floor-queue-files'), 'floor-log': await startServer('floor-log') };
	const clients = Object.fromEntries(sides.map((side) => [side, connect(servers[side].port, 10)])) as Record<Side, Clients>;
	for (const side of Object.keys(servers) as Side[]) await throughput(clients[side], SERVER_WARMUP_MESSAGES);
	// Each side's CPU a message (every thread of its child) is reported beside the rates: steadier than a rate, since it
	// does not depend on who else waits for the machine's cores. The client's (this process's) too: on a machine of few
	// cores client and server share them, so a side's rate may be set by every thread's CPU, not its event loop.
	const spent = Object.fromEntries(sides.map((side) => [side, { seconds: 0, serverMs: 0, clientMs: 0 }])) as Record<Side, { seconds: number; serverMs: number; clientMs: number }>;
	const burstRatios: number[] = [];
	for (let burst = 0; burst < BURSTS; burst++) {
		const seconds = Object.fromEntries(sides.map((side) => [side, 0])) as Record<Side, number>;
		for (const which of burst % 2 ? [...sides].reverse() : sides) {
			const server = servers[which];
			const cpuBefore = server.cpuMs();
			const clientBefore = process.cpuUsage();
			seconds[which] = burstMessages / (await throughput(clients[which], burstMessages));
			const client = process.cpuUsage(clientBefore);
			const cpuAfter = server.cpuMs();
			spent[which].seconds += seconds[which];
			spent[which].clientMs += (client.user + client.system) / 1000;
			if (cpuBefore !== null && cpuAfter !== null) spent[which].serverMs += cpuAfter - cpuBefore;
		}
		burstRatios.push(seconds.floor / seconds.ours);
	}
	Object.values(clients).forEach((each) => each.forEach((transport) => transport.close()));
	Object.values(servers).forEach((server) => server.stop());
	burstRatios.sort((a, b) => a - b);
	const quartile = (q: number) => burstRatios[Math.floor(q * (burstRatios.length - 1))];
	const results: Record<string, { rate: number; growth: number; stallMs: number }> = {};
	for (const which of ['floor', 'ours'] as const) {
		const rate = total / spent[which].seconds;
		const fresh = await startServer(which);
		await throughputOnce(fresh.port, 20, 2);
		const { growth, stallMs } = await peakGrowth(fresh, 30 * MB - 64 * 1024);
		fresh.stop();
		results[which] = { rate, growth, stallMs };
	}
	// What smtp-server itself costs to receive 30 MB and drop it (socket reads, dot-unstuffing, the garbage V8 lets
	// pile up before it collects): the lowest growth any server built on it can show.
	const receiver = await startServer('receive-only');
	const receiveOnly = await peakGrowth(receiver, 30 * MB - 64 * 1024);
	receiver.stop();
	const collector = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1, 3), 'collector-only'], { encoding: 'utf8' });
	const collectorGrowth = Number(collector.stdout.trim());
	if (collector.status !== 0 || !Number.isFinite(collectorGrowth)) throw new Error(`collector-only child failed: ${collector.stderr}`);
	// Ten maximum-size messages at once: the listener's default in-flight budget admits them all.
	const concurrentServer = await startServer('ours');
	const concurrent = await peakGrowth(concurrentServer, 28 * MB, 10);
	concurrentServer.stop();

	/** `side`'s rate over `other`'s: their bursts' time the other way round. */
	const rateAgainst = (side: Side, other: Side) => spent[other].seconds / spent[side].seconds;
	const ratio = rateAgainst('ours', 'floor');
	const serverCpu = Object.fromEntries(sides.map((side) => [side, spent[side].serverMs / total])) as Record<Side, number>;
	const sizeRatio = (growth: number) => growth / (30 * MB);
	const line = (name: string, r: { rate: number; growth: number }) =>
		`${name.padEnd(34)} ${r.rate.toFixed(0).padStart(6)} msg/s   peak RSS growth for 30 MB: ${(r.growth / MB).toFixed(0)} MB (${sizeRatio(r.growth).toFixed(2)}x)`;
	const met = (ok: boolean) => (ok ? 'met' : 'missed');
	process.stdout.write(
		[
			`SMTP intake, 5 KB over 10 connections, ${BURSTS} bursts of ${burstMessages} a side taking turns; one 30 MB message; 10 x 28 MB at once (Node ${process.version}, store: ${storeEngine()})`,
			`throughput bursts, ours/floor: median ${median(burstRatios).toFixed(2)}x, quartiles ${quartile(0.25).toFixed(2)}x-${quartile(0.75).toFixed(2)}x`,
			...(serverCpu.ours > 0
				? [`CPU a message (every thread): floor ${serverCpu.floor.toFixed(2)} ms, ours ${serverCpu.ours.toFixed(2)} ms (${(serverCpu.ours / serverCpu.floor).toFixed(2)}x)`]
				: []),
			`the client's CPU a message (this process): ${(spent.floor.clientMs / total).toFixed(2)} ms beside the floor, ${(spent.ours.clientMs / total).toFixed(2)} ms beside ours; ${availableParallelism()} cores`,
			`for scale, the floor keeping each message on disk before its 250: in a file of its own (as Postfix's cleanup writes a queue file) ${rateAgainst('floor-queue-files', 'floor').toFixed(2)}x the floor, CPU ${serverCpu['floor-queue-files'].toFixed(2)} ms; in one file flushed a group at a time ${rateAgainst('floor-log', 'floor').toFixed(2)}x, CPU ${serverCpu['floor-log'].toFixed(2)} ms`,
			`ours against the floor keeping mail on disk: ${rateAgainst('ours', 'floor-queue-files').toFixed(2)}x the queue files' rate, ${rateAgainst('ours', 'floor-log').toFixed(2)}x the flushed file's`,
			line('floor (smtp-server+mailparser+mailauth)', results.floor),
			line('hosted inbox (checks + spool)', results.ours),
			`longest event-loop stall while the 30 MB message arrives: floor ${results.floor.stallMs.toFixed(0)} ms, ours ${results.ours.stallMs.toFixed(0)} ms (${(results.ours.stallMs / results.floor.stallMs).toFixed(2)}x)`,
			`smtp-server alone, dropping the bytes: peak RSS growth for 30 MB: ${(receiveOnly.growth / MB).toFixed(0)} MB (${sizeRatio(receiveOnly.growth).toFixed(2)}x)`,
			`Node's collector alone, 300 MB of 64 KB garbage, nothing kept: peak RSS growth ${(collectorGrowth / MB).toFixed(0)} MB (${sizeRatio(collectorGrowth).toFixed(2)}x of 30 MB)`,
			`targets: throughput >= 0.8x floor ${met(ratio >= 0.8)}; 30 MB growth <= 1.5x ${met(sizeRatio(results.ours.growth) <= 1.5)}; 10 x 28 MB growth <= 400 MB ${met(concurrent.growth <= 400 * MB)}, ${concurrent.accepted} of 10 answered 250`,
			`smtp bench: throughput ${ratio.toFixed(2)}x floor, 30 MB peak RSS growth ${sizeRatio(results.ours.growth).toFixed(2)}x message size, 10 x 28 MB concurrent peak RSS growth ${(concurrent.growth / MB).toFixed(0)} MB`,
			'',
		].join('\n'),
	);
	if (concurrent.accepted !== 10) throw new Error(`only ${concurrent.accepted} of 10 concurrent 28 MB messages were answered 250: the default in-flight budget must admit 10 maximum-size messages`);
	return false;
}

/** Drops the schemas this process named (for its children, or its own as a server started by hand), where used (no BENCH_STORE, no node:sqlite). */
async function dropRunSchemas(): Promise<void> {
	if (process.env.BENCH_STORE || storeEngine() !== 'postgres') return;
	for (const schema of runSchemas) await dropSchema(schema);
}

main().then(
	async (serving) => {
		if (serving) return;
		await dropRunSchemas();
		process.exit(0);
	},
	async (error: Error) => {
		process.stderr.write(`${error.stack ?? error.message}\n`);
		await dropRunSchemas().catch((dropError: Error) => process.stderr.write(`${dropError.message}\n`));
		process.exit(1);
	},
);
