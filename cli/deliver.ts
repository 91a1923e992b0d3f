import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';

import { foldControlCharacters, hasControlCharacters } from '../core/intake/headers';

const DELIVER_USAGE =
	'hosted-inbox deliver --url URL --token-file FILE --sender ADDR --recipient ADDR [--recipient ADDR ...] [--client-ip IP --helo NAME] [--timeout SECONDS] < message';

/**
 * sysexits(3), as Postfix's and Exim's pipe transports read them. 75 is the only code both MTAs defer on by default
 * (Postfix bounces on EX_CONFIG, 5.3.5; Exim's temp_errors is 73:75), so every problem that is not this message's
 * own (an unreadable token file, a wrong token, the door down) exits 75 and the mail stays queued.
 */
const EXIT = { delivered: 0, usage: 64, unavailable: 69, tempFail: 75, noPermission: 77 } as const;

const DEFAULT_TIMEOUT_SECONDS = 300;
/** The door's answer is a short JSON object: no more of a body is read. */
const MAX_ANSWER_BYTES = 64 * 1024;
/** Within an SMTP reply line (512 bytes), as the door writes it. */
const MAX_LINE = 400;

interface DeliverOptions {
	url: URL;
	tokenFile: string;
	sender: string;
	recipients: string[];
	clientIp: string | null;
	helo: string | null;
	timeoutMs: number;
}

/** What came back: the door's answer (its HTTP status and SMTP reply), or why there was none. */
type Exchange =
	| { answered: true; status: number; reply: string | null; beforeEnd: boolean; location: string | null }
	| { answered: false; problem: string; enhancedCode: string };

/** The exit code, and the line the MTA puts in its bounce or defer notice. */
interface Outcome {
	code: number;
	line: string;
	/** Said on stderr too: a setup problem the mail admin must fix. */
	warning?: string;
}

/** The command line as an MTA's pipe transport fills it in; a bad one is a usage error (exit 64). */
function parseDeliverArgs(args: string[]): DeliverOptions | { usageError: string } {
	try {
		return deliverOptions(args);
	} catch (error) {
		return { usageError: (error as Error).message };
	}
}

function deliverOptions(args: string[]): DeliverOptions {
	const { values } = parseArgs({
		args,
		strict: true,
		allowPositionals: false,
		options: {
			url: { type: 'string' },
			'token-file': { type: 'string' },
			sender: { type: 'string' },
			recipient: { type: 'string', multiple: true },
			'client-ip': { type: 'string' },
			helo: { type: 'string' },
			timeout: { type: 'string' },
		},
	});
	const missing = ['url', 'token-file', 'sender', 'recipient'].filter((name) => values[name as keyof typeof values] === undefined);
	if (missing.length > 0) throw new Error(`missing --${missing.join(', --')}`);
	if (!URL.canParse(values.url!)) throw new Error('--url is not a URL');
	const url = new URL(values.url!);
	if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('--url must be http: or https:');
	const timeout = values.timeout === undefined ? DEFAULT_TIMEOUT_SECONDS : Number(values.timeout);
	if (!Number.isFinite(timeout) || timeout <= 0 || timeout > 3600) throw new Error('--timeout must be a number of seconds, more than 0 and at most 3600');
	const recipients = values.recipient!.filter((recipient) => recipient !== '');
	if (recipients.length === 0) throw new Error('--recipient is empty');
	// Postfix passes an empty ${client_address}/${client_helo} for mail that did not come over SMTP.
	const optional = (value: string | undefined) => (value ? value : null);
	const options: DeliverOptions = {
		url,
		tokenFile: values['token-file']!,
		// The null sender: Postfix's ${sender} with null_sender= is empty; SMTP writes it <>.
		sender: values.sender === '' ? '<>' : values.sender!,
		recipients,
		clientIp: optional(values['client-ip']),
		helo: optional(values.helo),
		timeoutMs: Math.round(timeout * 1000),
	};
	for (const value of [options.sender, ...recipients, options.clientIp ?? '', options.helo ?? '']) {
		if (value.length > 1000 || hasControlCharacters(value)) throw new Error('an envelope value holds a control character or is too long');
	}
	return options;
}

/** UTF-8 addresses (SMTPUTF8) go on the wire as their UTF-8 bytes: node writes a header string as latin1. */
const headerBytes = (value: string) => Buffer.from(value, 'utf8').toString('latin1');

/** The URL without credentials or query, for messages. */
const shown = (url: URL) => `${url.origin}${url.pathname}`;

/**
 * POSTs the message from `input` to the HTTP door as it is read (never held whole), and reads the door's answer.
 * An answer that comes before the message is all sent (a 413 while streaming, a 401 before reading) ends the upload;
 * the rest of the input is then read and dropped, so the MTA writing it does not fail on a broken pipe.
 */
async function postMessage(options: DeliverOptions, token: string, input: Readable): Promise<Exchange> {
	const headers: http.OutgoingHttpHeaders = {
		'Content-Type': 'message/rfc822',
		Accept: 'application/json',
		Authorization: `Bearer ${token}`,
		'User-Agent': 'hosted-inbox-deliver',
		'X-Envelope-From': headerBytes(options.sender),
		'X-Envelope-To': options.recipients.map(headerBytes),
	};
	if (options.clientIp) headers['X-Client-IP'] = options.clientIp;
	if (options.helo) headers['X-Client-Helo'] = headerBytes(options.helo);

	let inputEnded = false;
	input.once('end', () => (inputEnded = true));
	const deadline = Date.now() + options.timeoutMs;

	const exchange = await new Promise<Exchange>((resolve) => {
		const transport = options.url.protocol === 'https:' ? https : http;
		const request = transport.request(options.url, { method: 'POST', headers, agent: false });
		let settled = false;
		const settle = (result: Exchange) => {
			if (settled) return;
			settled = true;
			clearTimeout(timer);
			resolve(result);
		};
		const timer = setTimeout(() => {
			settle({ answered: false, problem: `no answer from ${shown(options.url)} within ${options.timeoutMs / 1000} s`, enhancedCode: '4.4.2' });
			request.destroy();
		}, options.timeoutMs);

		request.on('error', (error: NodeJS.ErrnoException) => {
			settle({ answered: false, problem: `connection to ${shown(options.url)} failed: ${error.code ?? error.message}`, enhancedCode: '4.4.1' });
		});
		input.on('error', (error) => {
			settle({ answered: false, problem: `cannot read the message: ${error.message}`, enhancedCode: '4.3.0' });
			request.destroy();
		});
		request.on('response', (response) => {
			const beforeEnd = !inputEnded;
			input.unpipe(request);
			const chunks: Buffer[] = [];
			let size = 0;
			const answered = () => {
				settle({
					answered: true,
					status: response.statusCode ?? 0,
					reply: replyOf(Buffer.concat(chunks).toString('utf8')),
					beforeEnd,
					location: typeof response.headers.location === 'string' ? response.headers.location.slice(0, 200) : null,
				});
				request.destroy();
			};
			response.on('data', (chunk: Buffer) => {
				if (size >= MAX_ANSWER_BYTES) return;
				chunks.push(chunk);
				size += chunk.length;
				if (size >= MAX_ANSWER_BYTES) answered();
			});
			response.on('end', answered);
			response.on('error', answered);
		});
		input.pipe(request);
	});

	if (!inputEnded && !input.destroyed) {
		input.resume();
		await new Promise<void>((resolve) => {
			const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
			input.once('end', () => (clearTimeout(timer), resolve()));
			input.once('error', () => (clearTimeout(timer), resolve()));
		});
	}
	return exchange;
}

/** The SMTP reply of a door's JSON answer (`{ status, reply }`), one printable line; null when there is none. */
function replyOf(body: string): string | null {
	let parsed: unknown;
	try {
		parsed = JSON.parse(body);
	} catch {
		return null;
	}
	const reply = parsed !== null && typeof parsed === 'object' ? (parsed as { reply?: unknown }).reply : undefined;
	if (typeof reply !== 'string') return null;
	const line = foldControlCharacters(reply).trim().slice(0, MAX_LINE);
	return line || null;
}

/** `250 2.0.0 Queued as x` -> its enhanced code and text (the reply code is implied by the enhanced code's class). */
function splitReply(reply: string | null): { enhancedCode: string | null; text: string | null } {
	if (!reply) return { enhancedCode: null, text: null };
	const rest = reply.replace(/^[2-5]\d\d(?:[ -]|$)/, '');
	const match = /^([245]\.\d{1,3}\.\d{1,3})(?: |$)/.exec(rest);
	return match ? { enhancedCode: match[1], text: rest.slice(match[0].length).trim() || null } : { enhancedCode: null, text: rest.trim() || null };
}

/** The same status as a temporary one: a 4.x.x code keeps the MTA from bouncing (Postfix believes the code it reads). */
const temporary = (enhancedCode: string | null, fallback: string) => (enhancedCode ? `4${enhancedCode.slice(1)}` : fallback);

/**
 * The exit code and the line for one exchange. The line starts with an RFC 3463 code whose class matches the exit
 * code: Postfix's pipe(8) takes a leading "D.S.N text" over the exit status.
 */
function outcomeOf(exchange: Exchange, url: URL): Outcome {
	if (!exchange.answered) return { code: EXIT.tempFail, line: `${exchange.enhancedCode} ${exchange.problem}; the message stays queued` };
	const { status, beforeEnd } = exchange;
	const { enhancedCode, text } = splitReply(exchange.reply);
	const where = `HTTP ${status} from ${shown(url)}`;

	if (status >= 200 && status < 300) {
		// The door answers 2xx only once it has the whole message: an earlier one did not keep this message.
		if (beforeEnd) return { code: EXIT.tempFail, line: `4.3.0 ${where} came before the whole message was sent; the message stays queued` };
		return { code: EXIT.delivered, line: `${enhancedCode ?? '2.0.0'} ${text ?? `Delivered (${where})`}` };
	}
	if (status === 413 && (enhancedCode === null || enhancedCode.startsWith('5'))) {
		return { code: EXIT.unavailable, line: `${enhancedCode ?? '5.3.4'} ${text ?? `Message too big for the hosted inbox (${where})`}` };
	}
	// A 422 is a final refusal only with the door's 5xx reply: anything else in between must not bounce mail.
	if (status === 422 && enhancedCode?.startsWith('5')) {
		return { code: enhancedCode.startsWith('5.7.') ? EXIT.noPermission : EXIT.unavailable, line: `${enhancedCode} ${text ?? `Refused (${where})`}` };
	}
	if (status === 401 || status === 403) {
		return {
			code: EXIT.tempFail,
			line: `${temporary(enhancedCode, '4.7.0')} ${text ?? 'Not authorized'} (${where}); the message stays queued`,
			warning: `the door did not accept the token: check --token-file against the trigger's token (mail is deferred, not bounced, until it does)`,
		};
	}
	if (status >= 300 && status < 400) {
		return {
			code: EXIT.tempFail,
			line: `4.3.5 ${where} redirects${exchange.location ? ` to ${exchange.location}` : ''}; the message stays queued`,
			warning: `set --url to the webhook's own URL (its production URL), not one that redirects`,
		};
	}
	return { code: EXIT.tempFail, line: `${temporary(enhancedCode, '4.3.0')} ${text ? `${text} (${where})` : `${where}`}; the message stays queued` };
}

/** The bearer token: the file's content, trimmed. */
function readToken(file: string): string {
	const token = readFileSync(file, 'utf8').trim();
	if (!token) throw new Error('it is empty');
	if (/[^\x21-\x7e]/.test(token)) throw new Error('it holds more than one token (spaces or control characters)');
	return token;
}

/** `deliver`: a message on stdin to the hosted inbox's HTTP door, as an MTA's pipe transport runs a delivery agent. */
export async function deliverCommand(args: string[]): Promise<number> {
	const options = parseDeliverArgs(args);
	if ('usageError' in options) {
		process.stderr.write(`hosted-inbox deliver: ${options.usageError}\nusage: ${DELIVER_USAGE}\n`);
		return EXIT.usage;
	}
	let token: string;
	try {
		token = readToken(options.tokenFile);
	} catch (error) {
		const problem = `cannot use the token file ${options.tokenFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
		process.stdout.write(`4.3.5 ${problem}; the message stays queued\n`);
		process.stderr.write(`hosted-inbox deliver: ${problem} (it must be readable by the user the MTA runs this command as)\n`);
		return EXIT.tempFail;
	}
	const outcome = outcomeOf(await postMessage(options, token, process.stdin), options.url);
	// stdout first: Postfix reads a leading "D.S.N text" from the command's output (stdout and stderr together).
	process.stdout.write(`${outcome.line}\n`);
	if (outcome.warning) process.stderr.write(`hosted-inbox deliver: ${outcome.warning}\n`);
	return outcome.code;
}
