import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';

import { SendingDomainError } from './records';

export interface DkimKeyPair {
	/** PKCS#8 PEM; goes into the n8n credential, never into the store. */
	privateKey: string;
	/** Base64 SPKI, the `p=` of the DKIM record. */
	publicKey: string;
}

/** RSA 2048: what every receiver verifies (ed25519 DKIM is still not universally supported). */
export function generateDkimKeyPair(): DkimKeyPair {
	const { privateKey, publicKey } = generateKeyPairSync('rsa', {
		modulusLength: 2048,
		publicKeyEncoding: { type: 'spki', format: 'der' },
		privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
	});
	return { privateKey, publicKey: publicKey.toString('base64') };
}

/** The base64 SPKI public key of a PEM private key; a bad key is a clear error. */
export function publicKeyOf(privateKeyPem: string): string {
	let key: ReturnType<typeof createPrivateKey> | null = null;
	let problem = '';
	try {
		key = createPrivateKey(privateKeyPem.trim());
	} catch (error) {
		problem = (error as Error).message;
	}
	if (!key) throw new SendingDomainError(`The DKIM private key is not a valid PEM private key: ${problem}`);
	return createPublicKey(key).export({ type: 'spki', format: 'der' }).toString('base64');
}
