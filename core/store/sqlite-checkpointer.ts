/**
 * The embedded store's checkpoints, on a thread of their own. SQLite copies the WAL into the database file (a
 * checkpoint) in the commit that fills it past 1,000 pages, flushing both files there: on n8n's event loop, which
 * then stops for every workflow, webhook and SMTP session of the process (bench:smtp's server: 3.5 ms every 80 or so
 * 5 KB messages; 100 to 200 ms after a 30 MB one). Here a worker thread, with a connection of its own on the file,
 * checkpoints shortly after commits instead (PASSIVE: it takes no write lock and never waits for a writer).
 *
 * What stays on the event loop is SQLite's own: the first write after a checkpoint that copied the whole WAL starts
 * the WAL again from its beginning and flushes its new header in that commit (under a millisecond here), which now
 * follows any pause of the writes rather than every 1,000 pages.
 */
import { Worker } from 'node:worker_threads';

/** How long after a commit its checkpoint begins: the commits of that time are copied together. */
const CHECKPOINT_DELAY_MS = 100;

/**
 * A WAL holding this many pages (16 MB of 4 KB pages) at a checkpoint is not being emptied: SQLite starts the WAL
 * again from its beginning only at a write that finds all of it copied, and writes that never pause find a checkpoint
 * beside them always a little behind. The next transaction then waits (without blocking the event loop) for a
 * checkpoint with nothing written meanwhile.
 */
const CATCH_UP_PAGES = 4096;

/** How long a close waits for the worker to finish a checkpoint under way and close its connection. */
const CLOSE_WAIT_MS = 10_000;

/**
 * The worker: plain JavaScript, evaluated, so it runs as installed and under the tests alike (no build or loader to
 * find). Asked for a checkpoint ('PASSIVE' or 'TRUNCATE'), it answers SQLite's row for it; one that fails is answered
 * as none: it leaves every page in the WAL, as SQLite's own automatic checkpoint does, and the flush of each commit,
 * not the checkpoint, is what tells a failing disk. Its busy timeout is SQLite's own wait: a TRUNCATE waits there for
 * other processes' readers (holding back their writes meanwhile), blocking this thread, not n8n's event loop.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { DatabaseSync } = process.getBuiltinModule('node:sqlite');
const db = new DatabaseSync(workerData.path);
db.exec('PRAGMA busy_timeout = 10000');
// A checkpoint flushes the WAL before copying it (every frame copied is on disk) and the database file after.
db.exec('PRAGMA synchronous = FULL');
const checkpoints = { PASSIVE: db.prepare('PRAGMA wal_checkpoint(PASSIVE)'), TRUNCATE: db.prepare('PRAGMA wal_checkpoint(TRUNCATE)') };
parentPort.on('message', (message) => {
	if (message === 'close') {
		db.close();
		parentPort.close();
		return;
	}
	try {
		const [row] = checkpoints[message].all();
		parentPort.postMessage({ busy: Number(row.busy), log: Number(row.log) });
	} catch {
		parentPort.postMessage(null);
	}
});
parentPort.postMessage('ready');
`;

/** SQLite's row for a checkpoint: whether it could not finish (readers or writers of other processes), and the WAL's pages. */
interface CheckpointRow {
	busy: number;
	log: number;
}

export interface CheckpointerEvents {
	/** The worker runs: SQLite's own automatic checkpoints can stop. */
	onReady(): void;
	/** The worker stopped or never started (not on a close): SQLite's own checkpoints take over again. */
	onGone(): void;
}

export class Checkpointer {
	/** null: no thread could be started (a process at its limit), so SQLite keeps checkpointing for itself. */
	private readonly worker: Worker | null;
	private gone = false;
	private closing = false;
	/** Checkpoints asked for, one after another; each settles with SQLite's row for it (null when it failed). */
	private chain: Promise<CheckpointRow | null> = Promise.resolve(null);
	private answer: ((row: CheckpointRow | null) => void) | null = null;
	private timer: NodeJS.Timeout | null = null;
	/** The last checkpoint after commits found CATCH_UP_PAGES or more in the WAL. */
	behind = false;

	constructor(path: string, events: CheckpointerEvents) {
		this.worker = startWorker(path);
		if (!this.worker) {
			this.gone = true;
			return;
		}
		this.worker.on('message', (message: 'ready' | CheckpointRow | null) => {
			if (message === 'ready') return events.onReady();
			this.settle(message);
		});
		// An error ends the worker too: 'exit' follows it.
		this.worker.on('error', () => undefined);
		this.worker.on('exit', () => {
			this.gone = true;
			this.settle(null);
			if (!this.closing) events.onGone();
		});
		// After the listeners: a 'message' listener refs the worker again. Unreferenced, it never keeps a process alive.
		this.worker.unref();
	}

	private settle(row: CheckpointRow | null): void {
		const answer = this.answer;
		this.answer = null;
		answer?.(row);
	}

	/** A commit was written to the WAL: it is copied into the database file within CHECKPOINT_DELAY_MS or so. */
	committed(): void {
		if (this.timer || this.gone || this.closing) return;
		this.timer = setTimeout(() => {
			this.timer = null;
			void this.checkpoint('PASSIVE').then((row) => (this.behind = row !== null && row.log >= CATCH_UP_PAGES));
		}, CHECKPOINT_DELAY_MS);
		this.timer.unref();
	}

	/**
	 * A checkpoint after those asked for before it. The worker is referenced while it is asked: a transaction waiting
	 * for a catch-up keeps its process alive (unreferenced, a CLI command would exit in the middle of it).
	 */
	private checkpoint(mode: 'PASSIVE' | 'TRUNCATE'): Promise<CheckpointRow | null> {
		this.chain = this.chain.then(
			() =>
				new Promise<CheckpointRow | null>((resolve) => {
					const { worker } = this;
					if (this.gone || !worker) return resolve(null);
					worker.ref();
					this.answer = (row) => {
						worker.unref();
						resolve(row);
					};
					worker.postMessage(mode);
				}),
		);
		return this.chain;
	}

	/**
	 * Resolves once a checkpoint begun now ended: called with no write under way, it copies the whole WAL, and the
	 * next write starts it again from its beginning.
	 */
	async catchUp(): Promise<void> {
		await this.checkpoint('PASSIVE');
		this.behind = false;
	}

	/**
	 * Empties the WAL (an erasure: no old page image left in it), called with no write of ours under way: true once it
	 * is empty, false when another process kept reading from it past SQLite's 10 s wait (or the checkpoint failed);
	 * null without a worker, for the store's connection to do it.
	 */
	async truncate(): Promise<boolean | null> {
		if (this.gone || !this.worker) return null;
		const row = await this.checkpoint('TRUNCATE');
		if (row) return row.busy === 0;
		// The worker went away meanwhile: the store's connection does it; else the checkpoint failed.
		return this.gone ? null : false;
	}

	/**
	 * Closes the worker's connection after any checkpoint under way, once the store's own connection closed: the file's
	 * last, it then copies what is left into the database file and removes the WAL, off the event loop. Bounded: a
	 * worker not gone within CLOSE_WAIT_MS is terminated and not waited for (a disk that hangs in native code).
	 */
	async close(): Promise<void> {
		this.closing = true;
		if (this.timer) clearTimeout(this.timer);
		const { worker } = this;
		if (this.gone || !worker) return;
		let timer: NodeJS.Timeout | undefined;
		const exited = new Promise<void>((resolve) => {
			worker.once('exit', () => resolve());
			timer = setTimeout(() => {
				void worker.terminate();
				resolve();
			}, CLOSE_WAIT_MS);
		});
		worker.postMessage('close');
		await exited;
		clearTimeout(timer);
	}
}

/** The worker, or null where the process cannot start a thread now (Node throws at once then). */
function startWorker(path: string): Worker | null {
	try {
		return new Worker(WORKER_SOURCE, { eval: true, workerData: { path } });
	} catch {
		return null;
	}
}
