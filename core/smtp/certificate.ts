import { generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
	AlgorithmIdentifier,
	AttributeTypeAndValue,
	AttributeValue,
	Certificate,
	Extension,
	Extensions,
	GeneralName,
	id_ce_subjectAltName,
	Name,
	RelativeDistinguishedName,
	SubjectAlternativeName,
	SubjectPublicKeyInfo,
	TBSCertificate,
	Validity,
	Version,
} from '@peculiar/asn1-x509';

import { defaultEmbeddedPath } from '../store/open';

/** A PEM certificate chain and its private key. */
export interface TlsCertificate {
	cert: string;
	key: string;
}

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const COMMON_NAME = '2.5.4.3';
const VALID_DAYS = 3650;

function pem(label: string, der: ArrayBuffer | Buffer): string {
	return `-----BEGIN ${label}-----\n${Buffer.from(der as ArrayBuffer).toString('base64').replace(/.{64}/g, '$&\n')}\n-----END ${label}-----\n`;
}

/**
 * A new self-signed certificate (ECDSA P-256, ten years) for STARTTLS when the operator has not set one. Sending
 * servers use TLS opportunistically and do not verify it; what matters is that its key is this install's own, not
 * the test key published inside smtp-server.
 */
export function createSelfSignedCertificate(serverName = hostname()): TlsCertificate {
	const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
	const algorithm = new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 });
	const name = new Name([
		new RelativeDistinguishedName([new AttributeTypeAndValue({ type: COMMON_NAME, value: new AttributeValue({ utf8String: serverName }) })]),
	]);
	const now = Date.now();
	const tbsCertificate = new TBSCertificate({
		version: Version.v3,
		// Positive (leading 0x01) and random, as RFC 5280 asks.
		serialNumber: new Uint8Array([0x01, ...randomBytes(15)]).buffer,
		signature: algorithm,
		issuer: name,
		subject: name,
		validity: new Validity({ notBefore: new Date(now - 3600_000), notAfter: new Date(now + VALID_DAYS * 86400_000) }),
		subjectPublicKeyInfo: AsnConvert.parse(publicKey.export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo),
		extensions: new Extensions([
			new Extension({
				extnID: id_ce_subjectAltName,
				critical: false,
				extnValue: new OctetString(AsnConvert.serialize(new SubjectAlternativeName([new GeneralName({ dNSName: serverName })]))),
			}),
		]),
	});
	const signature = sign('sha256', Buffer.from(AsnConvert.serialize(tbsCertificate)), privateKey);
	const der = AsnConvert.serialize(new Certificate({ tbsCertificate, signatureAlgorithm: algorithm, signatureValue: new Uint8Array(signature).buffer }));
	return { cert: pem('CERTIFICATE', der), key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

/** Where the install keeps its self-signed certificate: next to the embedded store, in n8n's data folder. */
export function defaultSelfSignedCertificateFile(n8nUserFolder: string | undefined): string {
	return join(dirname(defaultEmbeddedPath(n8nUserFolder)), 'hosted-inbox-smtp-tls.pem');
}

const loaded = new Map<string | null, Promise<TlsCertificate>>();

/**
 * This install's self-signed certificate: read from `file` (key and certificate in one PEM file, readable by the
 * owner only), or created there on first use and reused on every later start. Without a file (tests, CLI), one
 * certificate per process.
 */
export function selfSignedCertificate(file: string | null): Promise<TlsCertificate> {
	let pending = loaded.get(file);
	if (!pending) {
		pending = file === null ? Promise.resolve(createSelfSignedCertificate()) : readOrCreate(file);
		loaded.set(file, pending);
		pending.catch(() => loaded.delete(file));
	}
	return pending;
}

function certificateProblem(pem: string): string | null {
	try {
		new X509Certificate(pem);
		return null;
	} catch (error) {
		return (error as Error).message;
	}
}

async function readOrCreate(file: string): Promise<TlsCertificate> {
	const existing = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? null : Promise.reject(error)));
	if (existing !== null) {
		const problem = certificateProblem(existing);
		if (problem) throw new Error(`The SMTP listener's certificate file ${file} cannot be read (${problem}); delete it to have a new one made`);
		// One file holds both blocks; OpenSSL picks the block it is asked for.
		return { cert: existing, key: existing };
	}
	const created = createSelfSignedCertificate();
	await mkdir(dirname(file), { recursive: true });
	const temporary = `${file}.${process.pid}.tmp`;
	await writeFile(temporary, created.key + created.cert, { mode: 0o600 });
	await rename(temporary, file);
	// Two processes starting at once: both renames succeed, and the file now holds one of the two; use that one.
	const kept = await readFile(file, 'utf8');
	return { cert: kept, key: kept };
}
