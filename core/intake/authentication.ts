// mailauth 4.13 is the newest line that runs on Node 20: 7.x needs Node >= 22.19 and crashes on 20.
import { arc, dkimVerify, dmarc, spf } from 'mailauth';
import type { ARCChainEntry, ARCResult, DKIMResult, DKIMVerifyResult, DMARCResult, SPFResult } from 'mailauth';
import { getAlignment, parseDkimHeaders, parseHeaders } from 'mailauth/lib/tools';
import type { ParsedMail } from 'mailparser';
import { BlockList, isIP } from 'node:net';
import { hostname } from 'node:os';
import { Readable } from 'node:stream';

import { domainOf } from '../address';
import type { DnsResolver } from '../dns';
import type { InboxConfig, IntakeDoor } from '../inbox';
import { readFrom, type MessageBytes } from '../message-bytes';
import { boundedAnswers, spfIdentityProblem } from './bounded-dns';
import { authorOf } from './headers';
import type { AuthSummary, Envelope } from './types';

/** This host's name, in the SPF result's comment: read once, os.hostname() is a system call. */
const MTA_NAME = hostname();

/** RFC 6376 §6.1 lets a verifier limit the signatures it checks: each costs a key lookup and may cost a body hash. */
export const MAX_DKIM_SIGNATURES = 10;

/** What later stages need to know about authentication beyond the printed summary. */
export interface AuthDetails {
	headerFromDomain: string | null;
	/** A passing DKIM signature aligned with the From domain. */
	dkimAlignedPass: boolean;
	dmarcPass: boolean;
	/** A passing ARC chain sealed by a trusted sealer that recorded a pass for the From domain (see arcVouchFor). */
	arcTrustedPass: boolean;
	/** What the trusted sealers recorded, newest first: the consecutive trusted-sealer sets of a passing chain. */
	arcRecords: ArcRecord[];
	/** The DKIM signatures that verified: each one's domain and the header fields it signed (one name an instance). */
	passingDkim: PassingDkim[];
	/** An upstream Authentication-Results header this inbox trusts (trusted relay or authserv-id). */
	upstream: UpstreamResults | null;
	/** Why a topmost Authentication-Results with a trusted authserv-id was not believed, when it was not. */
	upstreamIgnored: string | null;
	/** DNS lookups that failed temporarily, described for a person. */
	dnsTrouble: string[];
	/** Those of them DMARC depends on: its own record, or an identifier that could align with the From domain. */
	dmarcDnsTrouble: string[];
	/** DKIM signatures left unverified: over MAX_DKIM_SIGNATURES or MAX_BODY_HASHES, or longer than any signer writes. */
	ignoredDkimSignatures: number;
	dmarcResult: DMARCResult | false;
	spfResult: SPFResult | null;
	dkimResults: DKIMResult[];
	arcResult: ARCResult | null;
}

export interface UpstreamResults {
	authservId: string;
	/** Why it is trusted: "trusted relay 192.0.2.7" or "trusted authserv-id mx.example". */
	trustedAs: string;
	results: Record<string, string>;
}

/** One ARC set's ARC-Authentication-Results: what its sealer saw when the message reached it. */
export interface ArcRecord {
	i: number;
	sealer: string;
	/** The From domain the sealer saw (its dmarc header.from, whatever the result), when it recorded one. */
	from: string | null;
	/** Passing results as "method domain": `dmarc` with header.from, `dkim` with header.d/i, `spf` with smtp.mailfrom. */
	passes: Array<{ method: 'dmarc' | 'dkim' | 'spf'; domain: string }>;
}

export interface AuthInput {
	/** The message from its first header field on, read as a stream. */
	message: MessageBytes;
	/** Its first bytes: the header section at least, as far as one may go. */
	head: Buffer;
	/** Bytes of the top-level header section, blank line included. */
	headerBytes: number;
	parsed: ParsedMail | null;
	inbox: InboxConfig;
	/** Which door the message came through: decides whose Authentication-Results can be believed. */
	via: IntakeDoor;
	envelope: Envelope;
	resolver: DnsResolver;
	now: Date | null;
}

/**
 * Alignment without a public-suffix list: the signing (or SPF) domain is the domain itself or a parent of it.
 * Not a child: under a shared suffix (a dynamic-DNS zone) anyone may publish keys for a child of its apex.
 */
export function alignedWith(signer: string, domain: string): boolean {
	return domain === signer || domain.endsWith(`.${signer}`);
}

function matchesDomain(domain: string, list: string[]): boolean {
	const d = domain.toLowerCase();
	return list.some((entry) => d === entry || d.endsWith(`.${entry}`));
}

function inRelays(ip: string | null, relays: string[]): boolean {
	if (!ip || !relays.length) return false;
	const family = isIP(ip);
	if (!family) return false;
	const list = new BlockList();
	for (const range of relays) {
		const [net, bits] = range.split('/');
		const netFamily = isIP(net);
		if (!netFamily) continue;
		const type = netFamily === 6 ? 'ipv6' : 'ipv4';
		if (bits === undefined) list.addAddress(net, type);
		else list.addSubnet(net, Number(bits), type);
	}
	return list.check(ip, family === 6 ? 'ipv6' : 'ipv4');
}

/** Reads `method=result` pairs of one Authentication-Results header (RFC 8601), comments dropped. */
export function parseAuthenticationResults(line: string | Buffer): { authservId: string; results: Record<string, string> } {
	const value = String(line)
		.replace(/^[^:]*:/, '')
		.replace(/\r?\n[ \t]+/g, ' ')
		.replace(/\([^()]*\)/g, ' ');
	const [id, ...rest] = value.split(';');
	const results: Record<string, string> = {};
	for (const item of rest) {
		const match = /^\s*([a-z0-9-]+)\s*=\s*([a-z]+)/i.exec(item);
		if (match && !(match[1].toLowerCase() in results)) results[match[1].toLowerCase()] = match[2].toLowerCase();
	}
	return { authservId: id.trim().split(/\s+/)[0]?.toLowerCase() ?? '', results };
}

/**
 * The topmost Authentication-Results, believed only when its authserv-id is one the inbox names and whoever
 * wrote it is the receiving server: on IMAP the mailbox's own server; on SMTP a trusted relay (the client
 * writes the topmost header, so a stranger's is the stranger's). A sender can write any authserv-id below it.
 */
function findUpstream(input: AuthInput, headers: DKIMVerifyResult['headers']): { upstream: UpstreamResults | null; ignored: string | null } {
	const top = (headers?.parsed ?? []).find((h) => h.key === 'authentication-results') as { line: string | Buffer } | undefined;
	const results = top ? parseAuthenticationResults(top.line) : null;
	if (!results || !input.inbox.trustedAuthservIds.includes(results.authservId)) return { upstream: null, ignored: null };
	if (input.via === 'imap') return { upstream: { ...results, trustedAs: `authserv-id ${results.authservId} of the mailbox's server` }, ignored: null };
	// Only an authenticated relay or provider posts to the HTTP door, and it wrote the topmost header.
	if (input.via === 'http') return { upstream: { ...results, trustedAs: `authserv-id ${results.authservId} of the provider that posted it` }, ignored: null };
	const { clientIp } = input.envelope;
	if (inRelays(clientIp, input.inbox.trustedRelays)) return { upstream: { ...results, trustedAs: `trusted relay ${clientIp} with authserv-id ${results.authservId}` }, ignored: null };
	const fix = input.inbox.trustedRelays.length ? 'it is not in trustedRelays' : 'the inbox names no trustedRelays; add the IP ranges of the relays that write this header';
	return {
		upstream: null,
		ignored: `Authentication-Results of ${results.authservId} not believed: on SMTP only a trusted relay's count, and the client ${clientIp ?? '(unknown)'} could have written it (${fix})`,
	};
}

/** A domain of an Authentication-Results property: `@d`, `user@d` or `d`. */
function propertyDomain(value: unknown): string | null {
	if (typeof value !== 'string' || !value) return null;
	return value.slice(value.lastIndexOf('@') + 1).toLowerCase() || null;
}

/** One method's entry of a parsed Authentication-Results header, as mailauth's header parser leaves it. */
interface ParsedMethod {
	value?: string;
	header?: Record<string, string>;
	smtp?: Record<string, string>;
}

const passed = (entry: unknown): entry is ParsedMethod => (entry as ParsedMethod | undefined)?.value?.toLowerCase() === 'pass';

/** The passing results one ARC-Authentication-Results records, each with the domain it is for. */
function arcPasses(aar: Record<string, unknown>): ArcRecord['passes'] {
	const passes: ArcRecord['passes'] = [];
	const add = (method: ArcRecord['passes'][number]['method'], value: unknown) => {
		const domain = propertyDomain(value);
		if (domain) passes.push({ method, domain });
	};
	if (passed(aar.dmarc)) add('dmarc', aar.dmarc.header?.from);
	for (const dkim of Array.isArray(aar.dkim) ? aar.dkim : []) if (passed(dkim)) add('dkim', dkim.header?.d ?? dkim.header?.i);
	if (passed(aar.spf)) add('spf', aar.spf.smtp?.mailfrom);
	return passes;
}

/**
 * The ARC-Authentication-Results of the consecutive sets sealed by trusted sealers, newest first. Read before
 * mailauth's arc() runs: it rewrites the newest set's parsed header in place.
 */
function trustedArcRecords(chain: ARCChainEntry[] | false | undefined, inbox: InboxConfig): ArcRecord[] {
	const records: ArcRecord[] = [];
	for (const set of [...(chain || [])].reverse()) {
		const sealer = String(set['arc-seal']?.parsed?.d?.value ?? '').toLowerCase();
		if (!sealer || !matchesDomain(sealer, inbox.trustedArcSealers)) break;
		const aar = (set['arc-authentication-results']?.parsed ?? {}) as Record<string, unknown>;
		records.push({ i: set.i, sealer, from: propertyDomain((aar.dmarc as ParsedMethod | undefined)?.header?.from), passes: arcPasses(aar) });
	}
	return records;
}

/**
 * Whether a trusted sealer recorded, on receipt, that mail of `domain` authenticated: dmarc=pass for it, or a
 * DKIM or SPF pass aligned with it. Described for a person, or null.
 */
export function arcVouchFor(details: Pick<AuthDetails, 'arcRecords'>, domain: string | null): string | null {
	if (!domain) return null;
	for (const record of details.arcRecords) {
		// A DKIM or SPF pass on mail whose From was another domain proves that mail, not mail of `domain`.
		if (record.from && record.from !== domain) continue;
		const pass = record.passes.find((p) => (p.method === 'dmarc' ? p.domain === domain : alignedWith(p.domain, domain)));
		if (pass) return `the ARC set i=${record.i} sealed by ${record.sealer} (trusted) recorded ${pass.method}=pass for ${pass.domain}`;
	}
	return null;
}

export interface PassingDkim {
	domain: string;
	/** Lowercased, one name for each instance signed (DKIM signs instances from the bottom up). */
	signedFields: string[];
}

/** The header fields a signature signed, one name an instance, as mailauth verified them ("From: To: Subject"). */
function signedFields(result: DKIMResult): string[] {
	const keys = (result as DKIMResult & { signingHeaders?: { keys?: string } }).signingHeaders?.keys ?? '';
	return keys
		.split(':')
		.map((key) => key.trim().toLowerCase())
		.filter(Boolean);
}

/**
 * Whether a passing signature signed every instance of `field` the message holds (`present`): a field it left out,
 * or one more instance than it signed, anyone could have added after it signed.
 */
export function signsEvery(signature: PassingDkim, field: string, present: number): boolean {
	return signature.signedFields.filter((name) => name === field).length >= present;
}

/**
 * A passing signature held to what it vouches for, which mailauth 4.13 does not check: one that does not sign From
 * is ignored (RFC 6376 §5.4, §6.1.1), and one whose l= leaves part of the body unsigned does not count either,
 * since anyone could have appended that part (a pass stays a pass only for the bytes it signed).
 */
function heldToItsWord(result: DKIMResult): DKIMResult {
	if (result.status.result !== 'pass') return result;
	if (!signedFields(result).includes('from')) {
		return { ...result, status: { ...result.status, result: 'permerror', comment: 'the signature does not sign From (RFC 6376 §6.1.1)' } };
	}
	const unsigned = Number(result.status.underSized) || 0;
	if (unsigned > 0) {
		return { ...result, status: { ...result.status, result: 'neutral', comment: `the signature's l= leaves ${unsigned} bytes of the body unsigned: they may have been added by anyone` } };
	}
	return result;
}

function alignsWith(fromDomain: string | null, domain: string | null | undefined): boolean {
	return !!fromDomain && !!domain && !!getAlignment(fromDomain, [domain]);
}

interface SignatureField {
	line: Buffer;
	domain: string;
	selector: string | null;
	aligned: boolean;
	/** Why it is not verified. */
	why: string;
}

/**
 * A signature or seal field longer than this no signer writes (real ones stay under 2 KB): mailauth's canonicalization
 * of one grows with the square of a run of ';' or ':' in it (250 KB took 48 s), before any key is looked up.
 */
const MAX_SIGNATURE_FIELD_BYTES = 8 * 1024;
const SIGNATURE_FIELDS = new Set(['dkim-signature', 'arc-seal', 'arc-message-signature', 'arc-authentication-results']);
const tooLong = (field: { key: string | null; line: Buffer | string }) => SIGNATURE_FIELDS.has(field.key ?? '') && field.line.length > MAX_SIGNATURE_FIELD_BYTES;

/**
 * Body hashes one message's signatures may ask for (each distinct body canonicalization, hash and l= is a pass over
 * the whole body, with its own buffers: ten on 25 MB took 12.6 s and 710 MB). Real mail asks for one or two.
 */
export const MAX_BODY_HASHES = 3;

/** What a signature's body hash depends on: two signatures with the same key share one pass over the body. */
function bodyHashKey(tags: ReturnType<typeof parseDkimHeaders>['parsed']): string {
	const body = (tags?.c?.value ?? 'simple/simple').split('/')[1] ?? 'simple';
	return `${body.toLowerCase()} ${(tags?.a?.value ?? '').split('-').pop()?.toLowerCase()} ${tags?.l?.value ?? ''}`;
}

/**
 * The message as DKIM and ARC verify it: no signature or seal field longer than any signer writes (left unread), at
 * most MAX_DKIM_SIGNATURES DKIM signatures asking for at most MAX_BODY_HASHES body hashes, those aligned with the From
 * domain first, then from the top; the others are left out of the copy mailauth reads, so they cost nothing.
 */
function limitDkimSignatures(input: AuthInput): { message: Buffer | Readable; ignored: SignatureField[] } {
	const { parsed } = input;
	const lines = parsed?.headerLines ?? [];
	const count = lines.filter((h) => h.key === 'dkim-signature').length;
	const whole = () => ({ message: readFrom(input.message), ignored: [] });
	if (!parsed || (count < 2 && !lines.some(tooLong))) return whole();
	const fromDomain = domainOf(authorOf(parsed).author?.address);
	const fields = parseHeaders(input.head.subarray(0, input.headerBytes)).parsed;
	const unread = fields.filter(tooLong);
	const signatures = fields
		.filter((field) => field.key === 'dkim-signature' && !tooLong(field))
		.map((field) => {
			const tags = parseDkimHeaders(field.line).parsed;
			const domain = tags?.d?.value ?? '';
			return { line: field.line, domain, selector: tags?.s?.value ?? null, aligned: alignsWith(fromDomain, domain), bodyHash: bodyHashKey(tags) };
		});
	const bodyHashes = new Set<string>();
	let verified = 0;
	const left: SignatureField[] = [];
	for (const signature of [...signatures.filter((s) => s.aligned), ...signatures.filter((s) => !s.aligned)]) {
		const { bodyHash, ...field } = signature;
		if (verified >= MAX_DKIM_SIGNATURES) left.push({ ...field, why: `at most ${MAX_DKIM_SIGNATURES} signatures are checked per message (RFC 6376 §6.1)` });
		else if (!bodyHashes.has(bodyHash) && bodyHashes.size >= MAX_BODY_HASHES) left.push({ ...field, why: `its body hash would be the message's ${MAX_BODY_HASHES + 1}th (at most ${MAX_BODY_HASHES} are computed)` });
		else {
			verified++;
			bodyHashes.add(bodyHash);
		}
	}
	const ignored = [
		...unread
			.filter((field) => field.key === 'dkim-signature')
			.map((field): SignatureField => ({ line: field.line, domain: '', selector: null, aligned: false, why: `${field.line.length} bytes long, more than any signer writes (at most ${MAX_SIGNATURE_FIELD_BYTES})` })),
		...left,
	];
	const dropped = new Set([...unread.map((field) => field.line), ...left.map((s) => s.line)]);
	if (!dropped.size) return whole();
	const crlf = Buffer.from('\r\n');
	const kept = fields.filter((field) => !dropped.has(field.line)).flatMap((field) => [field.line, crlf]);
	return { message: Readable.from(joined(Buffer.concat([...kept, crlf]), input.message.open(input.headerBytes)), { objectMode: false }), ignored };
}

async function* joined(header: Buffer, body: Readable): AsyncGenerator<Buffer> {
	yield header;
	yield* body as AsyncIterable<Buffer>;
}

/** SPF, DKIM, ARC and DMARC, composed from mailauth's own steps the way its authenticate() does. */
export async function checkAuthentication(input: AuthInput): Promise<{ summary: AuthSummary; details: AuthDetails }> {
	const { envelope, inbox } = input;
	const resolver = boundedAnswers(input.resolver, envelope);
	const limited = limitDkimSignatures(input);
	// authenticate() does not pass a current time to DKIM, dkimVerify does (curTime): needed for --now.
	const dkim = await dkimVerify(limited.message, {
		resolver,
		sender: envelope.mailFrom || undefined,
		curTime: input.now ?? undefined,
	});
	const { upstream, ignored: upstreamIgnored } = findUpstream(input, dkim.headers);
	const headerFromDomain = domainOf(dkim.headerFrom?.[0]);
	const dnsTrouble: string[] = [];
	const dmarcDnsTrouble: string[] = [];
	// A failed lookup matters to DMARC only if its answer could have made DMARC pass: an attacker's own
	// unaligned DKIM d= or MAIL FROM domain failing on purpose must not turn a definite fail into an error.
	const lookupFailed = (what: string, concernsDmarc: boolean) => {
		dnsTrouble.push(what);
		if (concernsDmarc) dmarcDnsTrouble.push(what);
	};

	let spfResult: SPFResult | null = null;
	if (envelope.clientIp) {
		const helo = envelope.helo && isIP(envelope.helo) ? `[${envelope.helo}]` : envelope.helo || `[${envelope.clientIp}]`;
		// The name SPF looks up first (the MAIL FROM domain, else the HELO name): one longer than DNS allows is not asked.
		const identity = domainOf(envelope.mailFrom) ?? helo;
		const problem = spfIdentityProblem(identity);
		spfResult = problem
			? ({ domain: identity, 'client-ip': envelope.clientIp, status: { result: 'permerror', comment: problem }, header: '', info: '' } satisfies SPFResult)
			: await spf({ ip: envelope.clientIp, helo, sender: envelope.mailFrom || undefined, mta: MTA_NAME, resolver });
		if (spfResult.status.result === 'temperror') {
			lookupFailed(
				`SPF lookup for ${spfResult.domain} failed temporarily (${spfResult.status.comment || 'DNS error'})`,
				alignsWith(headerFromDomain, spfResult.domain),
			);
		}
	}
	const spfDomain = spfResult?.domain ?? domainOf(envelope.mailFrom);

	const dkimResults = (dkim.results ?? []).map(heldToItsWord);
	for (const r of dkimResults) {
		if (r.status.result === 'temperror') {
			lookupFailed(`DKIM key lookup for ${r.selector}._domainkey.${r.signingDomain} failed temporarily`, !!r.status.aligned);
		}
	}
	const trustedRecords = trustedArcRecords(dkim.arc?.chain, inbox);
	const arcResult = await arc(dkim.arc as Parameters<typeof arc>[0], { resolver });
	const sealer = arcResult.signature ? arcResult.signature.signingDomain.toLowerCase() : null;
	const arcTrusted = !!sealer && matchesDomain(sealer, inbox.trustedArcSealers);
	// A failed chain vouches for nothing; a passing one only through the sets its trusted sealers sealed.
	const arcRecords = arcResult.status.result === 'pass' && arcTrusted ? trustedRecords : [];

	let dmarcResult: DMARCResult | false = false;
	if (dkim.headerFrom?.length) {
		dmarcResult = await dmarc({
			headerFrom: dkim.headerFrom,
			spfDomains: spfResult?.status.result === 'pass' && spfResult.domain ? [spfResult.domain] : [],
			dkimDomains: dkimResults
				.filter((r) => r.status.result === 'pass')
				.map((r) => ({ id: r.id, domain: r.signingDomain, aligned: r.status.aligned, underSized: r.status.underSized })),
			arcResult,
			resolver,
		} as Parameters<typeof dmarc>[0]);
		if (dmarcResult && dmarcResult.status.result === 'temperror') {
			lookupFailed(`DMARC record lookup for _dmarc.${headerFromDomain} failed temporarily`, true);
		}
	}
	// RFC 7489 §6.6.2: a fail that a failed lookup could have turned into a pass is not decided.
	const undecided = !!dmarcResult && dmarcResult.status.result === 'fail' && dmarcDnsTrouble.length > 0;

	const passing = dkimResults.filter((r) => r.status.result === 'pass');
	const dkimAlignedPass = passing.some((r) => !!r.status.aligned);
	const spfSummary: AuthSummary['spf'] = spfResult
		? { result: spfResult.status.result, domain: spfDomain, clientIp: envelope.clientIp, comment: spfResult.status.comment || null }
		: upstream?.results.spf
			? { result: upstream.results.spf, domain: spfDomain, clientIp: null, comment: `from Authentication-Results of ${upstream.authservId} (${upstream.trustedAs})` }
			: { result: 'none', domain: spfDomain, clientIp: null, comment: 'not checked: client IP unknown' };

	const summary: AuthSummary = {
		spf: spfSummary,
		dkim: {
			result: passing.length ? 'pass' : (dkimResults[0]?.status.result ?? 'none'),
			signatures: [
				...dkimResults.map((r) => ({
					domain: r.signingDomain,
					selector: r.selector ?? null,
					result: r.status.result,
					aligned: !!r.status.aligned,
					comment: r.status.comment || null,
				})),
				...limited.ignored.map((s) => ({
					domain: s.domain,
					selector: s.selector,
					result: 'policy',
					aligned: s.aligned,
					comment: `not verified: ${s.why}`,
				})),
			],
		},
		dmarc: dmarcResult
			? {
					result: undecided ? 'temperror' : dmarcResult.status.result,
					domain: headerFromDomain,
					policy: dmarcResult.policy ?? null,
					comment: undecided ? `fails unless these lookups would have passed: ${dmarcDnsTrouble.join('; ')}` : dmarcResult.status.comment || null,
				}
			: { result: 'none', domain: headerFromDomain, policy: null, comment: headerFromDomain ? null : 'no From address to check' },
		arc: {
			result: arcResult.status.result,
			sealer,
			trusted: arcTrusted,
			vouch: arcVouchFor({ arcRecords }, headerFromDomain),
			comment: arcResult.status.comment || null,
		},
	};
	return {
		summary,
		details: {
			headerFromDomain,
			dkimAlignedPass,
			dmarcPass: !!dmarcResult && dmarcResult.status.result === 'pass',
			arcTrustedPass: !!summary.arc.vouch,
			arcRecords,
			passingDkim: passing.map((r) => ({ domain: r.signingDomain.toLowerCase(), signedFields: signedFields(r) })),
			upstream,
			upstreamIgnored,
			dnsTrouble,
			dmarcDnsTrouble,
			ignoredDkimSignatures: limited.ignored.length,
			dmarcResult,
			spfResult,
			dkimResults,
			arcResult,
		},
	};
}
