/**
 * Each crafted input against its defused twin (the same message with the crafted characters replaced by letters:
 * same size, same lines), through the whole intake in the same run.
 * Run: npm run bench:hostile   (prints the cost ratio per case; each must be at most 3x, the exit code says so)
 */
import { zoneResolver, type DnsResolver } from '../core/dns';
import { runChecks } from '../core/intake/pipeline';
import { compose, makeKey, sign, testInbox, testWorld, zoneOf } from '../test/fixtures/mail';

const MAX_RATIO = 3;
const world = testWorld();
const inbox = testInbox();
const envelope = { clientIp: '198.51.100.7', helo: 'mx.customer.test', mailFrom: 'carol@customer.test' };
/** A domain whose records are the sender's own, as the DNS cases publish them. */
const evil = makeKey('evil.test');
const EVIL_SENDER = `${'b'.repeat(64)}@evil.test`;

interface Case {
	name: string;
	from: string;
	subject: string;
	text: string;
	headers?: Record<string, string>;
	/** Signed by the team's domain: an authenticated insider, whose forwards are read. */
	insider?: boolean;
	/** The characters that make the input crafted; the twin has letters in their place. */
	crafted: RegExp;
	/** A TXT record the sender publishes (crafted too), and the MAIL FROM it is looked up for. */
	dns?: { name: string; record: string; mailFrom: string };
	/** Signed by the sender's own domain (evil.test). */
	signedByEvil?: boolean;
}

const fill = (unit: string, length: number) => unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
const forward = (body: string) => `FYI\n\n---------- Forwarded message ---------\n${body}`;

/** The attacks of the red-team review, and their neighbours, at a size where they used to hurt. */
function cases(size: number): Case[] {
	const blanks = `From: ${fill(' ', size / 2)}x\n${fill(' \n', size / 2)}`;
	return [
		{ name: 'a@a@a@ in a forged Google confirmation', from: 'forwarding-noreply@google.com', subject: `(#123456) ${fill('a@', 900)}`, text: fill('a@', size), crafted: /@/g },
		{ name: 'whitespace runs in a forward, forged internal From', from: 'agent@company.test', subject: 'Fwd: x', text: forward(blanks), crafted: / /g },
		{ name: 'whitespace runs in a forward, authenticated insider', from: 'agent@company.test', subject: 'Fwd: x', text: forward(blanks), insider: true, crafted: / /g },
		{ name: '"On x, "a" <" lines in a forward, authenticated insider', from: 'agent@company.test', subject: 'Fwd: x', text: forward(fill(`On x, "${'a" <'.repeat(60)}\n`, size)), insider: true, crafted: /["<,]/g },
		{ name: 'separators without addresses, authenticated insider', from: 'agent@company.test', subject: 'Fwd: x', text: fill('-----Original Message-----\nFrom: a\nTo: b\n', size), insider: true, crafted: /[-:]/g },
		{ name: 'ten nested forwards, authenticated insider', from: 'agent@company.test', subject: 'Fwd: x', text: fill('---------- Forwarded message ---------\nFrom: Carol <carol@customer.test>\nSubject: Fwd: x\n\n', size), insider: true, crafted: /[-:]/g },
		{ name: `"' via a' via a…" display name`, from: `"${fill("' via a", size / 4)}" <list@lists.example.test>`, subject: 'hello', text: fill('Hello, my order is late. ', size / 2), crafted: /v/g },
		{ name: '">>>>" Message-ID and References', from: 'carol@customer.test', subject: 'hello', text: fill('Hello, my order is late. ', size / 2), headers: { 'Message-ID': `<${fill('>', size / 4)}x`, References: `<a@b> ${fill('>', size / 4)}x` }, crafted: />/g },
		// The sender's own DNS: an SPF record of %{l} macros (mailauth's name check is quadratic on the name they make),
		// and a key record padded with empty tags (parsed with a splice per tag).
		{ name: 'an SPF record of %{l} macros', from: EVIL_SENDER, subject: 'hello', text: 'hello', dns: { name: 'evil.test', record: `v=spf1 include:a.${fill('%{l}', size / 8)}_ -all`, mailFrom: EVIL_SENDER }, crafted: /[%{}]/g },
		{ name: 'a DKIM key record of empty tags', from: EVIL_SENDER, subject: 'hello', text: 'hello', signedByEvil: true, dns: { name: `${evil.selector}._domainkey.evil.test`, record: `${keyRecord()}; ${fill('a;;', size)}`, mailFrom: EVIL_SENDER }, crafted: /;;/g },
	];
}

function keyRecord(): string {
	const [{ TXT }] = Object.values(evil.zone) as Array<{ TXT: string[][] }>;
	return TXT[0].join('');
}

interface Input {
	raw: Buffer;
	resolver: DnsResolver;
	envelope: typeof envelope;
}

async function build(c: Case, defuse: boolean): Promise<Input> {
	const letters = (value: string) => (defuse ? value.replace(c.crafted, (found) => 'x'.repeat(found.length)) : value);
	const headers = c.headers && Object.fromEntries(Object.entries(c.headers).map(([k, v]) => [k, letters(v)]));
	const raw = await compose({ from: c.dns ? c.from : letters(c.from), to: inbox.address, subject: letters(c.subject), text: letters(c.text), headers });
	const signed = c.insider ? await sign(raw, world.company) : c.signedByEvil ? await sign(raw, evil) : raw;
	const published = c.dns ? { [c.dns.name]: { TXT: [letters(c.dns.record).match(/.{1,255}/g) ?? []] } } : {};
	return { raw: signed, resolver: zoneResolver(zoneOf(world.zone, evil.zone, published)), envelope: c.dns ? { ...envelope, mailFrom: c.dns.mailFrom } : envelope };
}

async function once({ raw, resolver, envelope }: Input): Promise<number> {
	const start = process.hrtime.bigint();
	await runChecks(raw, { inbox, resolver, envelope });
	return Number(process.hrtime.bigint() - start) / 1e6;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
	const out = (line: string) => process.stdout.write(`${line}\n`);
	let worst = 0;
	for (const size of [8 * 1024, 64 * 1024]) {
		for (const c of cases(size)) {
			const crafted = await build(c, false);
			const twin = await build(c, true);
			for (let i = 0; i < 5; i++) await Promise.all([once(crafted), once(twin)]);
			// Alternating, so both see the same machine load; the median of each.
			const times = { crafted: [] as number[], twin: [] as number[] };
			for (let i = 0; i < 31; i++) {
				times.crafted.push(await once(crafted));
				times.twin.push(await once(twin));
			}
			const ratio = median(times.crafted) / median(times.twin);
			worst = Math.max(worst, ratio);
			out(`${c.name}, ${crafted.raw.length} bytes: ${median(times.crafted).toFixed(2)} ms, twin ${twin.raw.length} bytes ${median(times.twin).toFixed(2)} ms, ratio ${ratio.toFixed(2)}x${ratio > MAX_RATIO ? '  OVER' : ''}`);
		}
	}
	out(`worst ratio ${worst.toFixed(2)}x (limit ${MAX_RATIO}x)`);
	process.exitCode = worst > MAX_RATIO ? 1 : 0;
}

void main();
