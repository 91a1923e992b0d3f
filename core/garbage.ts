/**
 * Big mail in bounded memory, the part V8 decides: reading a message makes garbage in proportion to its size (each
 * piece a fresh buffer held outside V8's heap, the parsers' slices and strings), and V8 collects it only once its
 * young generation fills (up to 2 x 64 MB on a large machine) or 64 MB of outside buffers piled up. One 30 MB message,
 * received, checked, spooled and emitted, grew the process by about three times its size for that alone (bench:smtp).
 * So the readers of message bytes count what they hand on, and every COLLECT_EVERY_BYTES one collection of the young
 * generation alone (a scavenge: its cost is what is still live in it, a fraction of a millisecond, not the heap's
 * size) frees what they left. Mail under UNCOUNTED_BELOW_BYTES is not counted: what reading it leaves is a young
 * generation's worth of garbage like any other, which V8's own young collections take in their stride (counted, mail
 * of 5 KB forced two of every three collections: 2% of bench:smtp's CPU a message, measured with both servers at once).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { attempt } from './store/sql';

const COLLECT_EVERY_BYTES = 4 * 1024 * 1024;
/** Messages smaller than this are not counted: read in one piece (a chunk of the spool, a slice of a file). */
const UNCOUNTED_BELOW_BYTES = 64 * 1024;

type Collect = (options: { type: 'minor'; execution: 'sync' }) => void;

/**
 * V8's gc function: the process's own when Node was started with --expose-gc, else taken as jest's leak detector
 * takes it, exposed to one fresh context only and the flag put back at once (no later context, an n8n Code node's
 * included, sees it). null where V8 refuses: the collector then runs on its own schedule, as before.
 */
function youngCollection(): Collect | null {
	const exposed = (globalThis as { gc?: unknown }).gc;
	if (typeof exposed === 'function') return exposed as Collect;
	const taken = attempt(() => {
		setFlagsFromString('--expose-gc');
		return runInNewContext('gc') as unknown;
	});
	setFlagsFromString('--no-expose-gc');
	return taken.ok && typeof taken.value === 'function' ? (taken.value as Collect) : null;
}

let collect: Collect | null | undefined;
let sinceCollection = 0;

/**
 * Counts bytes of a message a reader handed on, unless the message (as far as it is known: `messageBytes`) is under
 * UNCOUNTED_BELOW_BYTES; collects the young generation each COLLECT_EVERY_BYTES.
 */
export function noteBytesRead(bytes: number, messageBytes = Infinity): void {
	if (messageBytes < UNCOUNTED_BELOW_BYTES) return;
	sinceCollection += bytes;
	if (sinceCollection < COLLECT_EVERY_BYTES) return;
	sinceCollection = 0;
	// Taken once: refused, it is not asked for again.
	if (collect === undefined) collect = youngCollection();
	collect?.({ type: 'minor', execution: 'sync' });
}

/** The pieces of a message of `messageBytes`, each counted as it is handed on. */
export async function* counted(pieces: AsyncIterable<Buffer>, messageBytes: number): AsyncGenerator<Buffer> {
	for await (const piece of pieces) {
		noteBytesRead(piece.length, messageBytes);
		yield piece;
	}
}
