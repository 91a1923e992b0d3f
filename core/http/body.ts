/**
 * Reading a posted body ourselves, streaming, byte-exact, within a cap: past the cap the request is answered 413 at
 * once, and the rest of its body read and dropped (dropRest), nothing of it kept.
 */
import { PassThrough, type Writable } from 'node:stream';
import Busboy from 'busboy';

import { noteBytesRead } from '../garbage';
import type { BudgetShare } from '../smtp/budget';

/** Why a request gets no message through: answered with its status, nothing kept. */
export class HttpRefusal extends Error {
	constructor(
		readonly kind: 'unauthorized' | 'too-large' | 'bad-request',
		message: string,
	) {
		super(message);
		this.name = 'HttpRefusal';
	}
}

/** The client went away before the end of its body: it saw no answer, and will try again if it means to. */
export class ClientGone extends HttpRefusal {
	constructor() {
		super('bad-request', 'The request ended before its body did');
	}
}

/** The in-flight budget has no room for the rest of a body: try again later (503), the rest left unread. */
export class BudgetSpentError extends Error {
	constructor() {
		super('The posts being received fill the memory set aside for them: try again later');
		this.name = 'BudgetSpentError';
	}
}

/** A body that stopped coming, or came too slowly: try again later (503), the rest left unread. */
export class BodyTooSlowError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'BodyTooSlowError';
	}
}

/**
 * How long a body may take to arrive: nothing received for a minute (the SMTP listener's idle timeout), or the whole
 * body not within four minutes (against a body dripped a byte at a time; the SMTP listener's DATA deadline is ten, but
 * n8n's HTTP server keeps Node's own five-minute request timeout, which answers a bare 408 that SNS takes as
 * delivered). A stalled post holds its connection, and every byte it sent in the in-flight budget, until then.
 */
export const BODY_DEADLINES = { idleMs: 60_000, wholeMs: 4 * 60_000 };

/** How a body is read. */
export interface BodyReading {
	/** The request's hold on the in-flight budget: every byte read is held in it until the answer. */
	share?: BudgetShare;
	/** BODY_DEADLINES when absent. */
	deadlines?: typeof BODY_DEADLINES;
}

export type Headers = Record<string, string | string[] | undefined>;

/** One header's value (repeated ones joined by a comma, as Node joins them). */
export function header(headers: Headers, name: string): string | null {
	const value = headers[name];
	if (value === undefined) return null;
	return Array.isArray(value) ? value.join(', ') : value;
}

/** A request whose body is about to be read: its headers (any credential in them already checked) and its body. */
export interface PostedRequest {
	headers: Headers;
	body: NodeJS.ReadableStream;
}

/**
 * The request's body, refused at once (nothing read) when its declared length is over the cap. Checked only as the
 * body is read, after a format's header-borne credential (a token, basic auth): a stranger without it hears 401, not
 * 413, and gets no drain of the rest of its body (sendAnswer). A signature over the body is checked after it.
 */
function bodyWithin(request: PostedRequest, cap: number): NodeJS.ReadableStream {
	const declared = header(request.headers, 'content-length');
	if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared.trim()) > cap) {
		throw new HttpRefusal('too-large', `The request declares ${declared.trim()} bytes, over the limit of ${cap}`);
	}
	return request.body;
}

/**
 * Feeds the body into the sink with backpressure, at most `cap` bytes, each held in the reading's share of the
 * in-flight budget; `onChunk` sees every byte fed (a signature computed while reading). Past the cap, the budget or a
 * deadline, or when the sink fails, reading stops and the promise rejects.
 */
export function pumpCapped(body: NodeJS.ReadableStream, cap: number, sink: Writable, reading: BodyReading = {}, onChunk?: (chunk: Buffer) => void): Promise<void> {
	const { share, deadlines = BODY_DEADLINES } = reading;
	return new Promise((resolve, reject) => {
		let total = 0;
		const tooSlow = (message: string) => () => stop(new BodyTooSlowError(message));
		const whole = setTimeout(tooSlow(`The body did not arrive within ${deadlines.wholeMs / 1000} s`), deadlines.wholeMs);
		// The client's silence, not ours: started again at each chunk, and not running while the sink holds the body back.
		const silence = () => setTimeout(tooSlow(`The request sent nothing for ${deadlines.idleMs / 1000} s`), deadlines.idleMs);
		let idle = silence();
		const onDrain = () => {
			idle = silence();
			body.resume();
		};
		const stop = (error?: Error) => {
			clearTimeout(whole);
			clearTimeout(idle);
			body.removeListener('data', onData);
			body.removeListener('end', onEnd);
			body.removeListener('error', onError);
			body.removeListener('close', onClose);
			sink.removeListener('error', onError);
			sink.removeListener('drain', onDrain);
			if (error) {
				body.pause();
				reject(error);
			}
		};
		const onData = (data: Buffer | string) => {
			const chunk = Buffer.isBuffer(data) ? data : Buffer.from(data, 'latin1');
			total += chunk.length;
			noteBytesRead(chunk.length);
			if (total > cap) return stop(new HttpRefusal('too-large', `The request is over the limit of ${cap} bytes`));
			if (share && !share.take(chunk.length)) return stop(new BudgetSpentError());
			onChunk?.(chunk);
			if (sink.write(chunk)) return void idle.refresh();
			clearTimeout(idle);
			body.pause();
			sink.once('drain', onDrain);
		};
		const onEnd = () => {
			stop();
			sink.end();
			resolve();
		};
		// A client gone before the end of its body: nothing to answer, nothing kept, nothing left waiting.
		const onClose = () => stop(new ClientGone());
		const onError = (error: Error) => stop(error instanceof HttpRefusal || error instanceof BudgetSpentError ? error : new HttpRefusal('bad-request', `The request could not be read: ${error.message}`));
		body.on('data', onData);
		body.once('end', onEnd);
		body.once('error', onError);
		body.once('close', onClose);
		sink.once('error', onError);
		body.resume();
	});
}

/**
 * Reads the rest of a body and drops it, up to `maxBytes` and within the deadlines (counted from here): an answer given
 * before the end of its body (a 413) then reaches a client that writes its whole body before it reads, where a
 * connection closed on unread bytes resets it first (hosted-inbox deliver heard a reset, and the MTA retried oversize
 * mail for days instead of bouncing it). As an SMTP server reads DATA to its end before its 552. Never rejects.
 */
export function dropRest(body: NodeJS.ReadableStream & { readableEnded?: boolean; destroyed?: boolean }, maxBytes: number, deadlines = BODY_DEADLINES): Promise<void> {
	if (body.readableEnded || body.destroyed) return Promise.resolve();
	let dropped = 0;
	return new Promise((resolve) => {
		const onData = (chunk: Buffer | string) => {
			dropped += chunk.length;
			noteBytesRead(chunk.length);
			if (dropped > maxBytes) return done();
			idle.refresh();
		};
		const listeners = { data: onData, end: () => done(), close: () => done(), error: () => done() };
		const done = () => {
			clearTimeout(whole);
			clearTimeout(idle);
			for (const [event, listener] of Object.entries(listeners)) body.removeListener(event, listener);
			body.pause();
			resolve();
		};
		const whole = setTimeout(done, deadlines.wholeMs);
		const idle = setTimeout(done, deadlines.idleMs);
		for (const [event, listener] of Object.entries(listeners)) body.on(event, listener);
		body.resume();
	});
}

/** The whole body as bytes, at most `cap`. */
export async function readCapped(request: PostedRequest, cap: number, reading?: BodyReading, onChunk?: (chunk: Buffer) => void): Promise<Buffer> {
	const body = bodyWithin(request, cap);
	const chunks: Buffer[] = [];
	const sink = new PassThrough();
	sink.on('data', (chunk: Buffer) => chunks.push(chunk));
	await pumpCapped(body, cap, sink, reading, onChunk);
	return Buffer.concat(chunks);
}

/** Limits of a form post: a provider sends a few dozen fields; anything far past that is not one. */
export const FORM_LIMITS = { fields: 100, files: 20, parts: 120, fieldNameSize: 100, headerPairs: 20 } as const;
const TOO_MANY_PARTS = `The form has more parts than a provider sends (at most ${FORM_LIMITS.fields} fields, ${FORM_LIMITS.files} files)`;

function formParser(headers: Headers, cap: number): Busboy.Busboy | HttpRefusal {
	try {
		return Busboy({ headers: headers as Busboy.BusboyConfig['headers'], defCharset: 'latin1', defParamCharset: 'latin1', limits: { ...FORM_LIMITS, fieldSize: cap } });
	} catch (error) {
		return new HttpRefusal('bad-request', `Expected a multipart/form-data or urlencoded post: ${(error as Error).message}`);
	}
}

/** Each byte's value as a hex digit, -1 for a byte that is none. */
const HEX_VALUE = new Int8Array(256).fill(-1);
for (const [digits, first] of [['0123456789', 0], ['abcdef', 10], ['ABCDEF', 10]] as const) {
	for (let i = 0; i < digits.length; i++) HEX_VALUE[digits.charCodeAt(i)] = first + i;
}

/** The bytes an urlencoded name or value stands for: "+" a space, "%XX" its byte; a "%" before no two hex digits is a bad request. */
function decoded(bytes: Buffer): Buffer {
	const out = Buffer.allocUnsafe(bytes.length);
	let length = 0;
	for (let at = 0; at < bytes.length; at++) {
		const byte = bytes[at];
		if (byte !== 0x25) {
			out[length++] = byte === 0x2b ? 0x20 : byte;
			continue;
		}
		const [high, low] = [HEX_VALUE[bytes[at + 1] ?? 0], HEX_VALUE[bytes[at + 2] ?? 0]];
		if (high < 0 || low < 0) throw new HttpRefusal('bad-request', 'The form could not be read: a "%" before no two hex digits');
		out[length++] = high * 16 + low;
		at += 2;
	}
	return out.subarray(0, length);
}

/**
 * An urlencoded post's fields, each value the bytes it escapes, from the body read whole: busboy grows a value a
 * piece per escape, and a 30 MB post of "%41%41..." took 467 MB. The first value of a field counts.
 */
function urlencodedFields(body: Buffer): Map<string, Buffer> {
	const fields = new Map<string, Buffer>();
	for (let start = 0, count = 0; start < body.length; ) {
		const ampersand = body.indexOf(0x26, start);
		const end = ampersand < 0 ? body.length : ampersand;
		if (end > start) {
			if (++count > FORM_LIMITS.fields) throw new HttpRefusal('bad-request', TOO_MANY_PARTS);
			const pair = body.subarray(start, end);
			const equals = pair.indexOf(0x3d);
			const name = decoded(equals < 0 ? pair : pair.subarray(0, equals)).toString('latin1').slice(0, FORM_LIMITS.fieldNameSize);
			if (!fields.has(name)) fields.set(name, equals < 0 ? Buffer.alloc(0) : decoded(pair.subarray(equals + 1)));
		}
		start = end + 1;
	}
	return fields;
}

/**
 * A multipart/form-data or urlencoded post, each field's value as the bytes sent (fields that declare no charset
 * are read as latin1, one character per byte, and turned back into those bytes). Files are read past, not kept.
 */
export async function readForm(request: PostedRequest, cap: number, reading?: BodyReading): Promise<Map<string, Buffer>> {
	const type = (header(request.headers, 'content-type') ?? '').split(';')[0].trim().toLowerCase();
	if (type === 'application/x-www-form-urlencoded') return urlencodedFields(await readCapped(request, cap, reading));
	const body = bodyWithin(request, cap);
	const form = formParser(request.headers, cap);
	if (form instanceof HttpRefusal) throw form;
	const fields = new Map<string, Buffer>();
	// A form that ends badly (cut short, a malformed part) says so after the body's end: a bad request too.
	const finished = new Promise<void>((resolve, reject) => {
		form.once('close', resolve);
		form.on('error', (error: Error) => reject(error instanceof HttpRefusal ? error : new HttpRefusal('bad-request', `The form could not be read: ${error.message}`)));
	});
	finished.catch(() => undefined);
	const refuse = (kind: HttpRefusal['kind'], message: string) => form.destroy(new HttpRefusal(kind, message));
	form.on('field', (name, value, info) => {
		if (info.valueTruncated) refuse('too-large', `The field ${name} is over the limit of ${cap} bytes`);
		// The first value of a repeated field counts: a later one cannot replace what was read.
		else if (!fields.has(name)) fields.set(name, Buffer.from(value, 'latin1'));
	});
	form.on('file', (_name, stream) => stream.resume());
	for (const limit of ['fieldsLimit', 'filesLimit', 'partsLimit'] as const) {
		form.on(limit, () => refuse('bad-request', TOO_MANY_PARTS));
	}
	await pumpCapped(body, cap, form, reading);
	await finished;
	return fields;
}

/** A JSON body (at most `cap` bytes); anything that is not JSON is a bad request. */
export async function readJson(request: PostedRequest, cap: number, reading?: BodyReading): Promise<unknown> {
	const parsed = parseJson((await readCapped(request, cap, reading)).toString('utf8'));
	if (parsed instanceof HttpRefusal) throw parsed;
	return parsed;
}

/** JSON text parsed, or the refusal saying it is not JSON. */
export function parseJson(text: string, what = 'The body'): unknown {
	try {
		return JSON.parse(text) as unknown;
	} catch (error) {
		return new HttpRefusal('bad-request', `${what} is not JSON: ${(error as Error).message}`);
	}
}
