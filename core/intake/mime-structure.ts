import { Splitter } from '@zone-eu/mailsplit';
import type { MimeNode, SplitterChunk } from '@zone-eu/mailsplit/lib/types';
import { isAscii } from 'node:buffer';
import type { Readable, Transform } from 'node:stream';

import { bytesOf } from '../message-bytes';

/** Deeper than this is not mail a person wrote; the verdict names it. */
export const MAX_MIME_DEPTH = 32;

export interface MimeStructure {
	parts: number;
	maxDepth: number;
	/** Parts whose declared Content-Transfer-Encoding does not match their bytes, described for a person. */
	encodingProblems: string[];
}

/** The bytes base64 may hold: its alphabet, padding and white space (as the regex \s reads latin1). */
const BASE64_BYTES = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\t\n\v\f\r \xa0') BASE64_BYTES[c.charCodeAt(0)] = 1;
const HEX_DIGITS = new Uint8Array(256);
for (const c of '0123456789ABCDEFabcdef') HEX_DIGITS[c.charCodeAt(0)] = 1;
const EQUALS = 0x3d;
const CR = 0x0d;
const LF = 0x0a;

/** Quoted-printable is ASCII, each "=" followed by two hex digits or a line break (or the end of what was read). */
function badQuotedPrintable(bytes: Buffer): boolean {
	if (!isAscii(bytes)) return true;
	for (let at = bytes.indexOf(EQUALS); at >= 0; at = bytes.indexOf(EQUALS, at + 1)) {
		const next = at + 1 < bytes.length ? bytes[at + 1] : -1;
		if (next === -1 || next === LF || (HEX_DIGITS[next] === 1 && HEX_DIGITS[bytes[at + 2]] === 1)) continue;
		if (next === CR && (at + 2 === bytes.length || bytes[at + 2] === LF)) continue;
		return true;
	}
	return false;
}

/** Whether the bytes lie about their encoding, checked on the bytes without a string. */
function misencoded(encoding: string, bytes: Buffer): boolean {
	if (encoding === 'base64') {
		for (let i = 0; i < bytes.length; i++) if (BASE64_BYTES[bytes[i]] === 0) return true;
		return false;
	}
	return encoding === 'quoted-printable' && badQuotedPrintable(bytes);
}

function describe(node: MimeNode, index: number): string {
	const name = node.filename ? `, "${node.filename}"` : '';
	return `part ${index} (${node.contentType || 'text/plain'}${name})`;
}

/**
 * Watches the parts mailparser's own splitter hands it, to learn what mailparser does not report: how deep the MIME
 * tree goes and whether parts lie about their transfer encoding. No pass of its own: the parse reads the message once.
 */
export function watchMimeStructure(): { structure: MimeStructure; observe(chunk: SplitterChunk): void } {
	const depth = new Map<MimeNode, number>();
	const index = new Map<MimeNode, number>();
	const flagged = new Set<MimeNode>();
	const structure: MimeStructure = { parts: 0, maxDepth: 0, encodingProblems: [] };
	const observe = (chunk: SplitterChunk) => {
		if (chunk.type === 'node') {
			const level = chunk.parentNode ? (depth.get(chunk.parentNode) ?? 0) + 1 : 0;
			depth.set(chunk, level);
			index.set(chunk, ++structure.parts);
			if (level > structure.maxDepth) structure.maxDepth = level;
			return;
		}
		if (chunk.type !== 'body' || flagged.has(chunk.node) || !chunk.value.length) return;
		const encoding = (chunk.node.encoding || '').toLowerCase();
		if (!misencoded(encoding, chunk.value)) return;
		flagged.add(chunk.node);
		structure.encodingProblems.push(
			`${describe(chunk.node, index.get(chunk.node) ?? 0)} declares Content-Transfer-Encoding ${encoding} but its bytes are not valid ${encoding}; its decoded content is likely corrupt`,
		);
	};
	return { structure, observe };
}

/**
 * The structure read in a pass of its own, with mailparser's splitter settings: only for a message mailparser gave
 * up on. mailparser takes a part at a time and stops at the first error, well before the splitter ahead of it, so
 * what was watched then is only the start. As the parse does, it stops past MAX_MIME_DEPTH levels.
 */
export async function readMimeStructure(bytes: Buffer | Readable, maxHeadSize: number): Promise<MimeStructure> {
	// A piece at a time, so that a stop stops the reading (a whole buffer written at once would be split to its end).
	const message = Buffer.isBuffer(bytes) ? bytesOf(bytes).open() : bytes;
	const watch = watchMimeStructure();
	const splitter = new Splitter({ ignoreEmbedded: true, maxHeadSize });
	await new Promise<void>((resolve) => {
		// mailsplit's typings declare only 'data'; the splitter is a Transform and emits the rest.
		const stream = splitter as unknown as Transform;
		// The splitter gave up (the sender can make it: too many parts), or the tree went too deep: the file it read from is closed too.
		const stop = () => {
			message.destroy();
			stream.destroy();
			resolve();
		};
		splitter.on('data', (chunk: SplitterChunk) => {
			watch.observe(chunk);
			if (watch.structure.maxDepth > MAX_MIME_DEPTH) stop();
		});
		stream.on('end', () => resolve());
		stream.on('error', stop);
		message.once('error', (error: Error) => stream.destroy(error)).pipe(stream);
	});
	return watch.structure;
}
