/**
 * Amazon SNS notifications: the message's signature (v1 SHA1, v2 SHA256) checked against the signing certificate,
 * fetched only from https://sns.<region>.amazonaws.com/...pem (cached per URL), and its topic pinned: anyone can
 * sign SNS messages for a topic of their own.
 */
import { verify, X509Certificate } from 'node:crypto';
import { z } from 'zod';

import { HttpRefusal } from './body';

/** SNS retries a delivery for at most an hour (its delivery policy's limit): a message older than that is a replay. */
export const SNS_MAX_AGE_SECONDS = 3600;
const MAX_CERTIFICATE_BYTES = 16 * 1024;
const CACHED_CERTIFICATES = 16;

export type FetchCertificate = (url: string) => Promise<string>;

const text = (max: number) => z.string().max(max);
const snsMessageSchema = z.object({
	Type: z.enum(['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation']),
	MessageId: text(100).min(1),
	TopicArn: text(256),
	Subject: text(256).optional(),
	Message: z.string(),
	Timestamp: text(40),
	SignatureVersion: z.enum(['1', '2']),
	Signature: text(2048),
	SigningCertURL: text(1024),
	SubscribeURL: text(2048).optional(),
	Token: text(2048).optional(),
});
export type SnsMessage = z.infer<typeof snsMessageSchema>;

/** The one place certificates may come from: https, exactly sns.<region>.amazonaws.com, no user or port, a .pem. */
export function certificateUrlAllowed(value: string): boolean {
	let url: URL;
	try {
		url = new URL(value);
	} catch {
		return false;
	}
	return (
		url.protocol === 'https:' &&
		url.username === '' &&
		url.password === '' &&
		url.port === '' &&
		/^sns\.[a-z0-9-]+\.amazonaws\.com$/.test(url.hostname) &&
		url.pathname.endsWith('.pem')
	);
}

/** What SNS signs: the message's fields, by type, each as `name\nvalue\n`. */
function canonicalString(message: SnsMessage): string {
	const keys: Array<keyof SnsMessage> =
		message.Type === 'Notification'
			? ['Message', 'MessageId', ...(message.Subject !== undefined ? (['Subject'] as const) : []), 'Timestamp', 'TopicArn', 'Type']
			: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
	return keys.map((key) => `${key}\n${message[key] ?? ''}\n`).join('');
}

/** The signing certificate of AWS, fetched over https without redirects, bounded in size and time. */
export const fetchAwsCertificate: FetchCertificate = async (url) => {
	const response = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(10_000) });
	if (!response.ok) throw new Error(`The SNS signing certificate ${url} answered ${response.status}`);
	const body = Buffer.from(await response.arrayBuffer());
	if (body.length > MAX_CERTIFICATE_BYTES) throw new Error(`The SNS signing certificate ${url} is over ${MAX_CERTIFICATE_BYTES} bytes`);
	return body.toString('utf8');
};

// Per fetcher (the default one shared by every door, a test's own apart), the latest few certificates by URL.
const caches = new WeakMap<FetchCertificate, Map<string, Promise<X509Certificate>>>();

function certificate(url: string, fetchCertificate: FetchCertificate): Promise<X509Certificate> {
	let cache = caches.get(fetchCertificate);
	if (!cache) caches.set(fetchCertificate, (cache = new Map()));
	const cached = cache.get(url);
	if (cached) return cached;
	const loading = fetchCertificate(url).then((pem) => new X509Certificate(pem));
	cache.set(url, loading);
	if (cache.size > CACHED_CERTIFICATES) cache.delete(cache.keys().next().value as string);
	// A failed fetch is not kept: the next message tries again.
	loading.catch(() => cache.delete(url));
	return loading;
}

/**
 * The posted SNS message, its topic pinned, its certificate URL allowed, fresh and signed by that certificate.
 * Throws HttpRefusal (unauthorized, bad request); a certificate that cannot be fetched is trouble (try again).
 */
export async function verifySnsMessage(posted: unknown, options: { topicArns: string[]; now: Date; maxSkewSeconds: number; fetchCertificate: FetchCertificate }) {
	const parsed = snsMessageSchema.safeParse(posted);
	if (!parsed.success) throw new HttpRefusal('bad-request', `Not an Amazon SNS message: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
	const message = parsed.data;
	if (!options.topicArns.includes(message.TopicArn)) throw new HttpRefusal('unauthorized', `The SNS topic ${message.TopicArn} is not one this inbox accepts`);
	if (!certificateUrlAllowed(message.SigningCertURL)) throw new HttpRefusal('unauthorized', 'The SNS signing certificate is not on https://sns.<region>.amazonaws.com');
	const sentAt = new Date(message.Timestamp);
	const age = (options.now.getTime() - sentAt.getTime()) / 1000;
	if (Number.isNaN(age) || age > SNS_MAX_AGE_SECONDS + options.maxSkewSeconds || age < -options.maxSkewSeconds) {
		throw new HttpRefusal('unauthorized', `The SNS message is not fresh (sent ${message.Timestamp}; taken within ${SNS_MAX_AGE_SECONDS} s)`);
	}
	const cert = await certificate(message.SigningCertURL, options.fetchCertificate);
	if (options.now < new Date(cert.validFrom) || options.now > new Date(cert.validTo)) throw new HttpRefusal('unauthorized', 'The SNS signing certificate is not valid now');
	const algorithm = message.SignatureVersion === '1' ? 'sha1' : 'sha256';
	let signed = false;
	try {
		signed = verify(algorithm, Buffer.from(canonicalString(message), 'utf8'), cert.publicKey, Buffer.from(message.Signature, 'base64'));
	} catch {
		// A signature the key cannot even read is no signature.
	}
	if (!signed) {
		throw new HttpRefusal('unauthorized', 'The SNS signature does not match');
	}
	return { message, replay: { token: `sns:${message.MessageId}`, expiresAt: new Date(sentAt.getTime() + (SNS_MAX_AGE_SECONDS + options.maxSkewSeconds) * 1000) } };
}
