import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

import { bytesOf, readAll, type MessageBytes } from '../../../core/message-bytes';
import { SPOOL_CHUNK_BYTES, spoolChunks, spoolStore, timeOrderedId } from '../../../core/store/aggregates/spool';
import { migrate, MIGRATIONS } from '../../../core/store/migrations';
import { openStore, type StoreOptions } from '../../../core/store/open';
import type { SqlDriver, SqlExecutor, SqlValue } from '../../../core/store/sql';
import { SPOOL_HEAD_BYTES } from '../../../core/store/types';
import { describeEachStore, dropSchema, sqlDriverFor, TEST_PG_URL } from '../../support/stores';

const CHUNK = SPOOL_CHUNK_BYTES;
/** Pieces that do not line up with chunks: a chunk is cut from several, a piece split between two. */
const PIECE = 40 * 1024;
const envelope = { clientIp: '192.0.2.1', helo: 'mx.customer.test', mailFrom: 'ann@customer.test', rcpt: ['support@inbox.example.test'] };

/** The byte at each offset of a generated message: depends on the offset, so a chunk out of place shows. */
function pattern(at: number, length: number): Buffer {
	const piece = Buffer.allocUnsafe(length);
	for (let i = 0; i < length; i++) piece[i] = ((at + i) * 7 + ((at + i) >>> 12)) & 0xff;
	return piece;
}

/** A message of `size` bytes made as it is read, in PIECE-sized pieces: nothing holds it whole. */
function generated(size: number, options: { failAt?: number; onPiece?: (at: number) => void } = {}): MessageBytes {
	return {
		size,
		open(start = 0) {
			async function* pieces() {
				for (let at = start; at < size; at += PIECE) {
					if (options.failAt !== undefined && at >= options.failAt) throw new Error('the sending connection dropped');
					options.onPiece?.(at);
					yield pattern(at, Math.min(PIECE, size - at));
				}
			}
			return Readable.from(pieces(), { objectMode: false });
		},
	};
}

/** What is left of a stream already opened. */
async function drain(stream: Readable): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
	return Buffer.concat(chunks);
}

async function sha256(stream: Readable): Promise<string> {
	const hash = createHash('sha256');
	for await (const chunk of stream as AsyncIterable<Buffer>) hash.update(chunk);
	return hash.digest('hex');
}

/** A second handle on the store's database, to look at its rows. */

/** The driver, noting the largest value each statement sent or got back, and the chunks written so far (and by how many INSERTs). */
function recording(db: SqlDriver) {
	const seen = { largestSent: 0, largestRead: 0, chunksWritten: 0, chunkInserts: 0, chunkReads: 0 };
	const size = (value: unknown) => (value instanceof Uint8Array ? value.length : 0);
	const watch = (q: SqlExecutor): SqlExecutor => ({
		all: async (sql: string, params: SqlValue[] = []) => {
			seen.largestSent = Math.max(seen.largestSent, ...params.map(size));
			if (sql.startsWith('SELECT seq, bytes FROM spool_chunks')) seen.chunkReads++;
			const rows = await q.all(sql, params);
			for (const row of rows) seen.largestRead = Math.max(seen.largestRead, ...Object.values(row).map(size));
			return rows;
		},
		run: async (sql: string, params: SqlValue[] = []) => {
			seen.largestSent = Math.max(seen.largestSent, ...params.map(size));
			if (sql.startsWith('INSERT INTO spool_chunks')) {
				seen.chunkInserts++;
				seen.chunksWritten += params.filter((param) => param instanceof Uint8Array).length;
			}
			return await q.run(sql, params);
		},
	});
	const driver: SqlDriver = {
		engine: db.engine,
		location: db.location,
		forUpdate: db.forUpdate,
		forNoKeyUpdate: db.forNoKeyUpdate,
		...watch(db),
		transaction: (fn) => db.transaction((tx) => fn(watch(tx))),
		runUnflushed: (sql, params) => db.runUnflushed(sql, params),
		truncateLog: () => db.truncateLog(),
		close: () => db.close(),
	};
	return { driver, seen };
}

describeEachStore('the spool keeps a message in chunks', (getStore, engine, getOptions) => {
	let db: SqlDriver;
	beforeAll(() => {
		db = sqlDriverFor(getOptions());
	});
	afterAll(async () => {
		await db.close();
	});
	const chunkLengths = async (id: string) =>
		(await db.all('SELECT LENGTH(bytes) AS length FROM spool_chunks WHERE spool_id = $1 ORDER BY seq', [id])).map((row) => Number(row.length));
	const allChunks = async () => Number((await db.all('SELECT COUNT(*) AS n FROM spool_chunks'))[0].n);

	it.each([
		['empty', 0],
		['a byte', 1],
		['just under a chunk', CHUNK - 1],
		['a chunk', CHUNK],
		['just over a chunk', CHUNK + 1],
		['just under two chunks', 2 * CHUNK - 1],
		['two chunks', 2 * CHUNK],
		['just over two chunks', 2 * CHUNK + 1],
	])('round-trips a message %s long (%d bytes): every chunk full but the last', async (_, size) => {
		const store = getStore();
		const sent = pattern(0, size);
		const entry = await store.spoolPut({ inboxId: 'chunks', message: bytesOf(sent), envelope });
		expect(entry).toMatchObject({ inboxId: 'chunks', size, status: 'pending' });
		const lengths = await chunkLengths(entry.id);
		expect(lengths).toEqual(Array.from({ length: Math.ceil(size / CHUNK) }, (_, i) => Math.min(CHUNK, size - i * CHUNK)));
		const message = (await store.spoolMessage(entry.id))!;
		expect(message.size).toBe(size);
		expect((await readAll(message)).equals(sent)).toBe(true);
		for (const start of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, size - 1, size, size + 5].filter((start) => start >= 0)) {
			expect((await drain(message.open(start))).equals(sent.subarray(start))).toBe(true);
		}
		expect((await store.spoolGet(entry.id))?.size).toBe(size);
	});

	it('spools a message of 30 chunks and a bit, cut into chunks as its pieces come, 4 an INSERT on PostgreSQL: no value is more than a chunk', async () => {
		const size = 30 * CHUNK + 12_345;
		const { driver, seen } = recording(db);
		const spool = spoolStore(driver);
		// By the time the stream has handed over 17 chunks and a piece, the first 16 are written: the message is not gathered first.
		let written = -1;
		const entry = await spool.spoolPut({
			inboxId: 'big',
			message: generated(size, { onPiece: (at) => (written < 0 && at >= 17 * CHUNK + PIECE ? (written = seen.chunksWritten) : undefined) }),
			envelope,
		});
		expect(written).toBeGreaterThanOrEqual(16);
		expect(seen.chunksWritten).toBe(31);
		// A round trip per 64 KB would make a remote PostgreSQL the sender's pace (node:sqlite has none).
		expect(seen.chunkInserts).toBe(engine === 'postgres' ? 8 : 31);
		expect(seen.largestSent).toBeLessThanOrEqual(CHUNK);
		expect(entry.size).toBe(size);

		// Read back 4 chunks a query (31 chunks: eight queries), each value at most a chunk, fetched as the reader asks
		// (the stream reads one query ahead at most).
		const message = (await getStore().spoolMessage(entry.id))!;
		expect(message.size).toBe(size);
		const reads = seen.chunkReads;
		const stream = (await spool.spoolMessage(entry.id))!.open();
		const first = (await stream[Symbol.asyncIterator]().next()).value as Buffer;
		expect(first.equals(pattern(0, first.length))).toBe(true);
		expect(seen.chunkReads - reads).toBeLessThanOrEqual(2);
		stream.destroy();
		const whole = seen.chunkReads;
		expect(await sha256((await spool.spoolMessage(entry.id))!.open())).toBe(await sha256(generated(size).open()));
		expect(seen.chunkReads - whole).toBe(8);
		expect(seen.largestRead).toBeLessThanOrEqual(CHUNK);
		expect(await sha256(message.open(29 * CHUNK + 7))).toBe(await sha256(generated(size).open(29 * CHUNK + 7)));
		const [head] = await getStore().spoolHeads({ inboxId: 'big' });
		expect(head.head.equals(pattern(0, SPOOL_HEAD_BYTES))).toBe(true);
	});

	it('reads back an entry spooled in 1 MB chunks (before chunks were 64 KB) whole, one such chunk a query', async () => {
		const store = getStore();
		const size = 3 * 1024 * 1024 + 5;
		const entry = await store.spoolPut({ inboxId: 'mb-chunks', message: generated(CHUNK), envelope });
		// The rows as a store before this version wrote them: 1 MB chunks, the last shorter.
		await db.transaction(async (tx) => {
			await tx.run('DELETE FROM spool_chunks WHERE spool_id = $1', [entry.id]);
			for (let seq = 0, at = 0; at < size; seq++, at += 1024 * 1024) {
				await tx.run('INSERT INTO spool_chunks (spool_id, seq, bytes) VALUES ($1, $2, $3)', [entry.id, seq, pattern(at, Math.min(1024 * 1024, size - at))]);
			}
			await tx.run('UPDATE spool SET size = $2 WHERE id = $1', [entry.id, size]);
		});
		const { driver, seen } = recording(db);
		const message = (await spoolStore(driver).spoolMessage(entry.id))!;
		expect(await sha256(message.open())).toBe(await sha256(generated(size).open()));
		expect(seen.chunkReads).toBe(4);
		expect(await sha256(message.open(2 * 1024 * 1024 - 3))).toBe(await sha256(generated(size).open(2 * 1024 * 1024 - 3)));
	});

	it('reads from any offset around the queries\' batches, and fails instead of ending short when the entry goes between its listing and its first batch', async () => {
		const store = getStore();
		const size = 33 * CHUNK + 5;
		const entry = await store.spoolPut({ inboxId: 'batches', message: generated(size), envelope });
		const message = (await store.spoolMessage(entry.id))!;
		// 16 chunks a query: starts inside, at and past each batch's first and last chunk.
		const batch = 16 * CHUNK;
		for (const start of [0, 1, batch - 1, batch, batch + 1, 2 * batch - 1, 2 * batch, 2 * batch + 1, 33 * CHUNK, size - 1, size, size + 1]) {
			expect([start, await sha256(message.open(start))]).toEqual([start, await sha256(generated(size).open(start))]);
		}
		// Deleted (retention, erasure) once its chunks are listed, before the first of them is read.
		const deleting: SqlExecutor = {
			all: async (sql, params) => {
				const rows = await db.all(sql, params);
				if (sql.includes('LENGTH(bytes)')) await db.run('DELETE FROM spool WHERE id = $1', [entry.id]);
				return rows;
			},
			run: (sql, params) => db.run(sql, params),
		};
		await expect(drain(Readable.from(spoolChunks(deleting, entry, CHUNK + 1)))).rejects.toThrow(`Spool entry ${entry.id} was deleted while its message was read`);
	});

	it('keeps nothing of a message whose stream fails, or that is not the size announced: no entry, no chunk', async () => {
		const store = getStore();
		const before = await allChunks();
		await expect(store.spoolPut({ inboxId: 'broken', message: generated(3 * CHUNK, { failAt: 2 * CHUNK }), envelope })).rejects.toThrow('the sending connection dropped');
		await expect(store.spoolPut({ inboxId: 'broken', message: { size: 2 * CHUNK, open: () => generated(CHUNK + 5).open() }, envelope })).rejects.toThrow(
			`The message to spool is ${CHUNK + 5} bytes, not the ${2 * CHUNK} announced`,
		);
		expect(await store.spoolList({ inboxId: 'broken' })).toEqual([]);
		expect(await allChunks()).toBe(before);
	});

	it('keeps a held entry and its intake log entry together: the log entry names the entry, and one that cannot be written leaves no entry', async () => {
		const store = getStore();
		const inbox = await store.registerInbox({ address: `held-${randomBytes(4).toString('hex')}@inbox.example.test` });
		const log = { inboxId: inbox.id, kind: 'quarantined' as const, clientIp: null, helo: null, mailFrom: null, rcpt: [inbox.address], messageId: null, from: null, subject: 'held', details: { reasons: ['two From fields'] } };
		const held = await store.spoolPut({ inboxId: inbox.id, message: bytesOf(pattern(0, 100)), envelope, quarantined: true, log });
		expect((await store.listIntake({ inboxId: inbox.id })).map((entry) => entry.details)).toEqual([{ reasons: ['two From fields'], spoolId: held.id }]);

		// The log write fails (here: an inbox the store does not hold): nothing is held, so the sender's retry makes no second copy.
		const before = await allChunks();
		await expect(store.spoolPut({ inboxId: inbox.id, message: bytesOf(pattern(0, 100)), envelope, quarantined: true, log: { ...log, inboxId: 'gone@inbox.example.test' } })).rejects.toThrow(/gone@inbox\.example\.test/);
		expect((await store.listQuarantined({ inboxId: inbox.id })).map((entry) => entry.id)).toEqual([held.id]);
		expect(await allChunks()).toBe(before);
	});

	it('leaves no chunk of an entry deleted by retention, erasure or a quarantine delete; a reader of it then fails instead of ending short', async () => {
		const store = getStore();
		const inbox = await store.registerInbox({ address: `chunks-${randomBytes(4).toString('hex')}@inbox.example.test` });
		const old = new Date(Date.now() - 10 * 86_400_000).toISOString();
		const put = async (message: MessageBytes, quarantined = false) => await store.spoolPut({ inboxId: inbox.id, message, envelope, receivedAt: old, quarantined });

		// More chunks than one query reads (16): the reader holds the first query's when the entry goes.
		const done = await put(generated(17 * CHUNK + 3));
		await store.spoolComplete(done.id);
		const held = await put(generated(CHUNK + 1), true);
		const reading = (await store.spoolMessage(done.id))!.open();
		await reading[Symbol.asyncIterator]().next();
		const unopened = (await store.spoolMessage(held.id))!;
		const cutoffs = { deliveredBefore: new Date().toISOString(), quarantinedBefore: new Date().toISOString(), intakeLogBefore: null, replaysExpiredBy: new Date().toISOString() };
		expect(await store.purgeExpired(inbox.id, cutoffs)).toMatchObject({ delivered: 1, quarantined: 1 });
		await expect(drain(reading)).rejects.toThrow(`Spool entry ${done.id} was deleted while its message was read`);
		await expect(drain(unopened.open())).rejects.toThrow(`Spool entry ${held.id} was deleted while its message was read`);

		// The address the person is erased by straddles the first chunk's end: found all the same.
		const address = `erase-${randomBytes(4).toString('hex')}@customer.test`;
		const named = Buffer.concat([pattern(0, CHUNK - 10), Buffer.from(`Cc: ${address}\r\n`), pattern(0, CHUNK)]);
		const naming = await put(bytesOf(named));
		const bystander = await put(bytesOf(Buffer.concat([pattern(0, CHUNK - 10), Buffer.from(`Cc: jo${address}\r\n`)])));
		const quarantined = await put(bytesOf(Buffer.from('Subject: held\r\n\r\nx\r\n')), true);
		expect((await store.eraseContact(address)).spool).toBe(1);
		await store.deleteQuarantined(quarantined.id);

		for (const gone of [done, held, naming, quarantined]) {
			expect(await store.spoolMessage(gone.id)).toBeNull();
			expect(await chunkLengths(gone.id)).toEqual([]);
		}
		expect((await chunkLengths(bystander.id)).length).toBe(2);
	});

	it('names entries by time of arrival (UUID version 7), unguessable all the same', async () => {
		const store = getStore();
		const ids: string[] = [];
		for (let i = 0; i < 3; i++) {
			ids.push((await store.spoolPut({ inboxId: 'ids', message: bytesOf(Buffer.from(`Subject: ${i}\r\n\r\nx\r\n`)), envelope })).id);
			await new Promise((resolve) => setTimeout(resolve, 2));
		}
		for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
		// Later entries sort after earlier ones, so a group's ids share index pages.
		expect([...ids].sort()).toEqual(ids);
		const time = (id: string) => parseInt(id.replace(/-/g, '').slice(0, 12), 16);
		expect(Math.abs(time(ids[0]) - Date.now())).toBeLessThan(60_000);
		// Entries of the same millisecond differ in their random bits.
		const sameMoment = new Set(Array.from({ length: 1000 }, () => timeOrderedId(1_700_000_000_000)));
		expect(sameMoment.size).toBe(1000);
		expect([...sameMoment].every((id) => id.startsWith('018bcfe5-6800-7'))).toBe(true);
	});
});

describeEachStore('the spool in chunks, upgraded', (_getStore, engine) => {
	it('moves an entry spooled whole before chunks into one chunk, read and listed as before', async () => {
		const dir = mkdtempSync(join(tmpdir(), 'hi-v7-'));
		const options: StoreOptions =
			engine === 'sqlite' ? { engine: 'sqlite', path: join(dir, 'v7.sqlite') } : { engine: 'postgres', connectionString: TEST_PG_URL, schema: `hi_v7_${randomBytes(6).toString('hex')}` };
		const driver = sqlDriverFor(options);
		const later = MIGRATIONS.splice(MIGRATIONS.findIndex((migration) => migration.version === 8));
		try {
			await migrate(driver, options.engine === 'postgres' ? [`CREATE SCHEMA IF NOT EXISTS ${options.schema}`] : []);
		} finally {
			MIGRATIONS.push(...later);
		}
		// Larger than a chunk: an old entry stays one chunk of its own size.
		const raw = Buffer.concat([Buffer.from('From: Ann <ann@customer.test>\r\nSubject: from before\r\n\r\n'), pattern(0, 3 * CHUNK)]);
		const insert = `INSERT INTO spool (id, inbox_id, raw, envelope, received_at, attempts, next_attempt_at, status) VALUES ($1, 'old', $2, $3, '2026-01-01T00:00:00.000Z', 0, '2026-01-01T00:00:00.000Z', 'pending')`;
		await driver.run(insert, ['s1', raw, JSON.stringify(envelope)]);
		await driver.run(insert, ['s2', Buffer.alloc(0), JSON.stringify(envelope)]);
		await driver.close();

		const store = await openStore(options);
		const db = sqlDriverFor(options);
		try {
			expect((await db.all("SELECT spool_id, seq, LENGTH(bytes) AS length FROM spool_chunks WHERE spool_id IN ('s1', 's2')")).map((row) => ({ ...row, length: Number(row.length), seq: Number(row.seq) }))).toEqual([
				{ spool_id: 's1', seq: 0, length: raw.length },
			]);
			expect(await store.spoolGet('s1')).toMatchObject({ size: raw.length, status: 'pending' });
			expect((await readAll((await store.spoolMessage('s1'))!)).equals(raw)).toBe(true);
			expect((await drain((await store.spoolMessage('s1'))!.open(CHUNK + 3))).equals(raw.subarray(CHUNK + 3))).toBe(true);
			expect((await readAll((await store.spoolMessage('s2'))!)).length).toBe(0);
			const heads = await store.spoolHeads({ inboxId: 'old' });
			expect(heads.map((entry) => [entry.id, entry.head.length])).toEqual([
				['s1', SPOOL_HEAD_BYTES],
				['s2', 0],
			]);
			// The raw column is gone with its bytes.
			await expect(db.all('SELECT raw FROM spool')).rejects.toThrow(/raw/);
		} finally {
			await db.close();
			await store.close();
			if (options.engine === 'postgres') await dropSchema(options.schema!);
			rmSync(dir, { recursive: true, force: true });
		}
	});
});
