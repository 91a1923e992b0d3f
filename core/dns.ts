import { promises as dnsPromises } from 'node:dns';
import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** mailauth's resolver shape: resolves like `dns.promises.resolve(name, rrtype)`, throws Node DNS errors. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type DnsResolver = (name: string, rrtype: string) => Promise<any>;

/** Node DNS error codes a zone may give a name, to show a broken nameserver offline. */
export const ZONE_FAILURES = ['ESERVFAIL', 'ETIMEOUT', 'ECONNREFUSED'] as const;
type ZoneFailure = (typeof ZONE_FAILURES)[number];

const zoneName = z
	.object({ error: z.enum(ZONE_FAILURES).optional() })
	.catchall(z.array(z.unknown(), { invalid_type_error: 'each RR type must map to a list of answers' }))
	.refine((records) => records.error === undefined || Object.keys(records).length === 1, 'a name with "error" holds no records');

/**
 * The offline zone format of the corpus README: name -> RR type -> answers as Node returns them,
 * or name -> {"error": "ESERVFAIL"} for a name whose every lookup fails with that code.
 */
export const zoneSchema = z.record(z.string(), zoneName, { invalid_type_error: 'each name must map RR types to lists' });
export type Zone = Record<string, Record<string, unknown[]> | { error: ZoneFailure }>;

const ERROR_TEXT: Record<string, string> = { ENOTFOUND: 'NXDOMAIN', ENODATA: 'NODATA' };

function dnsError(code: string, name: string, rrtype: string): Error {
	return Object.assign(new Error(`${ERROR_TEXT[code] ?? code} ${name} ${rrtype}`), { code, hostname: name });
}

/**
 * A resolver that answers only from `zone`: an absent name is NXDOMAIN, an absent type NODATA,
 * a name holding {"error": code} fails every lookup with that code.
 */
export function zoneResolver(zone: Zone): DnsResolver {
	const byName = new Map(Object.entries(zone).map(([name, rrs]) => [normaliseName(name), rrs]));
	return async (name, rrtype) => {
		const records = byName.get(normaliseName(name));
		if (!records) throw dnsError('ENOTFOUND', name, rrtype);
		if ('error' in records && typeof records.error === 'string') throw dnsError(records.error, name, rrtype);
		const answers = (records as Record<string, unknown[]>)[rrtype.toUpperCase()];
		if (!answers) throw dnsError('ENODATA', name, rrtype);
		return structuredClone(answers);
	};
}

function normaliseName(name: string): string {
	return name.toLowerCase().replace(/\.$/, '');
}

/** Runs `fn`; a failure becomes one Error whose message `describe` writes. */
export function attempt<T>(fn: () => T, describe: (error: Error) => string): T {
	let failure: Error | null = null;
	let value: T | undefined;
	try {
		value = fn();
	} catch (error) {
		failure = error instanceof Error ? error : new Error(String(error));
	}
	if (failure) throw new Error(describe(failure));
	return value as T;
}

/** Reads and validates a zone file; the error names the file and what is wrong with it. */
export function loadZoneFile(path: string): Zone {
	const text = attempt(() => readFileSync(path, 'utf8'), (e) => `cannot read zone file ${path}: ${e.message}`);
	const json = attempt(() => JSON.parse(text) as unknown, (e) => `zone file ${path} is not JSON: ${e.message}`);
	const parsed = zoneSchema.safeParse(json);
	if (!parsed.success) {
		const issue = parsed.error.issues[0];
		throw new Error(`zone file ${path} is not a zone: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
	}
	return parsed.data as Zone;
}

/** Node's codes for a name no DNS can hold (a label over 63 octets, an empty label): no query is even sent. */
const IMPOSSIBLE_NAME = new Set(['EBADNAME', 'EBADQUERY']);

/**
 * Real DNS with a bounded wait, so a dead resolver becomes a temporary error instead of a hang. A name that cannot
 * exist is NXDOMAIN: mailauth counts any other code as a temporary error, and a sender writes these names (a DKIM
 * selector, a MAIL FROM domain), so a crafted one would turn a definite DMARC fail into a DNS error.
 */
export function systemResolver(timeoutMs = 5000): DnsResolver {
	const resolver = new dnsPromises.Resolver({ timeout: timeoutMs, tries: 2 });
	return async (name, rrtype) => {
		try {
			return await resolver.resolve(name, rrtype);
		} catch (error) {
			throw IMPOSSIBLE_NAME.has((error as NodeJS.ErrnoException).code ?? '') ? dnsError('ENOTFOUND', name, rrtype) : error;
		}
	};
}

/** How long the intake keeps an answer: below the TTLs mail's records are published with (SPF, DKIM, DMARC: 300 s and up, as a rule). */
const REMEMBERED_FOR_MS = 60_000;
/**
 * Names kept at once, the oldest forgotten first, each answer kept as JSON text of at most LARGEST_REMEMBERED
 * characters and each name at most MAX_NAME_LENGTH: about 5 MB at most, whatever names senders make us ask.
 */
const REMEMBERED_NAMES = 1000;
const LARGEST_REMEMBERED = 4096;
/** The longest name DNS can hold (RFC 1035): a longer one (a sender's DKIM selector) is never kept. */
export const MAX_NAME_LENGTH = 253;
/** Node's codes for a definite answer that there is nothing (no such name, no such record): kept like an answer. */
const DEFINITE_ABSENCE = new Set(['ENOTFOUND', 'ENODATA']);
/** The resolvers rememberingResolver made. */
const remembering = new WeakSet<DnsResolver>();

/**
 * The intake's DNS: answers, NXDOMAIN and NODATA kept for a minute (everything one forwarder sends, or a burst from
 * one domain, asks its SPF and DMARC once), and lookups of one name under way at once asked once. Temporary failures
 * (SERVFAIL, timeouts) are not kept: the next message asks again. Each caller gets its own copy of an answer (read
 * from the JSON kept), and a kept failure is replayed without capturing a stack.
 */
export function rememberingResolver(resolver: DnsResolver, now: () => number = () => performance.now()): DnsResolver {
	// A door handed a resolver that remembers already (one kept across HTTP posts) asks it, with no memory of its own.
	if (remembering.has(resolver)) return resolver;
	const remembered = new Map<string, { until: number; answer: Promise<string> }>();
	const remember: DnsResolver = async (name, rrtype) => {
		if (name.length > MAX_NAME_LENGTH) return await resolver(name, rrtype);
		// DNS ignores the case of ASCII letters only.
		const key = `${rrtype} ${name.replace(/[A-Z]+/g, (letters) => letters.toLowerCase())}`;
		const at = now();
		let entry = remembered.get(key);
		if (!entry || entry.until <= at) {
			// Every entry lives as long, so the oldest, first in the map, expire first.
			for (const [oldKey, old] of remembered) {
				if (old.until > at && remembered.size < REMEMBERED_NAMES) break;
				remembered.delete(oldKey);
			}
			const kept = { until: at + REMEMBERED_FOR_MS, answer: resolver(name, rrtype).then((answer) => JSON.stringify(answer ?? null) ?? 'null') };
			remembered.delete(key);
			remembered.set(key, kept);
			const forget = () => remembered.get(key) === kept && remembered.delete(key);
			kept.answer.then(
				(text) => (text.length > LARGEST_REMEMBERED ? forget() : undefined),
				(error: NodeJS.ErrnoException) => (DEFINITE_ABSENCE.has(error?.code ?? '') ? undefined : forget()),
			);
			entry = kept;
		}
		return JSON.parse(await entry.answer.catch(replayFailure)) as unknown;
	};
	remembering.add(remember);
	return remember;
}

/** A kept failure for one caller: a new object each time (mailauth writes on the errors it catches), no stack captured. */
function replayFailure(error: unknown): never {
	const { message, code, hostname } = (error ?? {}) as NodeJS.ErrnoException & { hostname?: string };
	throw Object.assign(Object.create(Error.prototype) as Error, { message: String(message ?? error), code, hostname });
}

/** Real DNS, or only the offline zone file when one is given (tests, demos, air-gapped setups). */
export function dnsResolverFor(zoneFile: string | undefined): DnsResolver {
	return zoneFile ? zoneResolver(loadZoneFile(zoneFile)) : systemResolver();
}
