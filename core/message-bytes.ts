/**
 * A message's bytes wherever they are kept (memory, a file being received, the spool): its size and a fresh stream
 * of it on each read. The checks, the spool and the emission read a message through this, so a 30 MB message is
 * never held whole in memory once it arrived by a way that does not hand it over in one piece.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';

import { counted, noteBytesRead } from './garbage';

export interface MessageBytes {
	readonly size: number;
	/** The bytes from `start` (default 0) to the end, read again on each call. */
	open(start?: number): Readable;
	/** The bytes themselves when they are in memory (most mail): a reader that takes a Buffer needs no stream. */
	readonly inMemory?: Buffer;
}

/** The bytes from `start`: the buffer itself when they are in memory (counted as handed on), else a stream of them. */
export function readFrom(bytes: MessageBytes, start = 0): Buffer | Readable {
	if (!bytes.inMemory) return bytes.open(start);
	const rest = bytes.inMemory.subarray(start);
	noteBytesRead(rest.length, bytes.size);
	return rest;
}

/** How much a stream of a buffer hands on at once: a slice, never a copy. */
const SLICE_BYTES = 64 * 1024;

/** The bytes a caller has, in memory or where they are kept. */
export function asBytes(input: Buffer | MessageBytes): MessageBytes {
	return Buffer.isBuffer(input) ? bytesOf(input) : input;
}

/** The bytes as pieces to iterate: the buffer itself when it is one. */
export function pieces(source: Buffer | Readable): Iterable<Buffer> | AsyncIterable<Buffer> {
	return Buffer.isBuffer(source) ? [source] : (source as AsyncIterable<Buffer>);
}

/** Bytes already in memory (an IMAP fetch, a test, the CLI). */
export function bytesOf(buffer: Buffer): MessageBytes {
	return {
		size: buffer.length,
		inMemory: buffer,
		open(start = 0) {
			return Readable.from(slices(buffer.subarray(start)), { objectMode: false });
		},
	};
}

function* slices(buffer: Buffer): Generator<Buffer> {
	for (let at = 0; at < buffer.length; at += SLICE_BYTES) {
		const slice = buffer.subarray(at, at + SLICE_BYTES);
		noteBytesRead(slice.length, buffer.length);
		yield slice;
	}
}

/** The bytes from `offset` on (a message after the junk before its header section). */
export function bytesFrom(bytes: MessageBytes, offset: number): MessageBytes {
	if (offset === 0) return bytes;
	return bytes.inMemory ? bytesOf(bytes.inMemory.subarray(offset)) : { size: bytes.size - offset, open: (start = 0) => bytes.open(offset + start) };
}

/** Bytes in a file of known size (a message being received, written as it arrived). */
export function fileBytes(path: string, size: number): MessageBytes {
	return {
		size,
		open(start = 0) {
			return start >= size ? Readable.from([]) : Readable.from(fileSlices(path, start, size), { objectMode: false });
		},
	};
}

/** The file opened at the first read, not before: a stream destroyed unread leaves no descriptor open. */
async function* fileSlices(path: string, start: number, size: number): AsyncGenerator<Buffer> {
	yield* counted(createReadStream(path, { start, highWaterMark: SLICE_BYTES }), size);
}

/**
 * The bytes, with the first failure of any read of them kept: a reader that takes a failed read for bad input (a
 * parser, a DKIM verifier) can then be overruled, since the failure was ours, not the sender's.
 */
export function watchedBytes(bytes: MessageBytes): { bytes: MessageBytes; failure(): Error | null } {
	let failure: Error | null = null;
	return {
		bytes: {
			size: bytes.size,
			inMemory: bytes.inMemory,
			open(start) {
				return bytes.open(start).once('error', (error: Error) => (failure ??= error));
			},
		},
		failure: () => failure,
	};
}

/** The first `max` bytes (fewer when the message is shorter): the header section and what precedes it. */
export async function readHead(bytes: MessageBytes, max: number): Promise<Buffer> {
	if (bytes.inMemory) return bytes.inMemory.subarray(0, max);
	const chunks: Buffer[] = [];
	let length = 0;
	const stream = bytes.open();
	try {
		for await (const chunk of stream as AsyncIterable<Buffer>) {
			chunks.push(chunk);
			length += chunk.length;
			if (length >= max) break;
		}
	} finally {
		stream.destroy();
	}
	return Buffer.concat(chunks, length).subarray(0, max);
}

/** Bytes whose place is known only when they are read (the spool's chunks): located again for each stream. */
export function lazyBytes(size: number, locate: () => Promise<MessageBytes>): MessageBytes {
	return { size, open: (start = 0) => Readable.from(located(locate, start, size), { objectMode: false }) };
}

async function* located(locate: () => Promise<MessageBytes>, start: number, size: number): AsyncGenerator<Buffer> {
	yield* counted((await locate()).open(start), size);
}

/** The whole message in memory: only for callers that need it whole (a forwarding test's send, a mailbox append). */
export async function readAll(bytes: MessageBytes): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of bytes.open() as AsyncIterable<Buffer>) chunks.push(chunk);
	return Buffer.concat(chunks);
}
